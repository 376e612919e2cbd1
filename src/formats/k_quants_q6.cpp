// Q6_K (ggml-quants.c quantize_row_q6_K_ref / quantize_row_q6_K_impl / dequantize_row_q6_K;
// ../shared/specs/gguf.md §4-5). 16 sub-blocks of 16, symmetric codes -32..31, int8 sub-block
// scales times the block's fp16 d.
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
// ggml-quants.c GROUP_MAX_EPS: a super-block whose largest scale is below it is stored as zeros.
constexpr float kGroupMaxEps = 1e-15f;

// Both paths: make_qx_quants(16, 32, rmse_type 1) per sub-block, with w = x^2 (reference) or
// w = the importance itself (ggml's _impl uses qw directly, not imatrix*sqrt(sigma2 + x^2)).
void quantize_block(const float* x, const float* qw_block, BlockQ6K& b) {
  int8_t L[kBlockElems];
  float scales[kNSub];
  float max_scale = 0;
  float max_abs_scale = 0;
  for (int ib = 0; ib < kNSub; ++ib) {
    const float* qw = qw_block ? qw_block + kSub * ib : nullptr;
    const float scale = ggml::make_qx_quants(kSub, 32, x + kSub * ib, L + kSub * ib, 1, qw);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    b = BlockQ6K{};
    b.d = to_half(0.f);
    return;
  }
  const float iscale = -128.f / max_scale;
  b.d = to_half(1 / iscale);
  for (int ib = 0; ib < kNSub; ++ib) b.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));

  // Re-derive codes from the stored scales; sub-blocks with scale 0 keep the search's codes.
  for (int j = 0; j < kNSub; ++j) {
    const float d = from_half(b.d) * b.scales[j];
    if (!d) continue;
    for (int ii = 0; ii < kSub; ++ii) {
      const int l = nearest_int(x[kSub * j + ii] / d);
      L[kSub * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }
  // Per 128-element half: elements l, l+32, l+64, l+96 (l < 32) share qh[l]; their low nibbles
  // go to ql[l] (l and l+64) and ql[l+32] (l+32 and l+96).
  uint8_t* ql = b.ql;
  uint8_t* qh = b.qh;
  for (int j = 0; j < kBlockElems; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l + 0] & 0xF;
      const uint8_t q2 = L[j + l + 32] & 0xF;
      const uint8_t q3 = L[j + l + 64] & 0xF;
      const uint8_t q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                   ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

}  // namespace

bool quantize_row_q6_k(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i) {
    BlockQ6K b{};
    quantize_block(x + i * kBlockElems, importance ? importance + i * kBlockElems : nullptr, b);
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

void dequantize_row_q6_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ6K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    const float d = from_half(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    for (int n = 0; n < kBlockElems; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int8_t q1 = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        const int8_t q2 = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        const int8_t q3 = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        const int8_t q4 = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        y[l + 0] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

}  // namespace lowbit::kq
