#include "quant/quantized_loader.h"

#include <cstdio>
#include <map>

#include "core/error.h"
#include "quant/layer_forward.h"
#include "quant/repack_linear.h"

namespace lowbit {

std::unique_ptr<ModelWeights> load_quantized_hf_weights(const std::string& dir) {
  auto w = std::make_unique<ModelWeights>();
  const auto qm = QuantizedHfModel::open(dir);
  w->config = qm->config();
  const ModelConfig& c = w->config;
  const int64_t H = c.hidden_size, V = c.vocab_size;

  // Everything is copied or repacked, so the mapping is dropped at the end: the resident
  // memory is the packed model, not the file as well.
  w->embed = qm->matrix("model.embed_tokens.weight", {V, H});
  w->norm = qm->f32("model.norm.weight", {H}, true);
  if (qm->safetensors().find("lm_head.weight")) w->lm_head = qm->matrix("lm_head.weight", {V, H});
  else if (c.tie_word_embeddings) w->lm_head = QMatrix::view_of(w->embed);
  else fail(qm->safetensors().path(), "missing tensor lm_head.weight (config says tie_word_embeddings is false)");
  size_t n_params = static_cast<size_t>(V * H + H);

  std::map<std::string, int> unpacked;  // why -> how many linears stayed f32
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
        std::string why;
        *mats[k] = repack_linear(*q, &why);
        if (!why.empty()) ++unpacked[why];
      } else {
        *mats[k] = qm->matrix(m + ".weight", {n_out, n_in});
      }
      const bool has_bias = kind == LinearKind::O ? c.o_bias : kind <= LinearKind::V ? c.qkv_bias : c.mlp_bias;
      *biases[k] = qm->f32(m + ".bias", {n_out}, has_bias);
      n_params += static_cast<size_t>(n_out * n_in);
    }
  }
  // Not an error (the f32 copy is exact), but the user is told where the memory goes.
  for (const auto& [why, count] : unpacked)
    std::fprintf(stderr, "lowbit: note: %s: %d quantized linear%s kept as f32 (no exact packed layout: %s)\n",
                 qm->config_path().c_str(), count, count == 1 ? "" : "s", why.c_str());
  w->n_params = n_params;
  return w;
}

}  // namespace lowbit
