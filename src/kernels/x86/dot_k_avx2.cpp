// AVX2 + FMA + F16C dot products of K-quant rows with Q8_K activations (Q4_K_M files are Q4_K
// and Q6_K; most mixes store the output head as Q6_K). The integer sums per super-block are
// those of kernels/ref/dot_k_ref.cpp (codes are unsigned, so maddubs takes them directly; the
// Q6_K offset 32 and the Q4_K mins are applied through the activations' per-16 sums), reduced
// to exact integer totals per super-block and scaled by the reference's float expression, so the
// results equal the scalar reference bit for bit.
#include <immintrin.h>

#include <cstring>

#include "formats/blocks_k.h"
#include "kernels/dot.h"
#include "kernels/x86/avx2_util.h"

namespace lowbit {
namespace {

using avx2::hsum_i32;

constexpr int kQk = kq::kBlockElems;

// Rows are streamed from memory once per token; prefetching a few blocks ahead keeps more
// misses in flight than the hardware prefetcher alone (see kernels/x86/gemm_r16_avx512.cpp).
template <typename Block>
inline void prefetch_ahead(const Block* b) {
  const char* p = reinterpret_cast<const char*>(b + 8);
  for (size_t off = 0; off < sizeof(Block); off += 64) _mm_prefetch(p + off, _MM_HINT_T1);
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Q4_K's 8 six-bit scales and mins from its 12 packed bytes (specs/gguf.md, get_scale_min_k4).
inline void q4k_scales_mins(const uint8_t* s, uint8_t sc[8], uint8_t mn[8]) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0x0F) | ((s[j] >> 6) << 4);
    mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
  }
}

float dot_q4_K_q8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const kq::BlockQ4K*>(w);
  const auto* y = static_cast<const kq::BlockQ8K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    prefetch_ahead(x + b);
    uint8_t sc[8], mn[8];
    q4k_scales_mins(x[b].scales, sc, mn);
    // mins: sum_j mn_j * (bsums[2j] + bsums[2j+1]) with each mn_j in two int16 lanes.
    int16_t mn16[16];
    for (int j = 0; j < 16; ++j) mn16[j] = mn[j / 2];
    const __m256i msum = _mm256_madd_epi16(load256(y[b].bsums), load256(mn16));
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(x[b].qs + 32 * c);
      const __m256i p0 = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), load256(y[b].qs + 64 * c));
      const __m256i p1 = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), load256(y[b].qs + 64 * c + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16(sc[2 * c])));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16(sc[2 * c + 1])));
    }
    // Exact integer totals, then the reference's float expression: the min term nearly cancels
    // the main one in blocks with an outlier, so splitting it across lanes would not be accurate.
    sum += y[b].d * (_cvtsh_ss(x[b].d) * static_cast<float>(hsum_i32(isum)) -
                     _cvtsh_ss(x[b].dmin) * static_cast<float>(hsum_i32(msum)));
  }
  return sum;
}

float dot_q6_K_q8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const kq::BlockQ6K*>(w);
  const auto* y = static_cast<const kq::BlockQ8K*>(a);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    prefetch_ahead(x + b);
    // The offset 32: sum_s sc_s * 32 * (sum of the 16 activation codes of sub-block s).
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].scales)));
    const __m256i offs = _mm256_slli_epi32(_mm256_madd_epi16(load256(y[b].bsums), sc16), 5);
    __m256i isum = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load256(x[b].ql + 64 * h), ql1 = load256(x[b].ql + 64 * h + 32);
      const __m256i qh = load256(x[b].qh + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
      };
      for (int i = 0; i < 4; ++i) {
        // Group i: 32 elements, scales sc[2i] (elements 0..15) and sc[2i+1] (16..31).
        const __m256i p = _mm256_maddubs_epi16(q[i], load256(y[b].qs + 128 * h + 32 * i));
        const int8_t* sc = x[b].scales + 8 * h + 2 * i;
        const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[1]), _mm_set1_epi16(sc[0]));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
      }
    }
    sum += _cvtsh_ss(x[b].d) * y[b].d * static_cast<float>(hsum_i32(_mm256_sub_epi32(isum, offs)));
  }
  return sum;
}

const DotKernel kKAvx2[] = {
    {FormatId::Q4_K, FormatId::Q8_K, dot_q4_K_q8_K},
    {FormatId::Q6_K, FormatId::Q8_K, dot_q6_K_q8_K},
    {FormatId::F32, FormatId::F32, nullptr},
};

}  // namespace

const DotKernel* dot_k_kernels_avx2() { return kKAvx2; }

}  // namespace lowbit
