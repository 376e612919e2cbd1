// The f32 building blocks of the forward pass. Scalar, clear code; the SIMD and quantized
// kernels of src/kernels replace the hot ones without changing these signatures.
#pragma once
#include <cstdint>

namespace lowbit {

// y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w, for n_rows rows of n_cols. In place allowed.
void rms_norm(const float* x, const float* w, float* y, int n_rows, int n_cols, float eps);
// gate[i] = silu(gate[i]) * up[i]
void silu_mul(float* gate, const float* up, int64_t n);
// In-place softmax over n values; returns nothing, handles -inf entries.
void softmax(float* x, int n);
// y[M x N] = x[M x K] * W[N x K]^T (+ bias[N]). PyTorch Linear layout; BLAS underneath.
void linear_f32(const float* x, const float* w, const float* bias, float* y, int m, int n, int k);

}  // namespace lowbit
