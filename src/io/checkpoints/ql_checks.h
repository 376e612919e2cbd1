// Checks and small layout helpers shared by the checkpoint packers and unpackers: a packer
// validates the QuantizedLinear it is given (sizes, code and zero ranges) before it writes
// a byte, so a bad algorithm output is an Error, never a corrupt file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "algorithms/quantized_linear.h"

namespace lowbit {

// Sizes consistent (codes n_out*n_in, scales/zeros n_out*n_groups, g_idx empty or n_in
// entries in [0, n_groups)), 1 <= bits <= 8, every code < 2^bits. `who` names the format
// in the Error ("gptq_pack").
void check_quantized_linear(const QuantizedLinear& q, const std::string& who);

// Zero points as integers in [0, 2^bits) ([n_out * n_groups]); an Error names the first one
// that is not (GPTQ/AWQ/compressed-tensors store integer zero points).
std::vector<uint8_t> integer_zeros(const QuantizedLinear& q, const std::string& who);

// g_idx[i] == i / group_size for every column (or g_idx empty).
bool g_idx_is_trivial(const std::vector<int32_t>& g_idx, int64_t group_size);
// q.g_idx, or i / group_size when it is empty.
std::vector<int32_t> g_idx_or_default(const QuantizedLinear& q);

// [rows, cols] row-major -> [cols, rows] row-major.
template <typename T>
std::vector<T> transposed(const std::vector<T>& a, int64_t rows, int64_t cols) {
  std::vector<T> t(a.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = a[r * cols + c];
  return t;
}

}  // namespace lowbit
