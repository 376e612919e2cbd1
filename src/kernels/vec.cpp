#include "kernels/vec.h"

namespace lowbit {

namespace ref {
// In order, one accumulator: the specification (the SIMD versions sum in lanes).
float dot_f32(const float* x, const float* y, int64_t n) {
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}
void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
}  // namespace ref

const VecOps& vec_ops(Isa isa) {
  static const VecOps kRef{ref::dot_f32, ref::axpy_f32};
  if (isa >= Isa::Avx2) return *vec_ops_avx2();
  return kRef;
}

}  // namespace lowbit
