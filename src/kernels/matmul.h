// y[m x n_rows] = x[m x n_cols] * W^T (+ bias): the one entry point the runtime uses for every
// linear layer, whatever W's format. F32 goes to BLAS; other formats go through the
// reference path (dequantize a tile of rows, then BLAS) until a format gets its own
// optimized kernel, chosen here at run time.
#pragma once
#include "kernels/qmatrix.h"

namespace lowbit {

void matmul(const QMatrix& w, const float* x, int m, float* y, const float* bias = nullptr);
// One row of W as f32 (embedding lookup).
void matrix_row_f32(const QMatrix& w, int64_t row, float* out);

}  // namespace lowbit
