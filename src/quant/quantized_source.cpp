#include "quant/quantized_source.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/awq.h"
#include "io/checkpoints/compressed_tensors.h"
#include "io/checkpoints/gptq.h"
#include "io/checkpoints/hqq.h"
#include "io/checkpoints/named_tensor.h"
#include "quant/layer_forward.h"

namespace lowbit {
namespace fs = std::filesystem;
namespace {

fs::path config_file(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  return fs::is_directory(p, ec) ? p / "config.json" : p.parent_path() / "config.json";
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);
}

}  // namespace

struct QuantizedHfModel::Impl {
  std::unique_ptr<SafetensorsTensorSource> src;
  GptqConfig gptq;
  AwqConfig awq;
  CtConfig ct;
};

QuantizedHfModel::~QuantizedHfModel() = default;

bool hf_dir_is_quantized(const std::string& path) {
  std::error_code ec;
  const fs::path cp = config_file(path);
  if (!fs::is_regular_file(cp, ec)) return false;
  const nlohmann::json j = read_json(cp);
  return j.is_object() && j.contains("quantization_config") && j["quantization_config"].is_object();
}

std::unique_ptr<QuantizedHfModel> QuantizedHfModel::open(const std::string& path) {
  std::unique_ptr<QuantizedHfModel> m(new QuantizedHfModel());
  const fs::path cp = config_file(path);
  m->config_path_ = cp.string();
  m->config_ = load_hf_config(m->config_path_);
  const nlohmann::json j = read_json(cp);
  if (!j.is_object() || !j.contains("quantization_config") || !j["quantization_config"].is_object())
    fail(m->config_path_, "has no quantization_config object");
  const nlohmann::json& qc = j["quantization_config"];
  m->method_ = qc.contains("quant_method") && qc["quant_method"].is_string() ? qc["quant_method"].get<std::string>() : "";
  m->impl_ = std::make_unique<Impl>();
  const std::string& where = m->config_path_;
  if (m->method_ == "gptq") m->impl_->gptq = gptq_config_from_json(qc, where);
  else if (m->method_ == "awq") m->impl_->awq = awq_config_from_json(qc, where);
  else if (m->method_ == "compressed-tensors") m->impl_->ct = ct_config_from_json(qc, where);
  else if (m->method_ != "hqq")
    fail(where, "quantization_config quant_method \"" + m->method_ +
                    "\" is not supported (gptq, awq, hqq, compressed-tensors)");
  m->st_ = SafetensorsModel::open(fs::is_directory(fs::path(path)) ? path : cp.parent_path().string());
  m->impl_->src = std::make_unique<SafetensorsTensorSource>(*m->st_);
  return m;
}

std::optional<QuantizedLinear> QuantizedHfModel::linear(const std::string& module, int64_t n_out,
                                                        int64_t n_in) const {
  const SafetensorsTensorSource& src = *impl_->src;
  auto has = [&](const char* suffix) { return st_->find(tensor_name(module, suffix)) != nullptr; };
  std::optional<QuantizedLinear> q;
  if (method_ == "gptq" && has("qweight")) q = gptq_unpack(src, module, impl_->gptq, nullptr);
  else if (method_ == "awq" && has("qweight")) q = awq_unpack(src, module, impl_->awq);
  else if (method_ == "hqq" && has("W_q")) q = hqq_unpack(src, module);
  else if (method_ == "compressed-tensors" && has("weight_packed")) {
    const CtScheme* s = ct_scheme_for(impl_->ct, module);
    if (!s || !s->weights) fail(config_path_, module + " has packed weights but no scheme in quantization_config");
    q = ct_unpack(src, module, *s->weights);
  }
  if (q && (q->n_out != n_out || q->n_in != n_in))
    fail(config_path_, module + " decodes to [" + std::to_string(q->n_out) + ", " + std::to_string(q->n_in) +
                           "], config expects [" + std::to_string(n_out) + ", " + std::to_string(n_in) + "]");
  return q;
}

F32Array QuantizedHfModel::f32(const std::string& name, const std::vector<int64_t>& shape, bool required) const {
  F32Array a;
  a.owned = read_f32_tensor(*st_, name, shape, required);
  if (a.owned.empty()) return a;  // absent and not required
  a.shape = shape;
  a.data = a.owned.data();
  return a;
}
QMatrix QuantizedHfModel::matrix(const std::string& name, const std::vector<int64_t>& shape) const {
  const SafetensorsTensor* t = st_->find(name);
  if (!t || (t->dtype != DType::F16 && t->dtype != DType::BF16)) return f32_matrix(f32(name, shape, true));
  if (t->shape != shape)
    fail(t->file, "tensor " + name + " has shape " + shape_str(t->shape) + ", config expects " + shape_str(shape));
  QMatrix m;
  m.format = t->dtype == DType::F16 ? FormatId::F16 : FormatId::BF16;
  m.n_rows = shape[0];
  m.n_cols = shape[1];
  m.row_bytes = static_cast<size_t>(shape[1]) * 2;
  m.owned.assign(t->data, t->data + m.n_bytes());
  m.data = m.owned.data();
  return m;
}

}  // namespace lowbit
