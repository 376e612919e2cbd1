// ggml tensor type ids as stored in GGUF tensor infos, with their block geometry.
// specs/gguf.md §3 (ggml.h enum ggml_type, ggml.c type_traits). This table is the GGUF
// container's own: it covers every id a file may carry, including types lowbit cannot
// decode, so the reader can size and bounds-check any tensor. Decoding belongs to the
// weight-format registry (src/formats/registry.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit {

struct GgmlTypeInfo {
  uint32_t id;
  std::string_view name;    // ggml_type_name spelling, e.g. "q4_K"
  int64_t block_n_elems;    // elements per block along ne[0]
  size_t block_n_bytes;     // bytes per block
};

// nullptr for ids ggml never assigned or has removed (4, 5, 31-33, 36-38: Q4_2/Q4_3 and the
// repacked Q4_0_4_4 family, which must not appear in files) and for ids past the table.
const GgmlTypeInfo* ggml_type_info(uint32_t id);

// By ggml_type_name spelling (case-insensitive: "Q4_K" and "q4_K" both match).
std::optional<uint32_t> ggml_type_from_name(std::string_view name);

// Printable name for messages: the ggml name, or "unknown(<id>)".
std::string ggml_type_label(uint32_t id);

// Row size in bytes of n_per_row elements; nullopt if the type is unknown, n_per_row is
// negative or not a multiple of the block, or the size overflows.
std::optional<uint64_t> ggml_row_n_bytes(uint32_t id, int64_t n_per_row);

// Some ids used across the project (ggml.h enum values; stable in files).
inline constexpr uint32_t kGgmlTypeF32 = 0;
inline constexpr uint32_t kGgmlTypeF16 = 1;
inline constexpr uint32_t kGgmlTypeQ8_0 = 8;
inline constexpr uint32_t kGgmlTypeBF16 = 30;

}  // namespace lowbit
