// GPTQ's Hessian accumulation and the damped inverse-Cholesky factor (specs/gptq.md §3
// steps 3, 5, 6). BLAS ssyrk for X^T X, LAPACK spotrf/spotri for the factorisations.
#include <cblas.h>
#include <lapacke.h>

#include <cmath>
#include <string>
#include <utility>

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
  if (n_tokens > 0) {
    // Upper triangle of alpha X^T X + decay H (row-major). ssyrk scales C by beta before it
    // adds, the same float products as the separate "H *= decay" pass this replaces.
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, K, static_cast<int>(n_tokens), alpha, x, K, decay, h_.data(),
                K);
  } else {
    for (int64_t r = 0; r < n_in_; ++r)
      for (int64_t c = r; c < n_in_; ++c) h_[r * n_in_ + c] *= decay;
  }
  lower_stale_ = true;
}

void GptqHessian::mirror() const {
  if (!lower_stale_) return;
  for (int64_t r = 0; r < n_in_; ++r)
    for (int64_t c = r + 1; c < n_in_; ++c) h_[c * n_in_ + r] = h_[r * n_in_ + c];
  lower_stale_ = false;
}

const std::vector<float>& GptqHessian::matrix() const {
  mirror();
  return h_;
}

std::vector<float> GptqHessian::take() {
  mirror();
  return std::move(h_);
}

bool gptq_inverse_cholesky(const float* h, int64_t n, float percdamp, std::vector<float>& u) {
  u.assign(h, h + n * n);
  return gptq_inverse_cholesky_in_place(u.data(), n, percdamp);
}

// Each LAPACK call reads and writes one triangle only ("the strictly lower part is not
// referenced"), so while one triangle is being factored the other keeps H's off-diagonal
// entries, and the diagonal is saved aside: a failure at any step can put H back.
bool gptq_inverse_cholesky_in_place(float* a, int64_t n, float percdamp) {
  const lapack_int N = static_cast<lapack_int>(n);
  double diag_sum = 0.0;
  for (int64_t k = 0; k < n; ++k) diag_sum += a[k * n + k];
  const float damp = percdamp * static_cast<float>(diag_sum / static_cast<double>(n));
  std::vector<float> diag(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    diag[k] = a[k * n + k];
    a[k * n + k] += damp;
  }
  // H back from the saved diagonal and the row-major upper (lower) triangle.
  auto restore = [&](bool from_upper) {
    for (int64_t r = 0; r < n; ++r) {
      a[r * n + r] = diag[r];
      for (int64_t c = r + 1; c < n; ++c) {
        if (from_upper) a[c * n + r] = a[r * n + c];
        else a[r * n + c] = a[c * n + r];
      }
    }
    return false;
  };

  // The buffer is symmetric, so read it column-major: no transposed copies. Column-major
  // 'U' here is the row-major lower triangle; the row-major upper one still holds H.
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'U', N, a, N) != 0) return restore(true);  // H = R^T R
  if (LAPACKE_spotri(LAPACK_COL_MAJOR, 'U', N, a, N) != 0) return restore(true);  // upper(H^-1)
  // Swap the strict triangles: H^-1 goes to the column-major lower triangle (as a mirror
  // would put it), H's off-diagonal entries to the row-major lower one for safe keeping.
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < j; ++i) std::swap(a[i * n + j], a[j * n + i]);
  // Factor H^-1 = L L^T (column-major lower L).
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'L', N, a, N) != 0) return restore(false);
  // Read row-major, the upper triangle is L^T = U with U^T U = H^-1.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = r; c < n; ++c)
      if (!std::isfinite(a[r * n + c])) return restore(false);
  // Clear the rest so nothing reads H's old values.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < r; ++c) a[r * n + c] = 0.0f;
  return true;
}

}  // namespace lowbit
