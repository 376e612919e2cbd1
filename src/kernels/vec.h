// Small f32 vector primitives of the forward pass (attention's q.k scores and its weighted sum
// of V rows), chosen per ISA like the dot kernels: the rest of the library is compiled for
// baseline x86-64, so loops there are not vectorized beyond SSE2 (and reductions not at all,
// since floating-point addition is not reassociated without -ffast-math).
#pragma once
#include <cstdint>

#include "kernels/cpu_features.h"

namespace lowbit {

struct VecOps {
  float (*dot)(const float* x, const float* y, int64_t n);         // sum x[i]*y[i]
  void (*axpy)(float a, const float* x, float* y, int64_t n);      // y[i] += a*x[i]
};

const VecOps& vec_ops(Isa isa);                    // the best at or below isa
inline const VecOps& vec_ops() { return vec_ops(active_isa()); }

namespace ref {
float dot_f32(const float* x, const float* y, int64_t n);
void axpy_f32(float a, const float* x, float* y, int64_t n);
}  // namespace ref
const VecOps* vec_ops_avx2();

}  // namespace lowbit
