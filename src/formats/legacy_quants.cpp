// Legacy 32-element formats Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1: ggml's reference quantizers
// (quantize_row_*_ref), its importance-weighted variants (quantize_row_*_impl, which
// ggml_quantize_chunk uses when given an imatrix) and its dequantizers, op for op, so blocks
// are byte-identical with llama.cpp (../shared/specs/gguf.md §4-5; goldens in
// ../shared/golden/quants).
//
// Non-finite input: ggml produces garbage codes (NaN scale, or a NaN max that never wins the
// |x| comparison). lowbit refuses such a row instead (quantize returns false, the registry
// throws), and likewise a non-finite importance vector. Finite input always quantizes,
// including values whose scale overflows fp16 (d becomes Inf, as in ggml).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "formats/blocks_legacy.h"
#include "formats/families.h"
#include "formats/ggml_scalar.h"
#include "formats/ggml_search.h"

namespace lowbit {
namespace {

using namespace legacy;
using ggml::fp32_to_half;
using ggml::half_to_fp32;

constexpr int kQk = kBlockElems;

template <typename Block>
void store(void* dst, int64_t i_block, const Block& b) {
  std::memcpy(static_cast<uint8_t*>(dst) + i_block * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
}
template <typename Block>
Block load(const void* src, int64_t i_block) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(src) + i_block * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

// The signed element of largest magnitude (first one on ties), as quantize_row_q4_0_ref finds it.
float signed_absmax(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQk; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, float* min, float* max) {
  *min = FLT_MAX;
  *max = -FLT_MAX;
  for (int j = 0; j < kQk; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

// Packs 32 five-bit codes: low nibbles into qs (j and j+16 share a byte), 5th bits into qh.
void pack5(const uint8_t* codes, uint8_t* qs, uint8_t* qh_bytes) {
  uint32_t qh = 0;
  for (int j = 0; j < kQk / 2; ++j) {
    const uint8_t xi0 = codes[j], xi1 = codes[j + kQk / 2];
    qs[j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
    qh |= ((xi1 & 0x10u) >> 4) << (j + kQk / 2);
  }
  std::memcpy(qh_bytes, &qh, sizeof(qh));
}

// ---- reference quantizers (no importance) ----------------------------------------------

void q4_0_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    const float d = signed_absmax(x) / -8;
    const float id = d ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = fp32_to_half(d);
    for (int j = 0; j < kQk / 2; ++j) {
      // MIN(15, (int8_t)(x*id + 8.5f)): truncation, so the max element maps to code 0 exactly.
      const int xi0 = std::min(15, static_cast<int>(ggml::trunc_to_i8(x[j] * id + 8.5f)));
      const int xi1 = std::min(15, static_cast<int>(ggml::trunc_to_i8(x[j + kQk / 2] * id + 8.5f)));
      b.qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(xi0) | static_cast<uint8_t>(xi1 << 4));
    }
    store(dst, i, b);
  }
}

void q4_1_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    float min, max;
    min_max(x, &min, &max);
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    BlockQ4_1 b;
    b.d = fp32_to_half(d);
    b.m = fp32_to_half(min);
    for (int j = 0; j < kQk / 2; ++j) {
      const int xi0 = std::min(15, static_cast<int>(ggml::trunc_to_i8((x[j] - min) * id + 0.5f)));
      const int xi1 = std::min(15, static_cast<int>(ggml::trunc_to_i8((x[j + kQk / 2] - min) * id + 0.5f)));
      b.qs[j] = static_cast<uint8_t>(static_cast<uint8_t>(xi0) | static_cast<uint8_t>(xi1 << 4));
    }
    store(dst, i, b);
  }
}

void q5_0_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    const float d = signed_absmax(x) / -16;
    const float id = d ? 1.0f / d : 0.0f;
    BlockQ5_0 b;
    b.d = fp32_to_half(d);
    uint8_t codes[kQk];
    for (int j = 0; j < kQk; ++j)
      codes[j] = static_cast<uint8_t>(std::min(31, static_cast<int>(ggml::trunc_to_i8(x[j] * id + 16.5f))));
    pack5(codes, b.qs, b.qh);
    store(dst, i, b);
  }
}

void q5_1_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    float min, max;
    min_max(x, &min, &max);
    const float d = (max - min) / ((1 << 5) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    BlockQ5_1 b;
    b.d = fp32_to_half(d);
    b.m = fp32_to_half(min);
    uint8_t codes[kQk];
    // ggml clamps nothing here: (uint8_t)(x + 0.5f), the top code can only be 31.
    for (int j = 0; j < kQk; ++j) codes[j] = ggml::trunc_to_u8((x[j] - min) * id + 0.5f);
    pack5(codes, b.qs, b.qh);
    store(dst, i, b);
  }
}

// d = amax/127, q = roundf(x/d) (half away from zero); the importance matrix plays no part.
float q8_scale(const float* x, float* id) {
  float amax = 0.0f;
  for (int j = 0; j < kQk; ++j) amax = std::max(std::fabs(x[j]), amax);  // MAX(amax, |v|)
  const float d = amax / ((1 << 7) - 1);
  *id = d ? 1.0f / d : 0.0f;
  return d;
}

void q8_0_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    float id;
    BlockQ8_0 b;
    b.d = fp32_to_half(q8_scale(x, &id));
    for (int j = 0; j < kQk; ++j) b.qs[j] = ggml::trunc_to_i8(std::round(x[j] * id));
    store(dst, i, b);
  }
}

void q8_1_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    float id;
    const float d = q8_scale(x, &id);
    BlockQ8_1 b;
    b.d = fp32_to_half(d);
    int sum = 0;
    for (int j = 0; j < kQk; ++j) {
      b.qs[j] = ggml::trunc_to_i8(std::round(x[j] * id));
      sum += b.qs[j];
    }
    b.s = fp32_to_half(static_cast<float>(sum) * d);
    store(dst, i, b);
  }
}

// ---- importance-weighted quantizers (quantize_row_*_impl) --------------------------------

// Per-element weights w_j = imatrix_j * sqrt(sigma2 + x_j^2), sigma2 = mean x^2 over the row,
// summed left to right in float as ggml does.
float row_sigma2(const float* x, int64_t n_per_row) {
  float sum_x2 = 0;
  for (int64_t j = 0; j < n_per_row; ++j) sum_x2 += x[j] * x[j];
  return sum_x2 / static_cast<float>(n_per_row);
}
void block_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  for (int j = 0; j < kQk; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
}

// Q4_0 / Q5_0: symmetric search make_qx_quants(32, nmax, rmse_type 1, weights).
template <typename Block>
void qx_0_impl(const float* x, void* dst, int64_t n_per_row, const float* imatrix, int nmax) {
  const float sigma2 = row_sigma2(x, n_per_row);
  float weight[kQk];
  int8_t L[kQk];
  for (int64_t ib = 0; ib < n_per_row / kQk; ++ib) {
    const float* xb = x + kQk * ib;
    block_weights(xb, imatrix + kQk * ib, sigma2, weight);
    const float d = ggml::make_qx_quants(kQk, nmax, xb, L, 1, weight);
    Block b;
    b.d = fp32_to_half(d);
    if constexpr (std::is_same_v<Block, BlockQ4_0>) {
      for (int j = 0; j < kQk / 2; ++j) b.qs[j] = static_cast<uint8_t>(L[j] | (L[j + kQk / 2] << 4));
    } else {
      uint8_t codes[kQk];
      for (int j = 0; j < kQk; ++j) codes[j] = static_cast<uint8_t>(L[j]);
      pack5(codes, b.qs, b.qh);
    }
    store(dst, ib, b);
  }
}

// Q4_1 / Q5_1: asymmetric search make_qkx3_quants(32, nmax, weights, -0.9, 0.05, 36).
template <typename Block>
void qx_1_impl(const float* x, void* dst, int64_t n_per_row, const float* imatrix, int nmax) {
  const float sigma2 = row_sigma2(x, n_per_row);
  float weight[kQk];
  uint8_t L[kQk], Laux[kQk];
  for (int64_t ib = 0; ib < n_per_row / kQk; ++ib) {
    const float* xb = x + kQk * ib;
    block_weights(xb, imatrix + kQk * ib, sigma2, weight);
    float min;
    const float d = ggml::make_qkx3_quants(kQk, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
    Block b;
    b.d = fp32_to_half(d);
    b.m = fp32_to_half(-min);
    if constexpr (std::is_same_v<Block, BlockQ4_1>) {
      for (int j = 0; j < kQk / 2; ++j) b.qs[j] = static_cast<uint8_t>(L[j] | (L[j + kQk / 2] << 4));
    } else {
      pack5(L, b.qs, b.qh);
    }
    store(dst, ib, b);
  }
}

// ---- registry entry points ------------------------------------------------------------

bool inputs_ok(const float* x, int64_t n_per_row, const float* importance) {
  return ggml::all_finite(x, n_per_row) && (!importance || ggml::all_finite(importance, n_per_row));
}

bool quantize_q4_0(const float* x, void* dst, int64_t n, const float* imatrix) {
  if (!inputs_ok(x, n, imatrix)) return false;
  imatrix ? qx_0_impl<BlockQ4_0>(x, dst, n, imatrix, 8) : q4_0_ref(x, dst, n / kQk);
  return true;
}
bool quantize_q4_1(const float* x, void* dst, int64_t n, const float* imatrix) {
  if (!inputs_ok(x, n, imatrix)) return false;
  imatrix ? qx_1_impl<BlockQ4_1>(x, dst, n, imatrix, 15) : q4_1_ref(x, dst, n / kQk);
  return true;
}
bool quantize_q5_0(const float* x, void* dst, int64_t n, const float* imatrix) {
  if (!inputs_ok(x, n, imatrix)) return false;
  imatrix ? qx_0_impl<BlockQ5_0>(x, dst, n, imatrix, 16) : q5_0_ref(x, dst, n / kQk);
  return true;
}
bool quantize_q5_1(const float* x, void* dst, int64_t n, const float* imatrix) {
  if (!inputs_ok(x, n, imatrix)) return false;
  imatrix ? qx_1_impl<BlockQ5_1>(x, dst, n, imatrix, 31) : q5_1_ref(x, dst, n / kQk);
  return true;
}
// ggml's quantize_q8_0 ignores quant_weights; Q8_1 has no importance path at all.
bool quantize_q8_0(const float* x, void* dst, int64_t n, const float*) {
  if (!ggml::all_finite(x, n)) return false;
  q8_0_ref(x, dst, n / kQk);
  return true;
}
bool quantize_q8_1(const float* x, void* dst, int64_t n, const float*) {
  if (!ggml::all_finite(x, n)) return false;
  q8_1_ref(x, dst, n / kQk);
  return true;
}

// ---- dequantizers (dequantize_row_*): int code times float scale, then + m ----------------

void dequantize_q4_0(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ4_0>(src, i);
    const float d = half_to_fp32(b.d);
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
      y[j + kQk / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}
void dequantize_q4_1(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ4_1>(src, i);
    const float d = half_to_fp32(b.d), m = half_to_fp32(b.m);
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = static_cast<float>(b.qs[j] & 0x0F) * d + m;
      y[j + kQk / 2] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
  }
}
// 5-bit code of element j (and j+16) from qs and the little-endian qh word.
inline int code5_lo(const uint8_t* qs, uint32_t qh, int j) { return (qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10); }
inline int code5_hi(const uint8_t* qs, uint32_t qh, int j) { return (qs[j] >> 4) | ((qh >> (j + 12)) & 0x10); }

void dequantize_q5_0(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ5_0>(src, i);
    const float d = half_to_fp32(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof(qh));
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = static_cast<float>(code5_lo(b.qs, qh, j) - 16) * d;
      y[j + kQk / 2] = static_cast<float>(code5_hi(b.qs, qh, j) - 16) * d;
    }
  }
}
void dequantize_q5_1(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ5_1>(src, i);
    const float d = half_to_fp32(b.d), m = half_to_fp32(b.m);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof(qh));
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = static_cast<float>(code5_lo(b.qs, qh, j)) * d + m;
      y[j + kQk / 2] = static_cast<float>(code5_hi(b.qs, qh, j)) * d + m;
    }
  }
}
void dequantize_q8_0(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ8_0>(src, i);
    const float d = half_to_fp32(b.d);
    for (int j = 0; j < kQk; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}
// ggml has no to_float for Q8_1 (activations only); d * q is what its dot products use.
void dequantize_q8_1(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    const auto b = load<BlockQ8_1>(src, i);
    const float d = half_to_fp32(b.d);
    for (int j = 0; j < kQk; ++j) y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

// test_rel_rmse: about 1.4x the relative RMS error measured on N(0,1) rows (Q4_0 0.085,
// Q4_1 0.078, Q5_0 0.043, Q5_1 0.038, Q8_x 0.0053).
constexpr FormatTraits kLegacy[] = {
    {FormatId::Q4_0, "Q4_0", kQk, sizeof(BlockQ4_0), quantize_q4_0, dequantize_q4_0, false, true, 0.12f},
    {FormatId::Q4_1, "Q4_1", kQk, sizeof(BlockQ4_1), quantize_q4_1, dequantize_q4_1, false, true, 0.11f},
    {FormatId::Q5_0, "Q5_0", kQk, sizeof(BlockQ5_0), quantize_q5_0, dequantize_q5_0, false, true, 0.06f},
    {FormatId::Q5_1, "Q5_1", kQk, sizeof(BlockQ5_1), quantize_q5_1, dequantize_q5_1, false, true, 0.055f},
    {FormatId::Q8_0, "Q8_0", kQk, sizeof(BlockQ8_0), quantize_q8_0, dequantize_q8_0, false, false, 0.008f},
    {FormatId::Q8_1, "Q8_1", kQk, sizeof(BlockQ8_1), quantize_q8_1, dequantize_q8_1, false, false, 0.008f},
};

}  // namespace

std::span<const FormatTraits> legacy_formats() { return kLegacy; }

}  // namespace lowbit
