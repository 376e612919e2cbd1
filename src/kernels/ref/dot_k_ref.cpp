// Scalar reference dot products for K-quant weights against Q8_K activations (256-element
// super-blocks, as ggml pairs them). Per super-block the integer sums are exact; the scale
// algebra follows the block definitions in formats/blocks_k.h:
//   Q4_K: x = d*sc_j*q - dmin*mn_j   ->  d*dy*sum_j sc_j*(q.q8)_j - dmin*dy*sum_j mn_j*sum(q8)_j
//   Q6_K: x = d*sc_s*(q-32)          ->  d*dy*sum_s sc_s*((q-32).q8)_s
#include "kernels/ref/dot_k_ref.h"

#include "core/convert.h"
#include "formats/blocks_k.h"

namespace lowbit::ref {
namespace {
constexpr int kQk = kq::kBlockElems;
}

void q4k_scale_min(const uint8_t* scales, int j, int* sc, int* mn) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *mn = scales[j + 4] & 63;
  } else {
    *sc = (scales[j + 4] & 0x0F) | ((scales[j - 4] >> 6) << 4);
    *mn = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}

float dot_q4_K_q8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const kq::BlockQ4K*>(w);
  const auto* y = static_cast<const kq::BlockQ8K*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    int isum = 0, msum = 0;
    for (int c = 0; c < 4; ++c) {  // 64 elements: sub-blocks 2c (low nibbles) and 2c+1 (high)
      int sc0, mn0, sc1, mn1;
      q4k_scale_min(x[b].scales, 2 * c, &sc0, &mn0);
      q4k_scale_min(x[b].scales, 2 * c + 1, &sc1, &mn1);
      int d0 = 0, d1 = 0;
      for (int l = 0; l < 32; ++l) {
        d0 += (x[b].qs[32 * c + l] & 0x0F) * y[b].qs[64 * c + l];
        d1 += (x[b].qs[32 * c + l] >> 4) * y[b].qs[64 * c + 32 + l];
      }
      isum += sc0 * d0 + sc1 * d1;
      // bsums hold sums of 16 codes: sub-block 2c covers bsums[4c], bsums[4c+1].
      msum += mn0 * (y[b].bsums[4 * c] + y[b].bsums[4 * c + 1]) + mn1 * (y[b].bsums[4 * c + 2] + y[b].bsums[4 * c + 3]);
    }
    sum += y[b].d * (f16_to_f32(x[b].d) * static_cast<float>(isum) - f16_to_f32(x[b].dmin) * static_cast<float>(msum));
  }
  return sum;
}

float dot_q6_K_q8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const kq::BlockQ6K*>(w);
  const auto* y = static_cast<const kq::BlockQ8K*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    int isum = 0;
    for (int h = 0; h < 2; ++h) {  // halves of 128
      const uint8_t* ql = x[b].ql + 64 * h;
      const uint8_t* qh = x[b].qh + 32 * h;
      const int8_t* sc = x[b].scales + 8 * h;
      const int8_t* q8 = y[b].qs + 128 * h;
      int part[8] = {};  // sums per 16-element sub-block of this half
      for (int l = 0; l < 32; ++l) {
        const int q0 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        part[l / 16 + 0] += q0 * q8[l];
        part[l / 16 + 2] += q1 * q8[l + 32];
        part[l / 16 + 4] += q2 * q8[l + 64];
        part[l / 16 + 6] += q3 * q8[l + 96];
      }
      for (int s = 0; s < 8; ++s) isum += sc[s] * part[s];
    }
    sum += f16_to_f32(x[b].d) * y[b].d * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace lowbit::ref
