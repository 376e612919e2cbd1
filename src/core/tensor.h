// A non-owning view of a tensor: pointer, dtype, shape and strides (in elements).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace lowbit {

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements; empty means row-major contiguous

  int64_t n_elems() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  size_t n_bytes() const { return static_cast<size_t>(n_elems()) * dtype_n_bytes(dtype); }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : i); }
  bool contiguous() const;
  std::vector<int64_t> contiguous_strides() const;
};

std::string shape_str(const std::vector<int64_t>& shape);  // "[64, 512]"

}  // namespace lowbit
