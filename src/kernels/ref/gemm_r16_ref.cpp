// Scalar reference of the R16 repacked kernels (kernels/repack.h): the specification the SIMD
// kernels are tested against. Per (row, activation row, block): the exact integer sum
// S = sum_j u_j a_j - offset * sum_j a_j, times d_w * d_a, accumulated in float in block order
// (the same numerics as the per-row Q4_0 / Q8_0 dot kernels).
#include <cstring>

#include "core/convert.h"
#include "kernels/repack.h"

namespace lowbit::ref {
namespace {

template <bool kNibbles>
void gemm_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  const RepackTraits& t = *w.traits;
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t tok = 0; tok < a.n_rows; ++tok) {
      const int8_t* aq = a.row_qs(tok);
      const float* ad = a.row_d(tok);
      const int32_t* as = a.row_sum(tok);
      for (int i = 0; i < kRepackRows; ++i) {
        float sum = 0.0f;
        const uint8_t* p = w.group(g);
        for (int64_t k = 0; k < w.n_blocks(); ++k, p += t.group_block_bytes()) {
          int32_t s = 0;
          for (int c = 0; c < t.n_chunks; ++c)
            for (int b = 0; b < 4; ++b) {
              const uint8_t u = p[32 + 64 * c + 4 * i + b];
              const int j = 4 * c + b;
              if (kNibbles) {
                s += (u & 0x0F) * aq[32 * k + j] + (u >> 4) * aq[32 * k + j + 16];
              } else {
                s += u * aq[32 * k + j];
              }
            }
          s -= t.offset * as[k];
          uint16_t dh;
          std::memcpy(&dh, p + 2 * i, 2);
          sum += static_cast<float>(s) * (f16_to_f32(dh) * ad[k]);
        }
        y[tok * ldy + g * kRepackRows + i] = sum;
      }
    }
}

}  // namespace

void gemm_q4_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  gemm_r16<true>(w, a, g0, g1, y, ldy);
}
void gemm_q8_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  gemm_r16<false>(w, a, g0, g1, y, ldy);
}

// Q4_K_R16: per sub-block j of 32, S_j = sum q*a exact; then
//   sum += S_j * (d*sc_j * da_j) - (dmin*mn_j) * (da_j * asum_j)
// (w = d*sc*q - dmin*mn; the activations carry one scale da_j and code sum asum_j per 32).
void gemm_q4_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t tok = 0; tok < a.n_rows; ++tok) {
      const int8_t* aq = a.row_qs(tok);
      const float* ad = a.row_d(tok);
      const int32_t* as = a.row_sum(tok);
      for (int i = 0; i < kRepackRows; ++i) {
        float sum = 0.0f;
        const uint8_t* p = w.group(g);
        for (int64_t k = 0; k < w.n_blocks(); ++k, p += w.traits->gbb) {
          uint16_t dh, mh;
          std::memcpy(&dh, p + 2 * i, 2);
          std::memcpy(&mh, p + 32 + 2 * i, 2);
          const float d = f16_to_f32(dh), dmin = f16_to_f32(mh);
          for (int j = 0; j < 8; ++j) {
            const int c = j / 2;
            const bool high = j % 2;
            int32_t s = 0;
            for (int q = 0; q < 8; ++q)
              for (int b = 0; b < 4; ++b) {
                const uint8_t u = p[320 + 512 * c + 64 * q + 4 * i + b];
                s += (high ? u >> 4 : u & 0x0F) * aq[256 * k + 32 * j + 4 * q + b];
              }
            const int64_t blk = 8 * k + j;
            const float dsc = d * static_cast<float>(p[64 + 16 * j + i]);
            const float dmn = dmin * static_cast<float>(p[192 + 16 * j + i]);
            sum += static_cast<float>(s) * (dsc * ad[blk]) - dmn * (ad[blk] * static_cast<float>(as[blk]));
          }
        }
        y[tok * ldy + g * kRepackRows + i] = sum;
      }
    }
}

// Q6_K_R16: per 16-element sub-block s, S_s = sum code*a exact and A_s the activation code sum;
//   sum += (S_s - 32*A_s) * (d*sc_s * da)   (da: the scale of the 32-element activation block).
void gemm_q6_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  constexpr int kSc = 32, kQl = 32 + 256, kQh = 32 + 256 + 2048;
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t tok = 0; tok < a.n_rows; ++tok) {
      const int8_t* aq = a.row_qs(tok);
      const float* ad = a.row_d(tok);
      const int32_t* as16 = a.row_sum16(tok);
      for (int i = 0; i < kRepackRows; ++i) {
        float sum = 0.0f;
        const uint8_t* p = w.group(g);
        for (int64_t k = 0; k < w.n_blocks(); ++k, p += w.traits->gbb) {
          uint16_t dh;
          std::memcpy(&dh, p + 2 * i, 2);
          const float d = f16_to_f32(dh);
          for (int s = 0; s < 16; ++s) {
            const int h = s / 8, gr = (s % 8) / 2;
            int32_t acc = 0;
            for (int l = 16 * (s % 2); l < 16 * (s % 2) + 16; ++l) {
              const int q = l / 4, b = l % 4;
              const uint8_t ql = p[kQl + 1024 * h + 512 * (gr % 2) + 64 * q + 4 * i + b];
              const uint8_t qh = p[kQh + 512 * h + 64 * q + 4 * i + b];
              const int code = (gr < 2 ? ql & 0x0F : ql >> 4) | (((qh >> (2 * gr)) & 3) << 4);
              acc += code * aq[256 * k + 16 * s + (l % 16)];
            }
            const int64_t s_glob = 16 * k + s;
            acc -= 32 * as16[s_glob];
            const float dsc = d * static_cast<float>(static_cast<int8_t>(p[kSc + 16 * s + i]));
            sum += static_cast<float>(acc) * (dsc * ad[s_glob / 2]);
          }
        }
        y[tok * ldy + g * kRepackRows + i] = sum;
      }
    }
}

}  // namespace lowbit::ref
