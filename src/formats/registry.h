// ONE registry of weight formats. A format is how bits are laid out and decoded: block size,
// block bytes, a scalar reference quantizer and dequantizer. Algorithms (rtn, gptq, ...)
// choose values; kernels do the math; neither lives here.
//
// Adding a format = one FormatTraits entry in registry.cpp + its scalar reference + a golden
// test. The registry-driven tests (tests/formats/) then cover it without new test code.
//
// Ids of GGUF block types equal ggml's type ids (../shared/specs/gguf.md §3), so they are
// stable and can be written to files as they are.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace lowbit {

enum class FormatId : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
  // lowbit's own runtime layouts (not GGUF types): group-quantized integer rows, blocks_group.h.
  GQ2_32 = 1000, GQ2_64, GQ2_128, GQ3_32, GQ3_64, GQ3_128, GQ4_32, GQ4_64, GQ4_128, GQ8_32, GQ8_64, GQ8_128,
};

// Ids below 1000 are ggml type ids and may be written to GGUF files; the others may not.
inline constexpr bool is_ggml_type(FormatId id) { return static_cast<uint32_t>(id) < 1000; }

// The group-int format for bits 2/3/4/8 and groups of 32/64/128 (formats/group_quants.cpp);
// F32 when there is none.
FormatId group_int_format(int bits, int group);

// Quantizes one row of n_per_row floats (a multiple of block_elems) into dst.
// importance: n_per_row per-column weights (llama.cpp's imatrix), or nullptr.
// Returns false (and writes nothing meaningful) if the row cannot be quantized by this
// format (e.g. non-finite input for a grid type); callers turn that into an Error.
using QuantizeRowFn = bool (*)(const float* x, void* dst, int64_t n_per_row, const float* importance);
// Dequantizes n_elems (a multiple of block_elems) from src into y.
using DequantizeRowFn = void (*)(const void* src, float* y, int64_t n_elems);

struct FormatTraits {
  FormatId id;
  std::string_view name;     // "Q4_K", as llama.cpp spells it
  int block_elems;           // elements per block (1 for plain floats)
  int block_bytes;           // bytes per block
  QuantizeRowFn quantize;    // nullptr: dequantize-only for now
  DequantizeRowFn dequantize;
  bool requires_importance;  // refuses to quantize without an importance matrix (IQ1/IQ2)
  bool uses_importance;      // the importance matrix changes its output
  // Registry-driven tests: max allowed relative RMS error of quantize->dequantize on
  // N(0,1) rows, as a sanity bound (golden files check exactness separately).
  float test_rel_rmse;

  double bits_per_weight() const { return 8.0 * block_bytes / block_elems; }
  size_t row_bytes(int64_t n_per_row) const {
    return static_cast<size_t>(n_per_row / block_elems) * static_cast<size_t>(block_bytes);
  }
};

std::span<const FormatTraits> all_formats();
const FormatTraits* find_format(FormatId id);        // nullptr if unknown
const FormatTraits* find_format(std::string_view name);  // case-insensitive; nullptr if unknown
const FormatTraits& format(FormatId id);             // throws Error if unknown

// Quantizes n_rows rows with the format's reference quantizer, threaded over rows (OpenMP).
// Throws Error if n_per_row is not a multiple of the block size, if the format has no
// quantizer, if it requires importance and none is given, or if a row is refused.
void quantize_rows(FormatId id, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                   const float* importance = nullptr);
void dequantize_rows(FormatId id, const void* src, float* dst, int64_t n_rows, int64_t n_per_row);

}  // namespace lowbit
