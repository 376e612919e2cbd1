// A weight matrix as the kernels see it: n_rows x n_cols (PyTorch Linear layout, one row per
// output feature), each row stored contiguously in one registry format. The kernels never
// know which algorithm produced the values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "formats/registry.h"
#include "kernels/repack.h"

namespace lowbit {

struct QMatrix {
  FormatId format = FormatId::F32;
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  const uint8_t* data = nullptr;  // n_rows * row_bytes; points into a mapping or into owned
  std::vector<uint8_t> owned;
  size_t row_bytes = 0;
  // Act-order checkpoints (quant/repack_linear.h): column j of the stored rows is input
  // feature col_perm[j], so matmul multiplies with x[col_perm[j]]. Empty: the identity.
  std::vector<int32_t> col_perm;
  // Set when the matrix was repacked at load for the integer kernels (kernels/repack.h); then
  // matmul uses only this, and data may be null (the source bytes released).
  std::shared_ptr<const RepackedMatrix> repacked;

  QMatrix() = default;
  QMatrix(QMatrix&&) = default;
  QMatrix& operator=(QMatrix&&) = default;
  QMatrix(const QMatrix&) = delete;  // data may point into owned: copies would dangle
  QMatrix& operator=(const QMatrix&) = delete;

  explicit operator bool() const { return data != nullptr || repacked != nullptr; }
  const uint8_t* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes; }
  size_t n_bytes() const { return data || !repacked ? static_cast<size_t>(n_rows) * row_bytes : repacked->bytes.size(); }
  // A view sharing another matrix's bytes (tied embeddings).
  static QMatrix view_of(const QMatrix& m) {
    QMatrix v;
    v.format = m.format;
    v.n_rows = m.n_rows;
    v.n_cols = m.n_cols;
    v.data = m.data;
    v.row_bytes = m.row_bytes;
    v.col_perm = m.col_perm;
    v.repacked = m.repacked;
    return v;
  }
};

}  // namespace lowbit
