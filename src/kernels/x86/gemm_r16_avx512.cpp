// AVX-512 VNNI kernels on R16-repacked weights (kernels/repack.h). One vpdpbusd multiplies the
// 4 code bytes of 16 rows (one 64-byte chunk) by 4 activation bytes broadcast to all lanes, so
// a 32-element block of 16 rows costs 8 instructions per activation row, and a tile of up to 4
// activation rows reuses the unpacked chunks from registers (the prompt path). Integer sums are
// exact and equal the scalar reference (kernels/ref/gemm_r16_ref.cpp); only the float
// accumulation order differs.
//
// Q4_0: the high nibbles are used in place as (byte & 0xF0) = 16 * code, and the sum is shifted
// right by 4 afterwards (exact: it is a multiple of 16), which saves a shift per chunk.
// GCC 12 warns inside its own AVX-512 headers (the _mm512_undefined_* pass-through operands).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/repack.h"

namespace lowbit {
namespace {

// Decode streams every weight byte from memory once; one core keeps only so many cache misses
// in flight, so ask for the bytes kPrefetchBytes ahead (one prefetch per cache line of
// the block, into L2) on top of the hardware prefetcher.
inline constexpr int kPrefetchBytes = 4608;
inline void prefetch_ahead(const uint8_t* p, int gbb) {
  const char* q = reinterpret_cast<const char*>(p) + kPrefetchBytes;
  for (int off = 0; off < gbb; off += 64) _mm_prefetch(q + off, _MM_HINT_T1);
}

inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

template <int T>
void tile_q4_0(const RepackedMatrix& w, const ActQ8& a, int64_t g, int64_t tok0, float* y, int64_t ldy) {
  const int gbb = w.traits->group_block_bytes();
  const uint8_t* p = w.group(g);
  const __m512i m_lo = _mm512_set1_epi8(0x0F), m_hi = _mm512_set1_epi8(static_cast<char>(0xF0));
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const int8_t* aq[T];
  const float* ad[T];
  const int32_t* as[T];
  for (int t = 0; t < T; ++t) {
    aq[t] = a.row_qs(tok0 + t);
    ad[t] = a.row_d(tok0 + t);
    as[t] = a.row_sum(tok0 + t);
  }
  const int64_t nb = w.n_blocks();
  for (int64_t k = 0; k < nb; ++k, p += gbb) {
    prefetch_ahead(p, gbb);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    __m512i lo[4], hi[4];
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(p + r16::kLegacyCodes + 64 * c);
      lo[c] = _mm512_and_si512(v, m_lo);
      hi[c] = _mm512_and_si512(v, m_hi);
    }
    for (int t = 0; t < T; ++t) {
      const int8_t* q = aq[t] + 32 * k;
      __m512i sl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], bcast4(q));
      __m512i sh = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], bcast4(q + 16));
      for (int c = 1; c < 4; ++c) {
        sl = _mm512_dpbusd_epi32(sl, lo[c], bcast4(q + 4 * c));
        sh = _mm512_dpbusd_epi32(sh, hi[c], bcast4(q + 16 + 4 * c));
      }
      const __m512i s = _mm512_sub_epi32(_mm512_add_epi32(sl, _mm512_srai_epi32(sh, 4)),
                                         _mm512_set1_epi32(8 * as[t][k]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(ad[t][k])), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (tok0 + t) * ldy + g * kRepackRows, acc[t]);
}

template <int T>
void tile_q8_0(const RepackedMatrix& w, const ActQ8& a, int64_t g, int64_t tok0, float* y, int64_t ldy) {
  const int gbb = w.traits->group_block_bytes();
  const uint8_t* p = w.group(g);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t nb = w.n_blocks();
  for (int64_t k = 0; k < nb; ++k, p += gbb) {
    prefetch_ahead(p, gbb);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    __m512i u[8];
    for (int c = 0; c < 8; ++c) u[c] = _mm512_loadu_si512(p + r16::kLegacyCodes + 64 * c);
    for (int t = 0; t < T; ++t) {
      const int8_t* q = a.row_qs(tok0 + t) + 32 * k;
      __m512i s0 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[0], bcast4(q));
      __m512i s1 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u[1], bcast4(q + 4));
      for (int c = 2; c < 8; c += 2) {
        s0 = _mm512_dpbusd_epi32(s0, u[c], bcast4(q + 4 * c));
        s1 = _mm512_dpbusd_epi32(s1, u[c + 1], bcast4(q + 4 * c + 4));
      }
      const __m512i s = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(128 * a.row_sum(tok0 + t)[k]));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(a.row_d(tok0 + t)[k])), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (tok0 + t) * ldy + g * kRepackRows, acc[t]);
}

// Q4_K_R16 (kernels/repack.h): per 64-element pair c, the low nibbles are sub-block 2c and the
// high nibbles (used in place as 16 * code) sub-block 2c+1; each sub-block's integer sum is
// scaled by d*sc (weights) and the activation block's scale, and the mins enter through the
// activation block's code sum: w.a = sum_j d*sc_j*S_j*da_j - dmin*mn_j*da_j*asum_j.
template <int T>
void tile_q4_K(const RepackedMatrix& w, const ActQ8& a, int64_t g, int64_t tok0, float* y, int64_t ldy) {
  const int gbb = w.traits->gbb;
  const uint8_t* p = w.group(g);
  const __m512i m_lo = _mm512_set1_epi8(0x0F), m_hi = _mm512_set1_epi8(static_cast<char>(0xF0));
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t nb = w.n_blocks();
  for (int64_t k = 0; k < nb; ++k, p += gbb) {
    prefetch_ahead(p, gbb);
    const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    const __m512 mv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + r16::kQ4KDmin)));
    for (int c = 0; c < 4; ++c) {
      auto scale = [&](int off, int j, __m512 v) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + off + 16 * j));
        return _mm512_mul_ps(v, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)));
      };
      const __m512 dsc0 = scale(r16::kQ4KSc, 2 * c, dv), dsc1 = scale(r16::kQ4KSc, 2 * c + 1, dv);
      const __m512 dmn0 = scale(r16::kQ4KMn, 2 * c, mv), dmn1 = scale(r16::kQ4KMn, 2 * c + 1, mv);
      __m512i lo[8], hi[8];
      for (int q = 0; q < 8; ++q) {
        const __m512i v = _mm512_loadu_si512(p + r16::kQ4KCodes + 512 * c + 64 * q);
        lo[q] = _mm512_and_si512(v, m_lo);
        hi[q] = _mm512_and_si512(v, m_hi);
      }
      for (int t = 0; t < T; ++t) {
        const int8_t* aq = a.row_qs(tok0 + t) + 256 * k + 64 * c;
        __m512i sl = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo[0], bcast4(aq));
        __m512i sh = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi[0], bcast4(aq + 32));
        for (int q = 1; q < 8; ++q) {
          sl = _mm512_dpbusd_epi32(sl, lo[q], bcast4(aq + 4 * q));
          sh = _mm512_dpbusd_epi32(sh, hi[q], bcast4(aq + 32 + 4 * q));
        }
        const int64_t blk = 8 * k + 2 * c;
        const float* ad = a.row_d(tok0 + t) + blk;
        const int32_t* as = a.row_sum(tok0 + t) + blk;
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sl), _mm512_mul_ps(dsc0, _mm512_set1_ps(ad[0])), acc[t]);
        acc[t] = _mm512_fnmadd_ps(dmn0, _mm512_set1_ps(ad[0] * static_cast<float>(as[0])), acc[t]);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32(sh, 4)), _mm512_mul_ps(dsc1, _mm512_set1_ps(ad[1])),
                                 acc[t]);
        acc[t] = _mm512_fnmadd_ps(dmn1, _mm512_set1_ps(ad[1] * static_cast<float>(as[1])), acc[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (tok0 + t) * ldy + g * kRepackRows, acc[t]);
}

// Q6_K_R16 (kernels/repack.h): per half h and each run of 4 chunks q (16 elements of each of
// the 4 groups: one 16-element sub-block per group), the 6-bit codes are rebuilt from the ql
// nibble and the 2 qh bits, multiplied with vpdpbusd, and each sub-block's sum takes its
// offset (32 x the activation half-block's code sum) and its scale d*sc.
template <int T>
void tile_q6_K(const RepackedMatrix& w, const ActQ8& a, int64_t g, int64_t tok0, float* y, int64_t ldy) {
  using r16::kQ6Ql, r16::kQ6Qh, r16::kQ6Sc;
  const int gbb = w.traits->gbb;
  const uint8_t* p = w.group(g);
  const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  const int64_t nb = w.n_blocks();
  for (int64_t k = 0; k < nb; ++k, p += gbb) {
    prefetch_ahead(p, gbb);
    const __m512 dv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    for (int h = 0; h < 2; ++h)
      for (int half = 0; half < 2; ++half) {  // q = 4*half .. 4*half+3: sub-blocks 8h + 2gr + half
        __m512i c[4][4];  // [q][group]
        for (int j = 0; j < 4; ++j) {
          const int q = 4 * half + j;
          const __m512i l0 = _mm512_loadu_si512(p + kQ6Ql + 1024 * h + 64 * q);
          const __m512i l1 = _mm512_loadu_si512(p + kQ6Ql + 1024 * h + 512 + 64 * q);
          const __m512i hb = _mm512_loadu_si512(p + kQ6Qh + 512 * h + 64 * q);
          c[j][0] = _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_slli_epi16(hb, 4), m30));
          c[j][1] = _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_slli_epi16(hb, 2), m30));
          c[j][2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), _mm512_and_si512(hb, m30));
          c[j][3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                                    _mm512_and_si512(_mm512_srli_epi16(hb, 2), m30));
        }
        __m512 dsc[4];
        for (int gr = 0; gr < 4; ++gr) {
          const int s = 8 * h + 2 * gr + half;
          const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kQ6Sc + 16 * s));
          dsc[gr] = _mm512_mul_ps(dv, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc)));
        }
        for (int t = 0; t < T; ++t) {
          const int8_t* aq = a.row_qs(tok0 + t) + 256 * k + 128 * h + 16 * half;
          const float* ad = a.row_d(tok0 + t) + 8 * k + 4 * h;
          const int32_t* as16 = a.row_sum16(tok0 + t) + 16 * k + 8 * h + half;
          for (int gr = 0; gr < 4; ++gr) {
            __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), c[0][gr], bcast4(aq + 32 * gr));
            for (int j = 1; j < 4; ++j) s = _mm512_dpbusd_epi32(s, c[j][gr], bcast4(aq + 32 * gr + 4 * j));
            s = _mm512_sub_epi32(s, _mm512_set1_epi32(32 * as16[2 * gr]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dsc[gr], _mm512_set1_ps(ad[gr])), acc[t]);
          }
        }
      }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + (tok0 + t) * ldy + g * kRepackRows, acc[t]);
}

// Token chunks of 64 keep the activations in L2 while every row group of the range passes
// over them; within a chunk, tiles of 4 tokens share the unpacked weights.
template <void (*Tile1)(const RepackedMatrix&, const ActQ8&, int64_t, int64_t, float*, int64_t),
          void (*Tile2)(const RepackedMatrix&, const ActQ8&, int64_t, int64_t, float*, int64_t),
          void (*Tile3)(const RepackedMatrix&, const ActQ8&, int64_t, int64_t, float*, int64_t),
          void (*Tile4)(const RepackedMatrix&, const ActQ8&, int64_t, int64_t, float*, int64_t)>
void gemm(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy) {
  constexpr int64_t kChunk = 64;
  for (int64_t c0 = 0; c0 < a.n_rows; c0 += kChunk) {
    const int64_t c1 = std::min(a.n_rows, c0 + kChunk);
    for (int64_t g = g0; g < g1; ++g) {
      int64_t t = c0;
      for (; t + 4 <= c1; t += 4) Tile4(w, a, g, t, y, ldy);
      switch (c1 - t) {
        case 3: Tile3(w, a, g, t, y, ldy); break;
        case 2: Tile2(w, a, g, t, y, ldy); break;
        case 1: Tile1(w, a, g, t, y, ldy); break;
      }
    }
  }
}

}  // namespace

RepackedGemmFn gemm_q4_0_r16_avx512() { return gemm<tile_q4_0<1>, tile_q4_0<2>, tile_q4_0<3>, tile_q4_0<4>>; }
RepackedGemmFn gemm_q8_0_r16_avx512() { return gemm<tile_q8_0<1>, tile_q8_0<2>, tile_q8_0<3>, tile_q8_0<4>>; }
RepackedGemmFn gemm_q4_K_r16_avx512() { return gemm<tile_q4_K<1>, tile_q4_K<2>, tile_q4_K<3>, tile_q4_K<4>>; }
RepackedGemmFn gemm_q6_K_r16_avx512() { return gemm<tile_q6_K<1>, tile_q6_K<2>, tile_q6_K<3>, tile_q6_K<4>>; }

}  // namespace lowbit
