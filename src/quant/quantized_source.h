// An HF folder whose config.json carries a quantization_config (quant_method gptq, awq, hqq or
// compressed-tensors; lowbit's own output or the peers'), opened for reading: each linear as
// the QuantizedLinear its checkpoint format decodes to (src/io/checkpoints), every other
// tensor as f32. The runtime loader (quantized_loader.h) and `lowbit convert`
// (quantized_to_gguf.h) both read through this, so they agree on what a file means.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "algorithms/quantized_linear.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/weights.h"

namespace lowbit {

// True if path is a directory (or a file in one) whose config.json has quantization_config.
bool hf_dir_is_quantized(const std::string& path);

class QuantizedHfModel {
 public:
  // Throws Error naming config.json if quant_method is missing or unsupported.
  static std::unique_ptr<QuantizedHfModel> open(const std::string& path);
  ~QuantizedHfModel();

  const ModelConfig& config() const { return config_; }
  const std::string& method() const { return method_; }  // "gptq", "awq", "hqq", "compressed-tensors"
  const std::string& config_path() const { return config_path_; }
  const SafetensorsModel& safetensors() const { return *st_; }
  // Hands the mapping over (ModelWeights keeps it alive); this object is unusable after.
  std::unique_ptr<SafetensorsModel> release_safetensors() { return std::move(st_); }

  // The packed linear `module` ("model.layers.0.mlp.up_proj"), checked to be [n_out, n_in];
  // nullopt if the module is stored as a plain ".weight" (a module the quantizer skipped).
  std::optional<QuantizedLinear> linear(const std::string& module, int64_t n_out, int64_t n_in) const;
  // A float tensor converted to f32, checked against shape; empty if absent and not required.
  F32Array f32(const std::string& name, const std::vector<int64_t>& shape, bool required) const;
  // A 2-D float tensor as an owned QMatrix in its stored precision (F32, F16 or BF16: exact,
  // and half the memory of f32 for 16-bit embeddings and heads).
  QMatrix matrix(const std::string& name, const std::vector<int64_t>& shape) const;

 private:
  QuantizedHfModel() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ModelConfig config_;
  std::string method_, config_path_;
  std::unique_ptr<SafetensorsModel> st_;
};

}  // namespace lowbit
