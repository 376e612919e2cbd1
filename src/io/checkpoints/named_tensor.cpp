#include "io/checkpoints/named_tensor.h"

#include <cstdio>
#include <cstring>
#include <limits>

#include "core/convert.h"
#include "core/error.h"
#include "io/safetensors.h"

namespace lowbit {

int64_t NamedTensor::n_elems() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string tensor_name(const std::string& module, const std::string& suffix) {
  return module.empty() ? suffix : module + "." + suffix;
}

NamedTensor make_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data) {
  NamedTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  const size_t n_bytes = static_cast<size_t>(t.n_elems()) * dtype_n_bytes(dtype);
  t.bytes.resize(n_bytes);
  if (n_bytes) std::memcpy(t.bytes.data(), data, n_bytes);
  return t;
}

NamedTensor make_i32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<int32_t>& v) {
  NamedTensor t = make_tensor(std::move(name), DType::I32, std::move(shape), v.data());
  if (static_cast<size_t>(t.n_elems()) != v.size()) fail("", "make_i32_tensor: shape does not match the values");
  return t;
}

NamedTensor make_float_tensor(std::string name, DType dtype, std::vector<int64_t> shape,
                              const std::vector<float>& v) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail("", "scales must be stored as F32, F16 or BF16, not " + std::string(dtype_name(dtype)));
  NamedTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = std::move(shape);
  if (static_cast<size_t>(t.n_elems()) != v.size()) fail("", "make_float_tensor: shape does not match the values");
  t.bytes.resize(v.size() * dtype_n_bytes(dtype));
  convert_from_f32(dtype, v.data(), t.bytes.data(), v.size());
  return t;
}

void add_to_writer(SafetensorsWriter& writer, const std::string& module, const std::vector<NamedTensor>& tensors) {
  for (const auto& t : tensors) writer.add(tensor_name(module, t.name), t.dtype, t.shape, t.bytes.data());
}

std::optional<TensorView> SafetensorsTensorSource::find(const std::string& name) const {
  const SafetensorsTensor* t = model_.find(name);
  if (!t) return std::nullopt;
  return t->view();
}

std::string SafetensorsTensorSource::where() const { return model_.path(); }

void MemoryTensorSource::add(const std::string& module, std::vector<NamedTensor> tensors) {
  for (auto& t : tensors) add(module, std::move(t));
}

void MemoryTensorSource::add(const std::string& module, NamedTensor tensor) {
  const std::string full = tensor_name(module, tensor.name);
  tensors_[full] = std::move(tensor);
}

void MemoryTensorSource::remove(const std::string& full_name) { tensors_.erase(full_name); }

std::optional<TensorView> MemoryTensorSource::find(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return std::nullopt;
  return it->second.view();
}

TensorView require_tensor(const TensorSource& src, const std::string& name) {
  auto t = src.find(name);
  if (!t) fail(src.where(), name + ": tensor is missing");
  return *t;
}

void check_shape(const TensorView& t, const std::vector<int64_t>& shape, const std::string& where,
                 const std::string& name) {
  bool ok = t.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == t.shape[i];
  if (!ok) fail(where, name + ": shape " + shape_str(t.shape) + ", expected " + shape_str(shape));
}

void check_dtype(const TensorView& t, DType dtype, const std::string& where, const std::string& name) {
  if (t.dtype != dtype)
    fail(where, name + ": dtype " + std::string(dtype_name(t.dtype)) + ", expected " +
                    std::string(dtype_name(dtype)));
}

namespace {
template <typename T>
T load(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const uint8_t*>(base) + i * sizeof(T), sizeof(T));
  return v;
}
}  // namespace

std::vector<int64_t> tensor_to_i64(const TensorView& t, const std::string& where, const std::string& name) {
  const size_t n = static_cast<size_t>(t.n_elems());
  std::vector<int64_t> out(n);
  switch (t.dtype) {
    case DType::I64: for (size_t i = 0; i < n; ++i) out[i] = load<int64_t>(t.data, i); break;
    case DType::I32: for (size_t i = 0; i < n; ++i) out[i] = load<int32_t>(t.data, i); break;
    case DType::I16: for (size_t i = 0; i < n; ++i) out[i] = load<int16_t>(t.data, i); break;
    case DType::I8: for (size_t i = 0; i < n; ++i) out[i] = load<int8_t>(t.data, i); break;
    case DType::U8:
    case DType::BOOL: for (size_t i = 0; i < n; ++i) out[i] = load<uint8_t>(t.data, i); break;
    default: fail(where, name + ": expected an integer tensor, got " + std::string(dtype_name(t.dtype)));
  }
  return out;
}

std::vector<int32_t> tensor_to_i32(const TensorView& t, const std::string& where, const std::string& name) {
  if (t.dtype == DType::I32) {
    const size_t n = static_cast<size_t>(t.n_elems());
    std::vector<int32_t> out(n);
    if (n) std::memcpy(out.data(), t.data, n * sizeof(int32_t));
    return out;
  }
  const std::vector<int64_t> wide = tensor_to_i64(t, where, name);
  std::vector<int32_t> out(wide.size());
  for (size_t i = 0; i < wide.size(); ++i) {
    if (wide[i] < std::numeric_limits<int32_t>::min() || wide[i] > std::numeric_limits<int32_t>::max())
      fail(where, name + ": value " + std::to_string(wide[i]) + " does not fit in int32");
    out[i] = static_cast<int32_t>(wide[i]);
  }
  return out;
}

std::vector<float> tensor_to_f32(const TensorView& t, const std::string& where, const std::string& name) {
  if (!dtype_is_float(t.dtype))
    fail(where, name + ": expected a float tensor, got " + std::string(dtype_name(t.dtype)));
  const size_t n = static_cast<size_t>(t.n_elems());
  std::vector<float> out(n);
  convert_to_f32(t.dtype, t.data, out.data(), n);
  return out;
}

void emit_warning(std::vector<std::string>* sink, const std::string& message) {
  if (sink) {
    sink->push_back(message);
  } else {
    std::fprintf(stderr, "lowbit: warning: %s\n", message.c_str());
  }
}

}  // namespace lowbit
