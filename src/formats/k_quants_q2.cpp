// Q2_K (ggml-quants.c quantize_row_q2_K_ref / quantize_row_q2_K_impl / dequantize_row_q2_K;
// ../shared/specs/gguf.md §4-5). 16 sub-blocks of 16, each x ~ s*q - m with q in 0..3, s and m
// themselves 4-bit codes times the block's fp16 d and dmin.
#include <algorithm>
#include <cstring>

#include "formats/blocks_k.h"
#include "formats/ggml_search.h"
#include "formats/k_quants_impl.h"

namespace lowbit::kq {
namespace {

using ggml::nearest_int;
constexpr int kSub = 16;  // elements per sub-block
constexpr int kNSub = kBlockElems / kSub;

// Codes L (0..3) of element j, j+32, j+64, j+96 share a byte, per 128-element half.
void pack_codes(const uint8_t* L, BlockQ2K& b) {
  for (int j = 0; j < kBlockElems; j += 128)
    for (int l = 0; l < 32; ++l)
      b.qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                             (L[j + l + 96] << 6));
}

// After the scales are final, ggml re-derives every code from the stored (rounded) scale and
// min; sub-blocks whose scale code is 0 keep the search's codes.
void requantize(const float* x, const BlockQ2K& b, float dm, float mm, uint8_t* L) {
  for (int j = 0; j < kNSub; ++j) {
    const float d = dm * (b.scales[j] & 0xF);
    if (!d) continue;
    const float m = mm * (b.scales[j] >> 4);
    for (int ii = 0; ii < kSub; ++ii) {
      const int l = nearest_int((x[kSub * j + ii] + m) / d);
      L[kSub * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
    }
  }
}

// quantize_row_q2_K_ref: MAD fit with weights |x|, then 4-bit scales relative to the largest.
void quantize_block_ref(const float* x, BlockQ2K& b) {
  uint8_t L[kBlockElems];
  uint8_t Laux[kSub];
  float weights[kSub];
  float mins[kNSub];
  float scales[kNSub];
  const float q4scale = 15.f;

  float max_scale = 0;  // as the min is subtracted, scales are positive
  float max_min = 0;
  for (int j = 0; j < kNSub; ++j) {
    for (int l = 0; l < kSub; ++l) weights[l] = std::fabs(x[kSub * j + l]);
    scales[j] = ggml::make_qkx2_quants(kSub, 3, x + kSub * j, weights, L + kSub * j, &mins[j], Laux, -0.5f, 0.1f,
                                       15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < kNSub; ++j) b.scales[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    b.d = to_half(max_scale / q4scale);
  } else {
    for (int j = 0; j < kNSub; ++j) b.scales[j] = 0;
    b.d = to_half(0.f);
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < kNSub; ++j) {
      const int l = nearest_int(iscale * mins[j]);
      b.scales[j] = static_cast<uint8_t>(b.scales[j] | (l << 4));
    }
    b.dmin = to_half(max_min / q4scale);
  } else {
    b.dmin = to_half(0.f);
  }
  requantize(x, b, from_half(b.d), from_half(b.dmin), L);
  pack_codes(L, b);
}

// quantize_row_q2_K_impl: weights imatrix*sqrt(sigma2 + x^2) with sigma2 = mean x^2 over the
// super-block (not doubled, unlike Q3_K..Q5_K), then make_qp_quants for scales and mins.
void quantize_block_imatrix(const float* x, const float* qw_block, BlockQ2K& b) {
  uint8_t L[kBlockElems];
  uint8_t Laux[kSub];
  float mins[kNSub];
  float scales[kNSub];
  float sw[kNSub] = {};
  float weight[kSub];
  uint8_t Ls[kNSub], Lm[kNSub];

  float sumx2 = 0;
  for (int j = 0; j < kBlockElems; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = sumx2 / kBlockElems;
  for (int j = 0; j < kNSub; ++j) {
    const float* qw = qw_block + kSub * j;
    for (int l = 0; l < kSub; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[kSub * j + l] * x[kSub * j + l]);
    for (int l = 0; l < kSub; ++l) sw[j] += weight[l];
    scales[j] = ggml::make_qkx3_quants(kSub, 3, x + kSub * j, weight, L + kSub * j, &mins[j], Laux, -0.9f, 0.05f,
                                       36, false);
  }
  const float dm = ggml::make_qp_quants(kNSub, 15, scales, Ls, sw);
  const float mm = ggml::make_qp_quants(kNSub, 15, mins, Lm, sw);
  b.d = to_half(dm);
  b.dmin = to_half(mm);
  for (int j = 0; j < kNSub; ++j) b.scales[j] = static_cast<uint8_t>(Ls[j] | (Lm[j] << 4));
  requantize(x, b, from_half(b.d), from_half(b.dmin), L);
  pack_codes(L, b);
}

}  // namespace

bool quantize_row_q2_k(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i) {
    BlockQ2K b{};
    if (importance)
      quantize_block_imatrix(x + i * kBlockElems, importance + i * kBlockElems, b);
    else
      quantize_block_ref(x + i * kBlockElems, b);
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

void dequantize_row_q2_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ2K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    const float d = from_half(b.d);
    const float min = from_half(b.dmin);
    const uint8_t* q = b.qs;
    int is = 0;
    for (int n = 0; n < kBlockElems; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {  // sub-blocks read q[0..15] then q[16..31]
          const uint8_t sc = b.scales[is++];
          const float dl = d * (sc & 0xF);
          const float ml = min * (sc >> 4);
          for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<int8_t>((q[l + 16 * half] >> shift) & 3) - ml;
        }
        shift += 2;
      }
      q += 32;
    }
  }
}

}  // namespace lowbit::kq
