#include "model/weights.h"

#include <cstdint>
#include <cstring>
#include <filesystem>

#include "core/convert.h"
#include "core/error.h"

namespace lowbit {
namespace {

class Loader {
 public:
  Loader(const SafetensorsModel& st, ModelWeights& w) : st_(st), w_(w) {}

  F32Array get(const std::string& name, std::vector<int64_t> shape, bool required = true) {
    F32Array a;
    const SafetensorsTensor* t = st_.find(name);
    if (!t) {
      if (required) fail(st_.path(), "missing tensor " + name);
      return a;
    }
    if (t->shape != shape)
      fail(t->file, "tensor " + name + " has shape " + shape_str(t->shape) + ", config expects " + shape_str(shape));
    if (!dtype_is_float(t->dtype))
      fail(t->file, "tensor " + name + " has non-float dtype " + std::string(dtype_name(t->dtype)));
    a.shape = shape;
    const size_t n = t->n_bytes / dtype_n_bytes(t->dtype);
    if (t->dtype == DType::F32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0) {
      a.data = reinterpret_cast<const float*>(t->data);
    } else {
      a.owned.resize(n);
      convert_to_f32(t->dtype, t->data, a.owned.data(), n);
      a.data = a.owned.data();
    }
    w_.n_params += n;
    return a;
  }

 private:
  const SafetensorsModel& st_;
  ModelWeights& w_;
};

}  // namespace

const char* linear_kind_name(LinearKind k) {
  static const char* names[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names[static_cast<int>(k)];
}

QMatrix f32_matrix(F32Array&& a) {
  QMatrix m;
  m.format = FormatId::F32;
  m.n_rows = a.shape.size() == 2 ? a.shape[0] : 1;
  m.n_cols = a.shape.back();
  m.row_bytes = static_cast<size_t>(m.n_cols) * sizeof(float);
  if (!a.owned.empty()) {
    m.owned.resize(a.owned.size() * sizeof(float));
    std::memcpy(m.owned.data(), a.owned.data(), m.owned.size());
    m.data = m.owned.data();
  } else {
    m.data = reinterpret_cast<const uint8_t*>(a.data);
  }
  return m;
}

std::unique_ptr<ModelWeights> load_hf_weights(const std::string& dir) {
  auto w = std::make_unique<ModelWeights>();
  w->config = load_hf_config(dir);
  w->source = SafetensorsModel::open(dir);
  const ModelConfig& c = w->config;
  Loader ld(*w->source, *w);
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t QD = c.q_dim(), KVD = c.kv_dim();

  w->embed = f32_matrix(ld.get("model.embed_tokens.weight", {V, H}));
  w->norm = ld.get("model.norm.weight", {H});
  const bool has_head = w->source->find("lm_head.weight") != nullptr;
  if (has_head) {
    w->lm_head = f32_matrix(ld.get("lm_head.weight", {V, H}));
  } else if (c.tie_word_embeddings) {
    w->lm_head = QMatrix::view_of(w->embed);
  } else {
    fail(w->source->path(), "missing tensor lm_head.weight (config says tie_word_embeddings is false)");
  }

  w->layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& L = w->layers[l];
    L.attn_norm = ld.get(p + "input_layernorm.weight", {H});
    L.ffn_norm = ld.get(p + "post_attention_layernorm.weight", {H});
    L.q = f32_matrix(ld.get(p + "self_attn.q_proj.weight", {QD, H}));
    L.k = f32_matrix(ld.get(p + "self_attn.k_proj.weight", {KVD, H}));
    L.v = f32_matrix(ld.get(p + "self_attn.v_proj.weight", {KVD, H}));
    L.o = f32_matrix(ld.get(p + "self_attn.o_proj.weight", {H, QD}));
    L.q_bias = ld.get(p + "self_attn.q_proj.bias", {QD}, c.qkv_bias);
    L.k_bias = ld.get(p + "self_attn.k_proj.bias", {KVD}, c.qkv_bias);
    L.v_bias = ld.get(p + "self_attn.v_proj.bias", {KVD}, c.qkv_bias);
    L.o_bias = ld.get(p + "self_attn.o_proj.bias", {H}, c.o_bias);
    if (c.qk_norm) {
      L.q_norm = ld.get(p + "self_attn.q_norm.weight", {c.head_dim});
      L.k_norm = ld.get(p + "self_attn.k_norm.weight", {c.head_dim});
    }
    L.gate = f32_matrix(ld.get(p + "mlp.gate_proj.weight", {F, H}));
    L.up = f32_matrix(ld.get(p + "mlp.up_proj.weight", {F, H}));
    L.down = f32_matrix(ld.get(p + "mlp.down_proj.weight", {H, F}));
    L.gate_bias = ld.get(p + "mlp.gate_proj.bias", {F}, c.mlp_bias);
    L.up_bias = ld.get(p + "mlp.up_proj.bias", {F}, c.mlp_bias);
    L.down_bias = ld.get(p + "mlp.down_proj.bias", {H}, c.mlp_bias);
  }
  return w;
}

size_t ModelWeights::n_bytes() const {
  auto vec = [](const F32Array& a) {
    size_t n = a.data ? sizeof(float) : 0;
    for (int64_t d : a.shape) n *= static_cast<size_t>(d);
    return n;
  };
  size_t n = embed.n_bytes() + vec(norm) + (lm_head.data == embed.data ? 0 : lm_head.n_bytes());
  for (const LayerWeights& L : layers) {
    for (const F32Array* a : {&L.attn_norm, &L.ffn_norm, &L.q_bias, &L.k_bias, &L.v_bias, &L.o_bias, &L.q_norm,
                              &L.k_norm, &L.gate_bias, &L.up_bias, &L.down_bias})
      n += vec(*a);
    for (int k = 0; k < kNumLinearKinds; ++k) n += L.linear(static_cast<LinearKind>(k)).n_bytes();
  }
  return n;
}

}  // namespace lowbit
