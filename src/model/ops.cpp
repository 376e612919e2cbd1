#include "model/ops.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit {

void rms_norm(const float* x, const float* w, float* y, int n_rows, int n_cols, float eps) {
  for (int r = 0; r < n_rows; ++r) {
    const float* xr = x + static_cast<int64_t>(r) * n_cols;
    float* yr = y + static_cast<int64_t>(r) * n_cols;
    double ss = 0.0;  // double: the mean of squares loses nothing on wide rows
    for (int i = 0; i < n_cols; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / n_cols + eps));
    for (int i = 0; i < n_cols; ++i) yr[i] = xr[i] * scale * w[i];
  }
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void softmax(float* x, int n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

// One threading runtime only: OpenMP splits the output features across threads and each
// thread calls single-threaded BLAS on its slice of W (OpenBLAS's own pool fighting OpenMP's
// spinning workers for two cores made decode 10x slower). Small products stay on one thread.
void linear_f32(const float* x, const float* w, const float* bias, float* y, int m, int n, int k) {
  const double work = static_cast<double>(m) * n * k;
  const int n_threads = work < 2e5 ? 1 : omp_get_max_threads();
  const int n_parts = std::max(1, std::min(n_threads, n / 16));
#pragma omp parallel for num_threads(n_parts) schedule(static) if (n_parts > 1)
  for (int part = 0; part < n_parts; ++part) {
    // Slices are multiples of 16 rows so each starts cache-line aligned in W and y.
    const int chunk = ((n + n_parts - 1) / n_parts + 15) / 16 * 16;
    const int n0 = part * chunk;
    const int n1 = std::min(n, n0 + chunk);
    if (n0 >= n1) continue;
    const float* wp = w + static_cast<int64_t>(n0) * k;
    if (m == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n1 - n0, k, 1.0f, wp, k, x, 1, 0.0f, y + n0, 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n1 - n0, k, 1.0f, x, k, wp, k, 0.0f, y + n0, n);
    }
    if (bias)
      for (int r = 0; r < m; ++r)
        for (int i = n0; i < n1; ++i) y[static_cast<int64_t>(r) * n + i] += bias[i];
  }
}

}  // namespace lowbit
