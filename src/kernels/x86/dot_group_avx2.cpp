// AVX2 + FMA + F16C group-int x Q8_0 dot products for the 4- and 8-bit layouts
// (formats/blocks_group.h); 2- and 3-bit rows use the scalar reference for now. Same integer
// sums per 32-element sub-block as kernels/ref/dot_group_ref.cpp; only the float
// accumulation order differs.
#include <immintrin.h>

#include "formats/blocks_group.h"
#include "formats/blocks_legacy.h"
#include "kernels/dot.h"
#include "kernels/x86/avx2_util.h"

namespace lowbit {
namespace {

using avx2::fp16;
using avx2::hsum;

using namespace group_int;
using legacy::BlockQ8_0;

// 32 codes of one sub-block as unsigned bytes, lane j = element j.
template <int Bits>
inline __m256i load_codes(const uint8_t* p) {
  if constexpr (Bits == 4) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
  } else {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
}

// 4 bits: codes 0..15 are small enough for maddubs (u8 x s8 pairs stay inside int16) directly.
// 8 bits: codes 0..255 would overflow it, so use q - 128 (signed) and z - 128 instead, with
// the sign trick (maddubs needs its first operand unsigned).
template <int Bits, int Group>
float dot_group_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const uint8_t*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  const __m256i ones16 = _mm256_set1_epi16(1);
  const __m256i ones8 = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t g = 0; g < n / Group; ++g, x += block_bytes(Bits, Group)) {
    const float d = fp16(header_d(x));
    const __m256 z = _mm256_set1_ps(fp16(header_z(x)) - (Bits == 8 ? 128.0f : 0.0f));
    for (int s = 0; s < Group / kSubElems; ++s, ++y) {
      const __m256i q = load_codes<Bits>(x + kHeaderBytes + s * sub_block_bytes(Bits));
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y->qs));
      __m256i s_qa;
      if constexpr (Bits == 4) {
        s_qa = _mm256_madd_epi16(_mm256_maddubs_epi16(q, av), ones16);
      } else {
        const __m256i qs = _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));  // q - 128
        s_qa = avx2::dot_i8(qs, av);
      }
      const __m256i s_a = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, av), ones16);
      const __m256 v = _mm256_fnmadd_ps(z, _mm256_cvtepi32_ps(s_a), _mm256_cvtepi32_ps(s_qa));
      acc = _mm256_fmadd_ps(_mm256_set1_ps(d * fp16(y->d)), v, acc);
    }
  }
  return hsum(acc);
}

#define LOWBIT_GROUP_DOT(B, G) {FormatId::GQ##B##_##G, FormatId::Q8_0, dot_group_q8_0<B, G>}
const DotKernel kGroupAvx2[] = {
    LOWBIT_GROUP_DOT(4, 32), LOWBIT_GROUP_DOT(4, 64), LOWBIT_GROUP_DOT(4, 128),
    LOWBIT_GROUP_DOT(8, 32), LOWBIT_GROUP_DOT(8, 64), LOWBIT_GROUP_DOT(8, 128),
    {FormatId::F32, FormatId::F32, nullptr},
};
#undef LOWBIT_GROUP_DOT

}  // namespace

const DotKernel* group_int_dot_kernels_avx2() { return kGroupAvx2; }

}  // namespace lowbit
