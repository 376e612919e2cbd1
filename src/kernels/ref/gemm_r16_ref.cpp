// Scalar reference of the R16 repacked kernels (kernels/repack.h): the specification the SIMD
// kernels are tested against. Per (row, activation row, block): exact integer sums, scaled in
// float and accumulated in block order (for Q4_0 / Q8_0 the same numerics as the per-row dot
// kernels: S = sum_j u_j a_j - offset * sum_j a_j, times d_w * d_a).
#include "core/convert.h"
#include "kernels/repack.h"

namespace lowbit::ref {
namespace {

// The loops every format shares: each output y[tok][row] is the sum over the column blocks k of
// what block_dot(p, i, tok, k, sum) adds to `sum` (p: the block of row i's group).
template <typename BlockDot>
void for_each_output(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy,
                     BlockDot block_dot) {
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t tok = 0; tok < a.n_rows; ++tok)
      for (int i = 0; i < kRepackRows; ++i) {
        float sum = 0.0f;
        const uint8_t* p = w.group(g);
        for (int64_t k = 0; k < w.n_blocks(); ++k, p += w.traits->gbb) block_dot(p, i, tok, k, sum);
        y[tok * ldy + g * kRepackRows + i] = sum;
      }
}

template <bool kNibbles>
void gemm_legacy(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  const RepackTraits& t = *w.traits;
  for_each_output(w, a, g0, g1, y, ldy, [&](const uint8_t* p, int i, int64_t tok, int64_t k, float& sum) {
    const int8_t* aq = a.row_qs(tok) + 32 * k;
    int32_t s = 0;
    for (int c = 0; c < t.n_chunks; ++c)
      for (int b = 0; b < 4; ++b) {
        const uint8_t u = p[r16::kLegacyCodes + 64 * c + 4 * i + b];
        const int j = 4 * c + b;
        s += kNibbles ? (u & 0x0F) * aq[j] + (u >> 4) * aq[j + 16] : u * aq[j];
      }
    s -= t.offset * a.row_sum(tok)[k];
    sum += static_cast<float>(s) * (f16_to_f32(r16::row_half(p, 0, i)) * a.row_d(tok)[k]);
  });
}

}  // namespace

void gemm_q4_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  gemm_legacy<true>(w, a, g0, g1, y, ldy);
}
void gemm_q8_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  gemm_legacy<false>(w, a, g0, g1, y, ldy);
}

// Q4_K_R16: per sub-block j of 32, S_j = sum q*a exact; then
//   sum += S_j * (d*sc_j * da_j) - (dmin*mn_j) * (da_j * asum_j)
// (w = d*sc*q - dmin*mn; the activations carry one scale da_j and code sum asum_j per 32).
void gemm_q4_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  for_each_output(w, a, g0, g1, y, ldy, [&](const uint8_t* p, int i, int64_t tok, int64_t k, float& sum) {
    const float d = f16_to_f32(r16::row_half(p, 0, i)), dmin = f16_to_f32(r16::row_half(p, r16::kQ4KDmin, i));
    const int8_t* aq = a.row_qs(tok) + 256 * k;
    for (int j = 0; j < 8; ++j) {
      int32_t s = 0;
      for (int q = 0; q < 8; ++q)
        for (int b = 0; b < 4; ++b) {
          const uint8_t u = r16::q4k_byte(p, i, j / 2, q, b);
          s += (j % 2 ? u >> 4 : u & 0x0F) * aq[32 * j + 4 * q + b];
        }
      const int64_t blk = 8 * k + j;
      const float ad = a.row_d(tok)[blk];
      const float dsc = d * static_cast<float>(p[r16::kQ4KSc + 16 * j + i]);
      const float dmn = dmin * static_cast<float>(p[r16::kQ4KMn + 16 * j + i]);
      sum += static_cast<float>(s) * (dsc * ad) - dmn * (ad * static_cast<float>(a.row_sum(tok)[blk]));
    }
  });
}

// Q6_K_R16: per 16-element sub-block s, S_s = sum code*a exact and A_s the activation code sum;
//   sum += (S_s - 32*A_s) * (d*sc_s * da)   (da: the scale of the 32-element activation block).
void gemm_q6_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  for_each_output(w, a, g0, g1, y, ldy, [&](const uint8_t* p, int i, int64_t tok, int64_t k, float& sum) {
    const float d = f16_to_f32(r16::row_half(p, 0, i));
    const int8_t* aq = a.row_qs(tok) + 256 * k;
    for (int s = 0; s < 16; ++s) {
      const int h = s / 8, gr = (s % 8) / 2, l0 = 16 * (s % 2);
      int32_t acc = 0;
      for (int l = l0; l < l0 + 16; ++l) acc += r16::q6_code(p, i, h, gr, l) * aq[16 * s + (l - l0)];
      const int64_t s_glob = 16 * k + s;
      acc -= 32 * a.row_sum16(tok)[s_glob];
      const float dsc = d * static_cast<float>(static_cast<int8_t>(p[r16::kQ6Sc + 16 * s + i]));
      sum += static_cast<float>(acc) * (dsc * a.row_d(tok)[s_glob / 2]);
    }
  });
}

}  // namespace lowbit::ref
