#include "io/gguf_types.h"

#include <array>
#include <cctype>
#include <limits>
#include <string>

namespace lowbit {
namespace {

constexpr int64_t kQK_K = 256;  // ggml-common.h QK_K

// specs/gguf.md §3; IQ sizes from the static_asserts in ggml-common.h
// (iq2_xxs 2+64, iq2_xs 2+64+8, iq3_xxs 2+96, iq1_s 2+32+16, iq3_s 2+104+4, iq2_s 2+64+16,
// iq1_m 32+16+8). Ids 39-42 exist only in 2025-08+ ggml (MXFP4, NVFP4, Q1_0, Q2_0).
constexpr std::array<GgmlTypeInfo, 36> kTypes = {{
    {0, "f32", 1, 4},
    {1, "f16", 1, 2},
    {2, "q4_0", 32, 18},
    {3, "q4_1", 32, 20},
    {6, "q5_0", 32, 22},
    {7, "q5_1", 32, 24},
    {8, "q8_0", 32, 34},
    {9, "q8_1", 32, 36},
    {10, "q2_K", kQK_K, 84},
    {11, "q3_K", kQK_K, 110},
    {12, "q4_K", kQK_K, 144},
    {13, "q5_K", kQK_K, 176},
    {14, "q6_K", kQK_K, 210},
    {15, "q8_K", kQK_K, 292},
    {16, "iq2_xxs", kQK_K, 66},
    {17, "iq2_xs", kQK_K, 74},
    {18, "iq3_xxs", kQK_K, 98},
    {19, "iq1_s", kQK_K, 50},
    {20, "iq4_nl", 32, 18},
    {21, "iq3_s", kQK_K, 110},
    {22, "iq2_s", kQK_K, 82},
    {23, "iq4_xs", kQK_K, 136},
    {24, "i8", 1, 1},
    {25, "i16", 1, 2},
    {26, "i32", 1, 4},
    {27, "i64", 1, 8},
    {28, "f64", 1, 8},
    {29, "iq1_m", kQK_K, 56},
    {30, "bf16", 1, 2},
    {34, "tq1_0", kQK_K, 54},
    {35, "tq2_0", kQK_K, 66},
    {39, "mxfp4", 32, 17},
    {40, "nvfp4", 64, 36},
    {41, "q1_0", 128, 18},
    {42, "q2_0", 64, 18},
    {0xffffffffu, "", 0, 0},  // sentinel, never returned
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const auto& t : kTypes)
    if (t.id == id && t.block_n_elems > 0) return &t;
  return nullptr;
}

std::optional<uint32_t> ggml_type_from_name(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.block_n_elems > 0 && iequals(t.name, name)) return t.id;
  return std::nullopt;
}

std::string ggml_type_label(uint32_t id) {
  if (const auto* t = ggml_type_info(id)) return std::string(t->name);
  return "unknown(" + std::to_string(id) + ")";
}

std::optional<uint64_t> ggml_row_n_bytes(uint32_t id, int64_t n_per_row) {
  const auto* t = ggml_type_info(id);
  if (!t || n_per_row < 0 || n_per_row % t->block_n_elems != 0) return std::nullopt;
  const uint64_t n_blocks = static_cast<uint64_t>(n_per_row / t->block_n_elems);
  if (n_blocks > std::numeric_limits<uint64_t>::max() / t->block_n_bytes) return std::nullopt;
  return n_blocks * t->block_n_bytes;
}

}  // namespace lowbit
