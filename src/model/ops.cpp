#include "model/ops.h"

#include <cblas.h>

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

void linear_f32(const float* x, const float* w, const float* bias, float* y, int m, int n, int k) {
  if (m == 1) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, w, k, x, 1, 0.0f, y, 1);
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, w, k, 0.0f, y, n);
  }
  if (bias)
    for (int r = 0; r < m; ++r)
      for (int i = 0; i < n; ++i) y[static_cast<int64_t>(r) * n + i] += bias[i];
}

}  // namespace lowbit
