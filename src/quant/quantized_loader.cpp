#include "quant/quantized_loader.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/convert.h"
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

fs::path config_path(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  return fs::is_directory(p, ec) ? p / "config.json" : p.parent_path() / "config.json";
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);
}

F32Array to_f32(const SafetensorsModel& st, const std::string& name, const std::vector<int64_t>& shape, bool required) {
  F32Array a;
  const SafetensorsTensor* t = st.find(name);
  if (!t) {
    if (required) fail(st.path(), "missing tensor " + name);
    return a;
  }
  if (t->shape != shape)
    fail(t->file, "tensor " + name + " has shape " + shape_str(t->shape) + ", config expects " + shape_str(shape));
  if (!dtype_is_float(t->dtype)) fail(t->file, "tensor " + name + " is not a float tensor");
  a.shape = shape;
  a.owned.resize(t->n_bytes / dtype_n_bytes(t->dtype));
  convert_to_f32(t->dtype, t->data, a.owned.data(), a.owned.size());
  a.data = a.owned.data();
  return a;
}

class LinearDecoder {
 public:
  LinearDecoder(const SafetensorsModel& st, const nlohmann::json& qc, const std::string& where)
      : st_(st), src_(st), where_(where) {
    method_ = qc.value("quant_method", "");
    if (method_ == "gptq") gptq_ = gptq_config_from_json(qc, where);
    else if (method_ == "awq") awq_ = awq_config_from_json(qc, where);
    else if (method_ == "compressed-tensors") ct_ = ct_config_from_json(qc, where);
    else if (method_ != "hqq")
      fail(where, "quantization_config quant_method \"" + method_ + "\" is not supported (gptq, awq, hqq, "
                  "compressed-tensors)");
  }

  // The linear's f32 weight [n_out, n_in], decoded from whatever the module holds.
  F32Array decode(const std::string& module, int64_t n_out, int64_t n_in) {
    std::optional<QuantizedLinear> q;
    auto has = [&](const char* suffix) { return st_.find(tensor_name(module, suffix)) != nullptr; };
    if (method_ == "gptq" && has("qweight")) q = gptq_unpack(src_, module, gptq_, nullptr);
    else if (method_ == "awq" && has("qweight")) q = awq_unpack(src_, module, awq_);
    else if (method_ == "hqq" && has("W_q")) q = hqq_unpack(src_, module);
    else if (method_ == "compressed-tensors" && has("weight_packed")) {
      const CtScheme* s = ct_scheme_for(ct_, module);
      if (!s || !s->weights) fail(where_, module + " has packed weights but no scheme in quantization_config");
      q = ct_unpack(src_, module, *s->weights);
    }
    if (!q) return to_f32(st_, module + ".weight", {n_out, n_in}, true);
    if (q->n_out != n_out || q->n_in != n_in)
      fail(where_, module + " decodes to [" + std::to_string(q->n_out) + ", " + std::to_string(q->n_in) +
                       "], config expects [" + std::to_string(n_out) + ", " + std::to_string(n_in) + "]");
    F32Array a;
    a.shape = {n_out, n_in};
    a.owned.resize(static_cast<size_t>(n_out * n_in));
    q->dequantize(a.owned.data());
    a.data = a.owned.data();
    return a;
  }

 private:
  const SafetensorsModel& st_;
  SafetensorsTensorSource src_;
  std::string where_, method_;
  GptqConfig gptq_;
  AwqConfig awq_;
  CtConfig ct_;
};

}  // namespace

bool hf_dir_is_quantized(const std::string& path) {
  std::error_code ec;
  const fs::path cp = config_path(path);
  if (!fs::is_regular_file(cp, ec)) return false;
  const nlohmann::json j = read_json(cp);
  return j.is_object() && j.contains("quantization_config") && j["quantization_config"].is_object();
}

std::unique_ptr<ModelWeights> load_quantized_hf_weights(const std::string& dir) {
  auto w = std::make_unique<ModelWeights>();
  const fs::path cp = config_path(dir);
  w->config = load_hf_config(cp.string());
  const nlohmann::json j = read_json(cp);
  w->source = SafetensorsModel::open(dir);
  const ModelConfig& c = w->config;
  const SafetensorsModel& st = *w->source;
  LinearDecoder dec(st, j.at("quantization_config"), cp.string());
  const int64_t H = c.hidden_size, V = c.vocab_size;

  w->embed = f32_matrix(to_f32(st, "model.embed_tokens.weight", {V, H}, true));
  w->norm = to_f32(st, "model.norm.weight", {H}, true);
  if (st.find("lm_head.weight")) w->lm_head = f32_matrix(to_f32(st, "lm_head.weight", {V, H}, true));
  else if (c.tie_word_embeddings) w->lm_head = QMatrix::view_of(w->embed);
  else fail(st.path(), "missing tensor lm_head.weight (config says tie_word_embeddings is false)");
  size_t n_params = static_cast<size_t>(V * H + H);

  w->layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& L = w->layers[l];
    L.attn_norm = to_f32(st, p + "input_layernorm.weight", {H}, true);
    L.ffn_norm = to_f32(st, p + "post_attention_layernorm.weight", {H}, true);
    if (c.qk_norm) {
      L.q_norm = to_f32(st, p + "self_attn.q_norm.weight", {c.head_dim}, true);
      L.k_norm = to_f32(st, p + "self_attn.k_norm.weight", {c.head_dim}, true);
    }
    QMatrix* mats[] = {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down};
    F32Array* biases[] = {&L.q_bias, &L.k_bias, &L.v_bias, &L.o_bias, &L.gate_bias, &L.up_bias, &L.down_bias};
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const auto kind = static_cast<LinearKind>(k);
      const auto [n_out, n_in] = linear_shape(c, kind);
      const std::string m = linear_module_name(l, kind);
      *mats[k] = f32_matrix(dec.decode(m, n_out, n_in));
      const bool has_bias = kind == LinearKind::O ? c.o_bias : kind <= LinearKind::V ? c.qkv_bias : c.mlp_bias;
      *biases[k] = to_f32(st, m + ".bias", {n_out}, has_bias);
      n_params += static_cast<size_t>(n_out * n_in);
    }
  }
  w->n_params = n_params;
  return w;
}

}  // namespace lowbit
