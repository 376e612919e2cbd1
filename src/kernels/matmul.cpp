// matmul for any registry format. F32: BLAS. Formats with an integer dot kernel (kernels/dot.h):
// activations quantized to 8 bits, integer dot products (ggml's numerics). Others: dequantize
// up to kTileRows rows of W into a per-thread f32 tile, then BLAS on the tile (exact with
// respect to the format's dequantizer). Threads split the rows of W.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/act_q8.h"
#include "kernels/dot.h"
#include "kernels/repack.h"
#include "kernels/matmul.h"
#include "model/ops.h"

namespace lowbit {
namespace {
constexpr int kTileRows = 64;
constexpr int kMaxDotRows = 8;
}

void matrix_row_f32(const QMatrix& w, int64_t row, float* out) {
  if (!w.data && w.repacked) {
    repacked_row_f32(*w.repacked, row, out);
    return;
  }
  if (!w.col_perm.empty()) {  // stored columns are permuted: scatter them back
    thread_local std::vector<float> tmp;
    tmp.resize(static_cast<size_t>(w.n_cols));
    dequantize_rows(w.format, w.row(row), tmp.data(), 1, w.n_cols);
    for (int64_t j = 0; j < w.n_cols; ++j) out[w.col_perm[j]] = tmp[j];
    return;
  }
  if (w.format == FormatId::F32) {
    std::memcpy(out, w.row(row), static_cast<size_t>(w.n_cols) * sizeof(float));
    return;
  }
  dequantize_rows(w.format, w.row(row), out, 1, w.n_cols);
}

namespace {

// Integer path: activations quantized once per call to the kernel's 8-bit format, then one
// dot product per (weight row, activation row); threads split the weight rows.
void matmul_dot(const DotKernel& dk, const QMatrix& w, const float* x, int m, float* y, const float* bias) {
  const int n = static_cast<int>(w.n_rows);
  const int64_t k = w.n_cols;
  const size_t act_row_bytes = format(dk.act).row_bytes(k);
  thread_local std::vector<uint8_t> xq;  // grows once, reused: no allocation per token
  if (xq.size() < act_row_bytes * m) xq.resize(act_row_bytes * m);
  quantize_rows(dk.act, x, xq.data(), m, k);
  const uint8_t* xqd = xq.data();
  constexpr int kRowTile = 16;
  const int n_tiles = (n + kRowTile - 1) / kRowTile;
  const double work = static_cast<double>(m) * n * k;
#pragma omp parallel for schedule(static) if (work > 1e5)
  for (int t = 0; t < n_tiles; ++t) {
    const int r1 = std::min(n, (t + 1) * kRowTile);
    for (int i = 0; i < m; ++i) {
      const uint8_t* a = xqd + act_row_bytes * i;
      float* yi = y + static_cast<size_t>(i) * n;
      for (int r = t * kRowTile; r < r1; ++r) yi[r] = dk.fn(k, w.row(r), a) + (bias ? bias[r] : 0.0f);
    }
  }
}

// Repacked path: activations quantized once per call, then threads split the 16-row groups;
// every thread runs the same kernel over all activation rows (decode and prompt alike).
void matmul_repacked(const RepackedMatrix& w, const float* x, int m, float* y, const float* bias) {
  // Quantized once by the calling thread; the team reads it through this reference (naming
  // the thread_local inside the parallel region would give each worker its own, empty copy).
  thread_local ActQ8 act_storage;  // grows once, reused: no allocation per token
  ActQ8& act = act_storage;
  quantize_act_q8(x, m, w.n_cols, act);
  const RepackedGemmFn fn = w.traits->for_isa(active_isa());
  const int64_t n_groups = w.n_groups();
  const double work = static_cast<double>(m) * w.n_rows * w.n_cols;
#pragma omp parallel if (work > 1e5)
  {
    const int64_t nt = omp_get_num_threads(), it = omp_get_thread_num();
    const int64_t g0 = n_groups * it / nt, g1 = n_groups * (it + 1) / nt;
    if (g1 > g0) fn(w, act, g0, g1, y, w.n_rows);
  }
  if (bias)
    for (int i = 0; i < m; ++i)
      for (int64_t r = 0; r < w.n_rows; ++r) y[static_cast<size_t>(i) * w.n_rows + r] += bias[r];
}

}  // namespace

void matmul(
const QMatrix& w, const float* x, int m, float* y, const float* bias) {
  const int n = static_cast<int>(w.n_rows), k = static_cast<int>(w.n_cols);
  if (!w.col_perm.empty()) {
    // Act-order weights: gather the activations into the stored column order once per call.
    thread_local std::vector<float> xp;  // grows once, reused
    if (xp.size() < static_cast<size_t>(m) * k) xp.resize(static_cast<size_t>(m) * k);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < k; ++j) xp[static_cast<size_t>(i) * k + j] = x[static_cast<size_t>(i) * k + w.col_perm[j]];
    x = xp.data();
  }
  if (w.repacked) {
    matmul_repacked(*w.repacked, x, m, y, bias);
    return;
  }
  if (w.format == FormatId::F32) {
    linear_f32(x, reinterpret_cast<const float*>(w.data), bias, y, m, n, k);
    return;
  }
  // Integer dot products (one weight row at a time) win for a few activation rows (decode:
  // the weights stream from memory once). For a prompt, dequantized tiles + BLAS GEMM are
  // faster until the blocked integer GEMM kernels arrive.
  if (const DotKernel* dk = find_dot_kernel(w.format, active_isa()); dk && m <= kMaxDotRows) {
    matmul_dot(*dk, w, x, m, y, bias);
    return;
  }
  const FormatTraits& f = format(w.format);
  const int n_tiles = (n + kTileRows - 1) / kTileRows;
  const double work = static_cast<double>(m + 4) * n * k;  // dequantization counts too
#pragma omp parallel if (work > 2e5)
  {
    std::vector<float> tile(static_cast<size_t>(kTileRows) * k);
#pragma omp for schedule(static)
    for (int t = 0; t < n_tiles; ++t) {
      const int r0 = t * kTileRows, r1 = std::min(n, r0 + kTileRows), nr = r1 - r0;
      for (int r = r0; r < r1; ++r) f.dequantize(w.row(r), &tile[static_cast<size_t>(r - r0) * k], k);
      if (m == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, nr, k, 1.0f, tile.data(), k, x, 1, 0.0f, y + r0, 1);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, nr, k, 1.0f, x, k, tile.data(), k, 0.0f, y + r0, n);
      if (bias)
        for (int i = 0; i < m; ++i)
          for (int r = r0; r < r1; ++r) y[static_cast<size_t>(i) * n + r] += bias[r];
    }
  }
}

}  // namespace lowbit
