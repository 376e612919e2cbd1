// Q3_K (ggml-quants.c quantize_row_q3_K_ref / quantize_row_q3_K_impl / dequantize_row_q3_K;
// ../shared/specs/gguf.md §4-5). 16 sub-blocks of 16, symmetric codes -4..3, 6-bit signed
// sub-block scales times the block's fp16 d.
#include <algorithm>
#include <cstring>

#include "formats/blocks_k.h"
#include "formats/ggml_search.h"
#include "formats/k_quants_impl.h"

namespace lowbit::kq {
namespace {

using ggml::nearest_int;
constexpr int kSub = 16;
constexpr int kNSub = kBlockElems / kSub;

// Scale code l (0..63) of sub-block j into the 12 scale bytes (which start zeroed).
void put_scale_code(uint8_t* scales, int j, int l) {
  if (j < 8)
    scales[j] = static_cast<uint8_t>(l & 0xF);
  else
    scales[j - 8] = static_cast<uint8_t>(scales[j - 8] | ((l & 0xF) << 4));
  l >>= 4;
  scales[j % 4 + 8] = static_cast<uint8_t>(scales[j % 4 + 8] | (l << (2 * (j / 4))));
}

// Re-derives the codes from the stored scales (sub-blocks with scale 0 keep their codes),
// then splits them into the high-bit mask and 2-bit planes. L holds code + 4 (0..7).
void finish_block(const float* x, BlockQ3K& b, int8_t* L) {
  for (int j = 0; j < kNSub; ++j) {
    const int8_t sc = static_cast<int8_t>(q3k_scale_code(b.scales, j) - 32);
    const float d = from_half(b.d) * sc;
    if (!d) continue;
    for (int ii = 0; ii < kSub; ++ii) {
      const int l = nearest_int(x[kSub * j + ii] / d);
      L[kSub * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
    }
  }
  // The high bit of element j goes to bit j/32 of hmask[j%32].
  std::memset(b.hmask, 0, sizeof(b.hmask));
  int m = 0;
  uint8_t hm = 1;
  for (int j = 0; j < kBlockElems; ++j) {
    if (L[j] > 3) {
      b.hmask[m] |= hm;
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
    if (++m == kBlockElems / 8) {
      m = 0;
      hm = static_cast<uint8_t>(hm << 1);
    }
  }
  for (int j = 0; j < kBlockElems; j += 128)
    for (int l = 0; l < 32; ++l)
      b.qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                             (L[j + l + 96] << 6));
}

// quantize_row_q3_K_ref: make_q3_quants per sub-block, then scales as signed 6-bit codes of
// the largest-magnitude scale (keeping its sign): d = 1/iscale.
void quantize_block_ref(const float* x, BlockQ3K& b) {
  int8_t L[kBlockElems];
  float scales[kNSub];
  float max_scale = 0;
  float amax = 0;
  for (int j = 0; j < kNSub; ++j) {
    scales[j] = ggml::make_q3_quants(kSub, 4, x + kSub * j, L + kSub * j, true);
    const float scale = std::fabs(scales[j]);
    if (scale > amax) {
      amax = scale;
      max_scale = scales[j];
    }
  }
  std::memset(b.scales, 0, sizeof(b.scales));
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < kNSub; ++j) {
      // ggml stores nearest_int into an int8_t before clamping; keep that truncation.
      int8_t l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
      l = static_cast<int8_t>(std::max<int>(-32, std::min<int>(31, l)) + 32);
      put_scale_code(b.scales, j, l);
    }
    b.d = to_half(1 / iscale);
  } else {
    b.d = to_half(0.f);
  }
  finish_block(x, b, L);
}

// quantize_row_q3_K_impl: weighted make_qx_quants (w = imatrix*sqrt(sigma2 + x^2), sigma2 =
// 2*mean x^2), and the 16 scales themselves quantized by make_qx_quants(nmax 32, w = Σw).
void quantize_block_imatrix(const float* x, const float* qw_block, BlockQ3K& b) {
  int8_t L[kBlockElems];
  float scales[kNSub];
  float weight[kSub];
  float sw[kNSub];
  int8_t Ls[kNSub];

  float sumx2 = 0;
  for (int j = 0; j < kBlockElems; ++j) sumx2 += x[j] * x[j];
  const float sigma2 = 2 * sumx2 / kBlockElems;
  for (int j = 0; j < kNSub; ++j) {
    const float* qw = qw_block + kSub * j;
    for (int l = 0; l < kSub; ++l) weight[l] = qw[l] * std::sqrt(sigma2 + x[kSub * j + l] * x[kSub * j + l]);
    float sumw = 0;
    for (int l = 0; l < kSub; ++l) sumw += weight[l];
    sw[j] = sumw;
    scales[j] = ggml::make_qx_quants(kSub, 4, x + kSub * j, L + kSub * j, 1, weight);
  }
  std::memset(b.scales, 0, sizeof(b.scales));
  const float d_block = ggml::make_qx_quants(kNSub, 32, scales, Ls, 1, sw);
  for (int j = 0; j < kNSub; ++j) put_scale_code(b.scales, j, Ls[j]);
  b.d = to_half(d_block);
  finish_block(x, b, L);
}

}  // namespace

int q3k_scale_code(const uint8_t* scales, int j) {
  const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
  const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return lo | (hi << 4);
}

bool quantize_row_q3_k(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i) {
    BlockQ3K b{};
    if (importance)
      quantize_block_imatrix(x + i * kBlockElems, importance + i * kBlockElems, b);
    else
      quantize_block_ref(x + i * kBlockElems, b);
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

void dequantize_row_q3_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ3K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    const float d_all = from_half(b.d);
    const uint8_t* q = b.qs;
    uint8_t m = 1;
    int is = 0;
    for (int n = 0; n < kBlockElems; n += 128) {
      int shift = 0;
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * (q3k_scale_code(b.scales, is++) - 32);
          for (int l = 16 * half; l < 16 * half + 16; ++l)
            *y++ = dl * (static_cast<int8_t>((q[l] >> shift) & 3) - ((b.hmask[l] & m) ? 0 : 4));
        }
        shift += 2;
        m = static_cast<uint8_t>(m << 1);
      }
      q += 32;
    }
  }
}

}  // namespace lowbit::kq
