#include "quant/layer_forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/convert.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/ops.h"
#include "model/rope.h"

namespace lowbit {
std::vector<float> read_f32_tensor(const SafetensorsModel& st, const std::string& name,
                                   const std::vector<int64_t>& shape, bool required) {
  const SafetensorsTensor* t = st.find(name);
  if (!t) {
    if (required) fail(st.path(), "missing tensor " + name);
    return {};
  }
  if (t->shape != shape) fail(t->file, "tensor " + name + " has shape " + shape_str(t->shape) + ", config expects " +
                                           shape_str(shape));
  if (!dtype_is_float(t->dtype)) fail(t->file, "tensor " + name + " is not a float tensor");
  std::vector<float> v(t->n_bytes / dtype_n_bytes(t->dtype));
  convert_to_f32(t->dtype, t->data, v.data(), v.size());
  return v;
}

size_t LayerF32::n_bytes() const {
  size_t n = attn_norm.size() + ffn_norm.size() + q_norm.size() + k_norm.size();
  for (int k = 0; k < kNumLinearKinds; ++k) n += w[k].size() + bias[k].size();
  return n * sizeof(float);
}

std::string linear_module_name(int layer, LinearKind kind) {
  const bool attn = kind == LinearKind::Q || kind == LinearKind::K || kind == LinearKind::V || kind == LinearKind::O;
  return "model.layers." + std::to_string(layer) + (attn ? ".self_attn." : ".mlp.") + linear_kind_name(kind);
}

std::array<int64_t, 2> linear_shape(const ModelConfig& c, LinearKind kind) {
  const int64_t H = c.hidden_size, F = c.intermediate_size;
  switch (kind) {
    case LinearKind::Q: return {c.q_dim(), H};
    case LinearKind::K:
    case LinearKind::V: return {c.kv_dim(), H};
    case LinearKind::O: return {H, c.q_dim()};
    case LinearKind::Gate:
    case LinearKind::Up: return {F, H};
    case LinearKind::Down: break;
  }
  return {H, F};
}

LayerF32 load_layer_f32(const SafetensorsModel& st, const ModelConfig& c, int layer) {
  LayerF32 L;
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  const int64_t H = c.hidden_size;
  L.attn_norm = read_f32_tensor(st, p + "input_layernorm.weight", {H}, true);
  L.ffn_norm = read_f32_tensor(st, p + "post_attention_layernorm.weight", {H}, true);
  if (c.qk_norm) {
    L.q_norm = read_f32_tensor(st, p + "self_attn.q_norm.weight", {c.head_dim}, true);
    L.k_norm = read_f32_tensor(st, p + "self_attn.k_norm.weight", {c.head_dim}, true);
  }
  for (int k = 0; k < kNumLinearKinds; ++k) {
    const auto kind = static_cast<LinearKind>(k);
    const auto [n_out, n_in] = linear_shape(c, kind);
    const std::string m = linear_module_name(layer, kind);
    L.w[k] = read_f32_tensor(st, m + ".weight", {n_out, n_in}, true);
    const bool has_bias = kind == LinearKind::O ? c.o_bias
                          : kind <= LinearKind::V ? c.qkv_bias
                                                  : c.mlp_bias;
    L.bias[k] = read_f32_tensor(st, m + ".bias", {n_out}, has_bias);
  }
  return L;
}

LayerRunner::LayerRunner(const ModelConfig& c, int seq_len) : c_(c), seq_len_(seq_len) {
  if (seq_len <= 0) fail("calibration", "sequence length must be positive");
  std::vector<int> pos(seq_len);
  for (int t = 0; t < seq_len; ++t) pos[t] = t;
  rope_.build(rope_inv_freq(c), pos.data(), seq_len);
  const size_t T = seq_len;
  xn_.resize(T * c.hidden_size);
  q_.resize(T * c.q_dim());
  k_.resize(T * c.kv_dim());
  v_.resize(T * c.kv_dim());
  att_.resize(T * c.q_dim());
  gate_.resize(T * c.intermediate_size);
  up_.resize(T * c.intermediate_size);
  tmp_.resize(T * c.hidden_size);
  scores_.resize(T);
}

// q/k/v projections, Qwen3 q/k norm, RoPE and causal attention of one sequence: att_ holds
// the o_proj input afterwards.
void LayerRunner::qkv_attention(const LayerF32& L, const float* xn, const float* wq, const float* wk,
                                const float* wv) {
  const ModelConfig& c = c_;
  const int T = seq_len_, H = c.hidden_size, QD = c.q_dim(), KVD = c.kv_dim(), hd = c.head_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  auto bias = [&](LinearKind k) { return L.bias[static_cast<int>(k)].empty() ? nullptr : L.bias[static_cast<int>(k)].data(); };
  linear_f32(xn, wq, bias(LinearKind::Q), q_.data(), T, QD, H);
  linear_f32(xn, wk, bias(LinearKind::K), k_.data(), T, KVD, H);
  linear_f32(xn, wv, bias(LinearKind::V), v_.data(), T, KVD, H);
  if (c.qk_norm) {
    rms_norm(q_.data(), L.q_norm.data(), q_.data(), T * c.n_heads, hd, eps);
    rms_norm(k_.data(), L.k_norm.data(), k_.data(), T * c.n_kv_heads, hd, eps);
  }
  const int half = hd / 2;
  for (int t = 0; t < T; ++t) {
    rope_apply(&q_[static_cast<size_t>(t) * QD], c.n_heads, hd, &rope_.cos[t * half], &rope_.sin[t * half]);
    rope_apply(&k_[static_cast<size_t>(t) * KVD], c.n_kv_heads, hd, &rope_.cos[t * half], &rope_.sin[t * half]);
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = c.n_heads / c.n_kv_heads, window = c.sliding_window;
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < c.n_heads; ++h) {
      const float* q = &q_[static_cast<size_t>(t) * QD + h * hd];
      const int kvh = h / group;
      for (int s = 0; s <= t; ++s) {
        if (window > 0 && !(t - window < s)) {
          scores_[s] = -std::numeric_limits<float>::infinity();
          continue;
        }
        const float* k = &k_[static_cast<size_t>(s) * KVD + kvh * hd];
        float dot = 0.0f;
        for (int i = 0; i < hd; ++i) dot += q[i] * k[i];
        scores_[s] = dot * scale;
      }
      softmax(scores_.data(), t + 1);
      float* out = &att_[static_cast<size_t>(t) * QD + h * hd];
      std::fill(out, out + hd, 0.0f);
      for (int s = 0; s <= t; ++s) {
        const float a = scores_[s];
        if (a == 0.0f) continue;
        const float* v = &v_[static_cast<size_t>(s) * KVD + kvh * hd];
        for (int i = 0; i < hd; ++i) out[i] += a * v[i];
      }
    }
}

void LayerRunner::attention_out(const LayerF32& L, const float* xn, const float* wq, const float* wk,
                                const float* wv, float* out) {
  qkv_attention(L, xn, wq, wk, wv);
  const auto& ob = L.bias[static_cast<int>(LinearKind::O)];
  linear_f32(att_.data(), L.weight(LinearKind::O).data(), ob.empty() ? nullptr : ob.data(), out, seq_len_,
             c_.hidden_size, c_.q_dim());
}

void LayerRunner::mlp_out(const LayerF32& L, const float* xn, const float* wgate, const float* wup, float* out) {
  const int T = seq_len_, H = c_.hidden_size, F = c_.intermediate_size;
  auto bias = [&](LinearKind k) { return L.bias[static_cast<int>(k)].empty() ? nullptr : L.bias[static_cast<int>(k)].data(); };
  linear_f32(xn, wgate, bias(LinearKind::Gate), gate_.data(), T, F, H);
  linear_f32(xn, wup, bias(LinearKind::Up), up_.data(), T, F, H);
  silu_mul(gate_.data(), up_.data(), static_cast<int64_t>(T) * F);
  linear_f32(gate_.data(), L.weight(LinearKind::Down).data(), bias(LinearKind::Down), out, T, H, F);
}

void LayerRunner::run(const LayerF32& L, int layer, const float* x, int n_seqs, float* y, ActivationObserver* obs,
                      const LinearKind* stop_after) {
  const ModelConfig& c = c_;
  const int T = seq_len_, H = c.hidden_size, F = c.intermediate_size, QD = c.q_dim();
  const float eps = static_cast<float>(c.rms_norm_eps);
  auto bias = [&](LinearKind k) { return L.bias[static_cast<int>(k)].empty() ? nullptr : L.bias[static_cast<int>(k)].data(); };
  auto stop = [&](LinearKind k) { return stop_after && *stop_after == k; };
  for (int s = 0; s < n_seqs; ++s) {
    const float* xs = x + static_cast<size_t>(s) * T * H;
    std::vector<float> h(xs, xs + static_cast<size_t>(T) * H);  // the residual stream
    rms_norm(h.data(), L.attn_norm.data(), xn_.data(), T, H, eps);
    if (obs) {
      obs->observe(layer, LinearKind::Q, xn_.data(), T, H);
      obs->observe(layer, LinearKind::K, xn_.data(), T, H);
      obs->observe(layer, LinearKind::V, xn_.data(), T, H);
    }
    if (stop(LinearKind::Q) || stop(LinearKind::K) || stop(LinearKind::V)) continue;
    qkv_attention(L, xn_.data(), L.weight(LinearKind::Q).data(), L.weight(LinearKind::K).data(),
                  L.weight(LinearKind::V).data());
    if (obs) obs->observe(layer, LinearKind::O, att_.data(), T, QD);
    if (stop(LinearKind::O)) continue;
    linear_f32(att_.data(), L.weight(LinearKind::O).data(), bias(LinearKind::O), tmp_.data(), T, H, QD);
    for (size_t i = 0; i < h.size(); ++i) h[i] += tmp_[i];
    rms_norm(h.data(), L.ffn_norm.data(), xn_.data(), T, H, eps);
    if (obs) {
      obs->observe(layer, LinearKind::Gate, xn_.data(), T, H);
      obs->observe(layer, LinearKind::Up, xn_.data(), T, H);
    }
    if (stop(LinearKind::Gate) || stop(LinearKind::Up)) continue;
    linear_f32(xn_.data(), L.weight(LinearKind::Gate).data(), bias(LinearKind::Gate), gate_.data(), T, F, H);
    linear_f32(xn_.data(), L.weight(LinearKind::Up).data(), bias(LinearKind::Up), up_.data(), T, F, H);
    silu_mul(gate_.data(), up_.data(), static_cast<int64_t>(T) * F);
    if (obs) obs->observe(layer, LinearKind::Down, gate_.data(), T, F);
    if (stop(LinearKind::Down)) continue;
    linear_f32(gate_.data(), L.weight(LinearKind::Down).data(), bias(LinearKind::Down), tmp_.data(), T, H, F);
    if (y) {
      float* ys = y + static_cast<size_t>(s) * T * H;
      for (size_t i = 0; i < h.size(); ++i) ys[i] = h[i] + tmp_[i];
    }
  }
}

}  // namespace lowbit
