#include "quant/quantized_loader.h"

#include "core/error.h"
#include "quant/layer_forward.h"

namespace lowbit {

std::unique_ptr<ModelWeights> load_quantized_hf_weights(const std::string& dir) {
  auto w = std::make_unique<ModelWeights>();
  const auto qm = QuantizedHfModel::open(dir);
  w->config = qm->config();
  const ModelConfig& c = w->config;
  const int64_t H = c.hidden_size, V = c.vocab_size;

  w->embed = f32_matrix(qm->f32("model.embed_tokens.weight", {V, H}, true));
  w->norm = qm->f32("model.norm.weight", {H}, true);
  if (qm->safetensors().find("lm_head.weight")) w->lm_head = f32_matrix(qm->f32("lm_head.weight", {V, H}, true));
  else if (c.tie_word_embeddings) w->lm_head = QMatrix::view_of(w->embed);
  else fail(qm->safetensors().path(), "missing tensor lm_head.weight (config says tie_word_embeddings is false)");
  size_t n_params = static_cast<size_t>(V * H + H);

  w->layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& L = w->layers[l];
    L.attn_norm = qm->f32(p + "input_layernorm.weight", {H}, true);
    L.ffn_norm = qm->f32(p + "post_attention_layernorm.weight", {H}, true);
    if (c.qk_norm) {
      L.q_norm = qm->f32(p + "self_attn.q_norm.weight", {c.head_dim}, true);
      L.k_norm = qm->f32(p + "self_attn.k_norm.weight", {c.head_dim}, true);
    }
    QMatrix* mats[] = {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down};
    F32Array* biases[] = {&L.q_bias, &L.k_bias, &L.v_bias, &L.o_bias, &L.gate_bias, &L.up_bias, &L.down_bias};
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const auto kind = static_cast<LinearKind>(k);
      const auto [n_out, n_in] = linear_shape(c, kind);
      const std::string m = linear_module_name(l, kind);
      if (auto q = qm->linear(m, n_out, n_in)) {
        F32Array a;
        a.shape = {n_out, n_in};
        a.owned.resize(static_cast<size_t>(n_out * n_in));
        q->dequantize(a.owned.data());
        a.data = a.owned.data();
        *mats[k] = f32_matrix(std::move(a));
      } else {
        *mats[k] = f32_matrix(qm->f32(m + ".weight", {n_out, n_in}, true));
      }
      const bool has_bias = kind == LinearKind::O ? c.o_bias : kind <= LinearKind::V ? c.qkv_bias : c.mlp_bias;
      *biases[k] = qm->f32(m + ".bias", {n_out}, has_bias);
      n_params += static_cast<size_t>(n_out * n_in);
    }
  }
  w->n_params = n_params;
  w->source = qm->release_safetensors();
  return w;
}

}  // namespace lowbit
