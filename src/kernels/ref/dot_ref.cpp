// Scalar reference dot products: the specification the SIMD kernels are tested against.
// Numerics follow ggml's: per block, an exact integer sum times the two fp16 scales.
#include <cstring>

#include "core/convert.h"
#include "formats/blocks_legacy.h"
#include "kernels/dot.h"
#include "kernels/ref/dot_k_ref.h"

namespace lowbit {
namespace {

using legacy::BlockQ4_0;
using legacy::BlockQ8_0;
constexpr int kQk = legacy::kBlockElems;

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    int isum = 0;
    for (int j = 0; j < kQk / 2; ++j) {
      isum += ((x[b].qs[j] & 0x0F) - 8) * y[b].qs[j];
      isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + kQk / 2];
    }
    sum += static_cast<float>(isum) * (f16_to_f32(x[b].d) * f16_to_f32(y[b].d));
  }
  return sum;
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQk; ++b) {
    int isum = 0;
    for (int j = 0; j < kQk; ++j) isum += x[b].qs[j] * y[b].qs[j];
    sum += static_cast<float>(isum) * (f16_to_f32(x[b].d) * f16_to_f32(y[b].d));
  }
  return sum;
}

const DotKernel kRef[] = {
    {FormatId::Q4_0, FormatId::Q8_0, dot_q4_0_q8_0},
    {FormatId::Q8_0, FormatId::Q8_0, dot_q8_0_q8_0},
    {FormatId::Q4_K, FormatId::Q8_K, ref::dot_q4_K_q8_K},
    {FormatId::Q6_K, FormatId::Q8_K, ref::dot_q6_K_q8_K},
    {FormatId::F32, FormatId::F32, nullptr},
};

}  // namespace

const DotKernel* dot_kernels_ref() { return kRef; }

}  // namespace lowbit
