// Q4_K and Q5_K (ggml-quants.c quantize_row_q{4,5}_K_ref / _impl / dequantize_row_q{4,5}_K;
// ../shared/specs/gguf.md §4-5). Both: 8 sub-blocks of 32, x ~ s*q - m with q in 0..nmax
// (15 or 31), s and m 6-bit codes times the block's fp16 d and dmin; they differ only in nmax,
// the search parameters of the reference path and Q5_K's fifth bit in qh.
#include <algorithm>
#include <cstring>

#include "formats/blocks_k.h"
#include "formats/ggml_search.h"
#include "formats/k_quants_impl.h"

namespace lowbit::kq {
namespace {

using ggml::nearest_int;
constexpr int kSub = 32;
constexpr int kNSub = kBlockElems / kSub;

// What differs between the two types' quantizers.
struct Params {
  int nmax;        // 15 (Q4_K) or 31 (Q5_K)
  float ref_rmin;  // make_qkx2_quants search start of the reference path: -1.0 / -0.5
  int ref_nstep;   // and its number of steps: 20 / 15
  bool clamp_imatrix_codes;  // Q5_K's _impl clamps the make_qp codes to 63, Q4_K's does not
};
constexpr Params kQ4{15, -1.f, 20, false};
constexpr Params kQ5{31, -0.5f, 15, true};

// Fields shared by both block types, so one quantizer fills either.
struct Scales {
  uint16_t d, dmin;
  uint8_t scales[kScaleBytesK4];
};

// Re-derives the codes from the stored scales and mins (sub-blocks with scale 0 keep theirs).
void requantize(const float* x, const Scales& s, int nmax, uint8_t* L) {
  for (int j = 0; j < kNSub; ++j) {
    uint8_t sc, m;
    get_scale_min_k4(j, s.scales, &sc, &m);
    const float d = from_half(s.d) * sc;
    if (!d) continue;
    const float dm = from_half(s.dmin) * m;
    for (int ii = 0; ii < kSub; ++ii) {
      const int l = nearest_int((x[kSub * j + ii] + dm) / d);
      L[kSub * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// quantize_row_q{4,5}_K_ref: weights sqrt(mean_32 x^2) + |x|, make_qkx2_quants, then 6-bit
// codes of each scale/min relative to the largest: d = max_scale/63, dmin = max_min/63.
void quantize_block_ref(const float* x, const Params& p, Scales& s, uint8_t* L) {
  uint8_t Laux[kSub];
  float weights[kSub];
  float mins[kNSub];
  float scales[kNSub];
  float max_scale = 0;  // as the min is subtracted, scales are positive
  float max_min = 0;
  for (int j = 0; j < kNSub; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < kSub; ++l) sum_x2 += x[kSub * j + l] * x[kSub * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < kSub; ++l) weights[l] = av_x + std::fabs(x[kSub * j + l]);
    scales[j] = ggml::make_qkx2_quants(kSub, p.nmax, x + kSub * j, weights, L + kSub * j, &mins[j], Laux,
                                       p.ref_rmin, 0.1f, p.ref_nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t ls[kNSub], lm[kNSub];
  for (int j = 0; j < kNSub; ++j) {
    // ggml stores nearest_int into a uint8_t, then clamps to 63.
    ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
  }
  pack_scale_min_k4(ls, lm, s.scales);
  s.d = to_half(max_scale / 63.f);
  s.dmin = to_half(max_min / 63.f);
  requantize(x, s, p.nmax, L);
}

// quantize_row_q{4,5}_K_impl: weights imatrix*sqrt(sigma2 + x^2), sigma2 = 2*mean x^2 over the
// super-block; make_qkx3_quants, then make_qp_quants(63, w = Σw) for the scales and the mins.
void quantize_block_imatrix(const float* x, const float* qw_block, const Params& p, Scales& s, uint8_t* L) {
  uint8_t Laux[kSub];
  uint8_t Ls[kNSub], Lm[kNSub];
  float weights[kSub];
  float sw[kNSub];
  float mins[kNSub];
  float scales[kNSub];
  float sum_x2 = 0;
  for (int l = 0; l < kBlockElems; ++l) sum_x2 += x[l] * x[l];
  const float sigma2 = 2 * sum_x2 / kBlockElems;
  for (int j = 0; j < kNSub; ++j) {
    const float* qw = qw_block + kSub * j;
    for (int l = 0; l < kSub; ++l) weights[l] = qw[l] * std::sqrt(sigma2 + x[kSub * j + l] * x[kSub * j + l]);
    float sumw = 0;
    for (int l = 0; l < kSub; ++l) sumw += weights[l];
    sw[j] = sumw;
    scales[j] = ggml::make_qkx3_quants(kSub, p.nmax, x + kSub * j, weights, L + kSub * j, &mins[j], Laux, -0.9f,
                                       0.05f, 36, false);
  }
  const float d_block = ggml::make_qp_quants(kNSub, 63, scales, Ls, sw);
  const float m_block = ggml::make_qp_quants(kNSub, 63, mins, Lm, sw);
  if (p.clamp_imatrix_codes) {
    for (int j = 0; j < kNSub; ++j) {
      Ls[j] = std::min<uint8_t>(63, Ls[j]);
      Lm[j] = std::min<uint8_t>(63, Lm[j]);
    }
  }
  pack_scale_min_k4(Ls, Lm, s.scales);
  s.d = to_half(d_block);
  s.dmin = to_half(m_block);
  requantize(x, s, p.nmax, L);
}

void quantize_block(const float* x, const float* qw_block, const Params& p, Scales& s, uint8_t* L) {
  if (qw_block)
    quantize_block_imatrix(x, qw_block, p, s, L);
  else
    quantize_block_ref(x, p, s, L);
}

}  // namespace

void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* scales) {
  for (int j = 0; j < kNSub; ++j) {
    if (j < 4) {
      scales[j] = ls[j];
      scales[j + 4] = lm[j];
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] = static_cast<uint8_t>(scales[j - 4] | ((ls[j] >> 4) << 6));
      scales[j - 0] = static_cast<uint8_t>(scales[j - 0] | ((lm[j] >> 4) << 6));
    }
  }
}

bool quantize_row_q4_k(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i) {
    uint8_t L[kBlockElems];
    Scales s{};
    quantize_block(x + i * kBlockElems, importance ? importance + i * kBlockElems : nullptr, kQ4, s, L);
    BlockQ4K b{};
    b.d = s.d;
    b.dmin = s.dmin;
    std::memcpy(b.scales, s.scales, sizeof(b.scales));
    // Elements j and j+32 of each 64 share a byte: low nibble first.
    uint8_t* q = b.qs;
    for (int j = 0; j < kBlockElems; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      q += 32;
    }
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

bool quantize_row_q5_k(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i) {
    uint8_t L[kBlockElems];
    Scales s{};
    quantize_block(x + i * kBlockElems, importance ? importance + i * kBlockElems : nullptr, kQ5, s, L);
    BlockQ5K b{};
    b.d = s.d;
    b.dmin = s.dmin;
    std::memcpy(b.scales, s.scales, sizeof(b.scales));
    // As Q4_K, plus bit 4 of element 64c+r in bit 2c + (r >= 32) of qh[r % 32].
    uint8_t* ql = b.qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kBlockElems; n += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          b.qh[j] |= m1;
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          b.qh[j] |= m2;
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
      ql += 32;
    }
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

void dequantize_row_q4_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ4K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    const float d = from_half(b.d);
    const float min = from_half(b.dmin);
    const uint8_t* q = b.qs;
    for (int j = 0, is = 0; j < kBlockElems; j += 64, is += 2) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
      q += 32;
    }
  }
}

void dequantize_row_q5_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ5K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    const float d = from_half(b.d);
    const float min = from_half(b.dmin);
    const uint8_t* ql = b.qs;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < kBlockElems; j += 64, is += 2) {
      uint8_t sc, m;
      get_scale_min_k4(is + 0, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, b.scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (b.qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (b.qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

}  // namespace lowbit::kq
