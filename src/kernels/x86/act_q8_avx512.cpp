// AVX-512 quantize_act_q8 (kernels/act_q8.h), bit for bit the scalar version: the same
// d = amax/127 and 1/d, and roundf's ties-away-from-zero rounding done as
// trunc(v + copysign(0.49999997, v)) (the largest float below 0.5, so v = 0.49999997 stays 0
// and halves round away from zero), not the ties-to-even of a plain vector round.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12, inside its AVX-512 headers
#include <immintrin.h>

#include <cstdint>

#include "kernels/act_q8.h"

namespace lowbit {

void quantize_act_q8_avx512(const float* x, int64_t m, int64_t k, ActQ8& a) {
  const int64_t nb = m * k / 32;
  // Bit operations on floats through the integer forms (the float ones need AVX512DQ).
  const __m512i abs_mask = _mm512_set1_epi32(0x7FFFFFFF), sign_mask = _mm512_set1_epi32(INT32_MIN);
  const __m512i half_below = _mm512_castps_si512(_mm512_set1_ps(0.49999997f));
  auto fabs = [&](__m512 v) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), abs_mask)); };
  for (int64_t b = 0; b < nb; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(fabs(x0), fabs(x1)));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m512 idv = _mm512_set1_ps(id);
    auto quant = [&](__m512 v) {
      v = _mm512_mul_ps(v, idv);
      const __m512 bias = _mm512_castsi512_ps(  // copysign(0.49999997, v)
          _mm512_or_si512(half_below, _mm512_and_si512(_mm512_castps_si512(v), sign_mask)));
      return _mm512_cvttps_epi32(_mm512_add_ps(v, bias));
    };
    const __m512i q0 = quant(x0), q1 = quant(x1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(a.qs.data() + 32 * b), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(a.qs.data() + 32 * b + 16), _mm512_cvtepi32_epi8(q1));
    a.d[b] = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
    a.sum16[2 * b] = _mm512_reduce_add_epi32(q0);
    a.sum16[2 * b + 1] = _mm512_reduce_add_epi32(q1);
    a.sum[b] = a.sum16[2 * b] + a.sum16[2 * b + 1];
  }
}

}  // namespace lowbit
