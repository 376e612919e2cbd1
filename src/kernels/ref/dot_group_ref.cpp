#include "kernels/ref/dot_group_ref.h"

#include "core/convert.h"
#include "formats/blocks_group.h"
#include "formats/blocks_legacy.h"

namespace lowbit::ref {

template <int Bits, int Group>
float dot_group_q8_0(int64_t n, const void* w, const void* a) {
  using namespace group_int;
  const auto* x = static_cast<const uint8_t*>(w);
  const auto* y = static_cast<const legacy::BlockQ8_0*>(a);
  float sum = 0.0f;
  uint8_t q[kSubElems];
  for (int64_t g = 0; g < n / Group; ++g, x += block_bytes(Bits, Group)) {
    const float z = f16_to_f32(header_z(x));
    float acc = 0.0f;
    for (int s = 0; s < Group / kSubElems; ++s, ++y) {
      unpack_sub_block(Bits, x + kHeaderBytes + s * sub_block_bytes(Bits), q);
      int s_qa = 0, s_a = 0;
      for (int j = 0; j < kSubElems; ++j) {
        s_qa += q[j] * y->qs[j];
        s_a += y->qs[j];
      }
      acc += f16_to_f32(y->d) * (static_cast<float>(s_qa) - z * static_cast<float>(s_a));
    }
    sum += f16_to_f32(header_d(x)) * acc;
  }
  return sum;
}

#define LOWBIT_GROUP_DOT(B, G) {FormatId::GQ##B##_##G, FormatId::Q8_0, dot_group_q8_0<B, G>}
const DotKernel* group_int_dot_kernels_ref() {
  static const DotKernel k[] = {
      LOWBIT_GROUP_DOT(2, 32), LOWBIT_GROUP_DOT(2, 64), LOWBIT_GROUP_DOT(2, 128),
      LOWBIT_GROUP_DOT(3, 32), LOWBIT_GROUP_DOT(3, 64), LOWBIT_GROUP_DOT(3, 128),
      LOWBIT_GROUP_DOT(4, 32), LOWBIT_GROUP_DOT(4, 64), LOWBIT_GROUP_DOT(4, 128),
      LOWBIT_GROUP_DOT(8, 32), LOWBIT_GROUP_DOT(8, 64), LOWBIT_GROUP_DOT(8, 128),
      {FormatId::F32, FormatId::F32, nullptr},
  };
  return k;
}
#undef LOWBIT_GROUP_DOT

}  // namespace lowbit::ref
