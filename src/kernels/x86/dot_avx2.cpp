// AVX2 + FMA + F16C dot products (compiled with those flags only for this file; called only
// when cpu_features() reports them). Same integer sums as kernels/ref/dot_ref.cpp; only the
// order of the float accumulation across blocks differs.
#include <immintrin.h>

#include "formats/blocks_legacy.h"
#include "kernels/dot.h"
#include "kernels/x86/avx2_util.h"

namespace lowbit {
namespace {

using avx2::fp16;
using avx2::dot_i8;
using avx2::hsum;

using legacy::BlockQ4_0;
using legacy::BlockQ8_0;
constexpr int kQk = legacy::kBlockElems;

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i off8 = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQk; ++b) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs));
    // Lanes 0..15: low nibbles (elements 0..15); lanes 16..31: high nibbles (16..31).
    __m256i qx = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    qx = _mm256_sub_epi8(_mm256_and_si256(qx, low4), off8);
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(fp16(x[b].d) * fp16(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc);
  }
  return hsum(acc);
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQk; ++b) {
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i qy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y[b].qs));
    const __m256 d = _mm256_set1_ps(fp16(x[b].d) * fp16(y[b].d));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8(qx, qy)), acc);
  }
  return hsum(acc);
}

const DotKernel kAvx2[] = {
    {FormatId::Q4_0, FormatId::Q8_0, dot_q4_0_q8_0},
    {FormatId::Q8_0, FormatId::Q8_0, dot_q8_0_q8_0},
    {FormatId::F32, FormatId::F32, nullptr},
};

}  // namespace

const DotKernel* dot_kernels_avx2() { return kAvx2; }

}  // namespace lowbit
