// What checkpoint formats (gptq, awq, hqq, compressed-tensors, bitsandbytes) exchange with the
// files: a packer turns a QuantizedLinear into NamedTensors (name suffix such as "qweight",
// dtype, shape, little-endian bytes); an unpacker reads them back through a TensorSource,
// which looks tensors up by full name ("model.layers.0.mlp.up_proj.qweight") in a
// safetensors model or in memory. The model-level writer prefixes the suffixes with the
// module name (tensor_name below) and hands the bytes to SafetensorsWriter.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace lowbit {

class SafetensorsModel;
class SafetensorsWriter;

struct NamedTensor {
  std::string name;  // suffix within the module: "qweight", "weight_packed", "W_q", ...
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // [] is a 0-d scalar (HQQ writes its metadata so)
  std::vector<uint8_t> bytes;  // n_elems * dtype bytes, little-endian

  int64_t n_elems() const;
  TensorView view() const { return TensorView{bytes.data(), dtype, shape, {}}; }
};

// "model.layers.0.mlp.up_proj" + "qweight" -> "model.layers.0.mlp.up_proj.qweight";
// an empty module gives the suffix alone.
std::string tensor_name(const std::string& module, const std::string& suffix);

NamedTensor make_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data);
NamedTensor make_i32_tensor(std::string name, std::vector<int64_t> shape, const std::vector<int32_t>& v);
// Floats stored as `dtype` (F32, F16 or BF16; round to nearest even, as torch's .to()).
NamedTensor make_float_tensor(std::string name, DType dtype, std::vector<int64_t> shape,
                              const std::vector<float>& v);

// Adds each tensor as tensor_name(module, t.name). The writer copies the bytes only at
// write(), so `tensors` must stay alive (and unmoved) until then.
void add_to_writer(SafetensorsWriter& writer, const std::string& module, const std::vector<NamedTensor>& tensors);

// Where an unpacker finds tensors by full name. find() returns a view into storage that
// lives as long as the source; nullopt if absent.
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual std::optional<TensorView> find(const std::string& name) const = 0;
  virtual std::string where() const = 0;  // the file (or "memory") for error messages
};

// Tensors of a safetensors model (single file or shards); the model must outlive this.
class SafetensorsTensorSource : public TensorSource {
 public:
  explicit SafetensorsTensorSource(const SafetensorsModel& model) : model_(model) {}
  std::optional<TensorView> find(const std::string& name) const override;
  std::string where() const override;

 private:
  const SafetensorsModel& model_;
};

// Tensors held in memory, e.g. what a packer returned, registered under a module name.
class MemoryTensorSource : public TensorSource {
 public:
  void add(const std::string& module, std::vector<NamedTensor> tensors);
  void add(const std::string& module, NamedTensor tensor);
  void remove(const std::string& full_name);
  std::optional<TensorView> find(const std::string& name) const override;
  std::string where() const override { return "memory"; }

 private:
  std::map<std::string, NamedTensor> tensors_;
};

// Checked access for unpackers. Every failure is Error(src.where(), "<name>: reason").
TensorView require_tensor(const TensorSource& src, const std::string& name);
// The tensor must have exactly this shape (dims given; -1 matches anything).
void check_shape(const TensorView& t, const std::vector<int64_t>& shape, const std::string& where,
                 const std::string& name);
void check_dtype(const TensorView& t, DType dtype, const std::string& where, const std::string& name);
// Elements as int32 (I32 as is; I64/I16/I8/U8 by value, I64 range-checked) / as f32 (any
// float dtype).
std::vector<int32_t> tensor_to_i32(const TensorView& t, const std::string& where, const std::string& name);
std::vector<int64_t> tensor_to_i64(const TensorView& t, const std::string& where, const std::string& name);
std::vector<float> tensor_to_f32(const TensorView& t, const std::string& where, const std::string& name);

// Warnings from unpackers: appended to *sink if given, else printed to stderr as
// "lowbit: warning: ...".
void emit_warning(std::vector<std::string>* sink, const std::string& message);

}  // namespace lowbit
