// GPTQ's Hessian accumulation and the damped inverse-Cholesky factor (specs/gptq.md §3
// steps 3, 5, 6). BLAS ssyrk for X^T X, LAPACK spotrf/spotri for the factorisations.
#include <cblas.h>
#include <lapacke.h>

#include <cmath>
#include <string>

#include "algorithms/gptq.h"
#include "core/error.h"

namespace lowbit {

GptqHessian::GptqHessian(int64_t n_in) : n_in_(n_in) {
  if (n_in <= 0 || n_in > (int64_t{1} << 20)) fail("gptq", "Hessian size " + std::to_string(n_in) + " is out of range");
  h_.assign(static_cast<size_t>(n_in * n_in), 0.0f);
}

void GptqHessian::add_batch(const float* x, int64_t n_tokens, int64_t n_samples) {
  if (n_tokens < 0 || n_samples < 1) fail("gptq", "add_batch needs n_tokens >= 0 and n_samples >= 1");
  if (n_tokens > 0 && x == nullptr) fail("gptq", "add_batch: no input data");
  for (int64_t i = 0; i < n_tokens * n_in_; ++i)
    if (!std::isfinite(x[i]))
      fail("gptq", "non-finite calibration input at token " + std::to_string(i / n_in_) + ", channel " +
                       std::to_string(i % n_in_));
  if (h_.empty()) fail("gptq", "add_batch after take()");
  const int K = static_cast<int>(n_in_);
  // H *= n / (n + b); n += b; H += (2/n) X^T X   (the running average of GPTQ.add_batch)
  const float decay = static_cast<float>(static_cast<double>(n_samples_) / static_cast<double>(n_samples_ + n_samples));
  n_samples_ += n_samples;
  const float alpha = static_cast<float>(2.0 / static_cast<double>(n_samples_));
  for (float& v : h_) v *= decay;
  if (n_tokens > 0) {
    // Upper triangle of alpha X^T X + H (row-major), then mirror it.
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, K, static_cast<int>(n_tokens), alpha, x, K, 1.0f, h_.data(), K);
  }
  for (int64_t r = 0; r < n_in_; ++r)
    for (int64_t c = r + 1; c < n_in_; ++c) h_[c * n_in_ + r] = h_[r * n_in_ + c];
}

bool gptq_inverse_cholesky(const float* h, int64_t n, float percdamp, std::vector<float>& u) {
  const lapack_int N = static_cast<lapack_int>(n);
  double diag_sum = 0.0;
  for (int64_t k = 0; k < n; ++k) diag_sum += h[k * n + k];
  const float damp = percdamp * static_cast<float>(diag_sum / static_cast<double>(n));
  u.assign(h, h + n * n);
  for (int64_t k = 0; k < n; ++k) u[k * n + k] += damp;

  // The buffer is symmetric, so read it column-major: no transposed copies. Column-major
  // 'U' here is the row-major lower triangle.
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'U', N, u.data(), N) != 0) return false;  // H = R^T R
  if (LAPACKE_spotri(LAPACK_COL_MAJOR, 'U', N, u.data(), N) != 0) return false;  // upper(H^-1)
  // Mirror to the column-major lower triangle, factor H^-1 = L L^T (column-major lower L).
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < j; ++i) u[i * n + j] = u[j * n + i];
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'L', N, u.data(), N) != 0) return false;
  // Read row-major, the buffer's upper triangle is L^T = U with U^T U = H^-1. Clear the
  // rest so nothing reads stale values of H^-1.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < r; ++c) u[r * n + c] = 0.0f;
  for (float v : u)
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace lowbit
