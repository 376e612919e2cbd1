#include "model/transformer.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/threads.h"
#include "kernels/vec.h"
#include "kernels/matmul.h"
#include "model/ops.h"

namespace lowbit {

Transformer::Transformer(std::shared_ptr<const ModelWeights> w, int max_ctx, int max_batch)
    : w_(std::move(w)), max_batch_(std::max(1, max_batch)) {
  const ModelConfig& c = w_->config;
  if (max_ctx <= 0) max_ctx = std::min(c.max_position_embeddings > 0 ? c.max_position_embeddings : 4096, 4096);
  cache_.init(c.n_layers, max_ctx, c.kv_dim());
  inv_freq_ = rope_inv_freq(c);
  const size_t B = max_batch_;
  x_.resize(B * c.hidden_size);
  xn_.resize(B * c.hidden_size);
  q_.resize(B * c.q_dim());
  k_.resize(B * c.kv_dim());
  v_.resize(B * c.kv_dim());
  att_.resize(B * c.q_dim());
  gate_.resize(B * c.intermediate_size);
  up_.resize(B * c.intermediate_size);
  scores_.resize(static_cast<size_t>(hardware_threads()) * max_ctx);
  pos_.resize(B);
}

void Transformer::forward(const int32_t* tokens, const int32_t* positions, int n, float* logits, bool all_logits) {
  const ModelConfig& c = w_->config;
  if (n <= 0) return;
  if (cache_.n_used + n > cache_.n_slots)
    fail("", "context full: " + std::to_string(cache_.n_used) + " + " + std::to_string(n) + " tokens exceed " +
                 std::to_string(cache_.n_slots) + " KV cache slots");
  for (int i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      fail("", "token id " + std::to_string(tokens[i]) + " out of range [0, " + std::to_string(c.vocab_size) + ")");
  for (int done = 0; done < n;) {
    const int b = std::min(max_batch_, n - done);
    const bool last = done + b == n;
    float* out = nullptr;
    if (all_logits) out = logits + static_cast<size_t>(done) * c.vocab_size;
    else if (last) out = logits;
    forward_batch(tokens + done, positions ? positions + done : nullptr, b, out, all_logits);
    done += b;
  }
}

void Transformer::forward_batch(const int32_t* tokens, const int32_t* positions, int n, float* logits,
                                bool all_logits) {
  const ModelConfig& c = w_->config;
  const int H = c.hidden_size, F = c.intermediate_size, QD = c.q_dim(), KVD = c.kv_dim(), hd = c.head_dim;
  const float eps = static_cast<float>(c.rms_norm_eps);
  const int base = cache_.n_used;
  for (int t = 0; t < n; ++t) pos_[t] = positions ? positions[t] : base + t;
  rope_.build(inv_freq_, pos_.data(), n);

  for (int t = 0; t < n; ++t) matrix_row_f32(w_->embed, tokens[t], &x_[static_cast<size_t>(t) * H]);

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w_->layers[l];
    rms_norm(x_.data(), L.attn_norm.data, xn_.data(), n, H, eps);
    linear(l, LinearKind::Q, xn_.data(), n, q_.data());
    linear(l, LinearKind::K, xn_.data(), n, k_.data());
    linear(l, LinearKind::V, xn_.data(), n, v_.data());
    if (c.qk_norm) {
      rms_norm(q_.data(), L.q_norm.data, q_.data(), n * c.n_heads, hd, eps);
      rms_norm(k_.data(), L.k_norm.data, k_.data(), n * c.n_kv_heads, hd, eps);
    }
    const int half = hd / 2;
    for (int t = 0; t < n; ++t) {
      rope_apply(&q_[static_cast<size_t>(t) * QD], c.n_heads, hd, &rope_.cos[t * half], &rope_.sin[t * half]);
      rope_apply(&k_[static_cast<size_t>(t) * KVD], c.n_kv_heads, hd, &rope_.cos[t * half], &rope_.sin[t * half]);
      std::memcpy(cache_.k_at(l, base + t), &k_[static_cast<size_t>(t) * KVD], KVD * sizeof(float));
      std::memcpy(cache_.v_at(l, base + t), &v_[static_cast<size_t>(t) * KVD], KVD * sizeof(float));
    }
    for (int t = 0; t < n; ++t) cache_.positions[base + t] = pos_[t];
    attention(l, n);
    linear(l, LinearKind::O, att_.data(), n, xn_.data());
    for (size_t i = 0; i < static_cast<size_t>(n) * H; ++i) x_[i] += xn_[i];

    rms_norm(x_.data(), L.ffn_norm.data, xn_.data(), n, H, eps);
    linear(l, LinearKind::Gate, xn_.data(), n, gate_.data());
    linear(l, LinearKind::Up, xn_.data(), n, up_.data());
    silu_mul(gate_.data(), up_.data(), static_cast<int64_t>(n) * F);
    linear(l, LinearKind::Down, gate_.data(), n, xn_.data());
    for (size_t i = 0; i < static_cast<size_t>(n) * H; ++i) x_[i] += xn_[i];
  }
  cache_.n_used = base + n;

  if (!logits) return;
  if (all_logits) {
    rms_norm(x_.data(), w_->norm.data, xn_.data(), n, H, eps);
    if (observer_) observer_->observe_output(xn_.data(), n, H);
    matmul(w_->lm_head, xn_.data(), n, logits);
  } else {
    rms_norm(&x_[static_cast<size_t>(n - 1) * H], w_->norm.data, xn_.data(), 1, H, eps);
    matmul(w_->lm_head, xn_.data(), 1, logits);
  }
}

void Transformer::linear(int layer, LinearKind kind, const float* x, int m, float* y) {
  const LayerWeights& L = w_->layers[layer];
  const QMatrix& w = L.linear(kind);
  if (observer_) observer_->observe(layer, kind, x, m, static_cast<int>(w.n_cols));
  matmul(w, x, m, y, L.bias(kind).data);
}

// Causal attention of the n new tokens over every cached slot up to their own.
// HF sliding window: a query at position p sees a key at p' iff p - window < p'.
void Transformer::attention(int layer, int n) {
  const ModelConfig& c = w_->config;
  const int hd = c.head_dim, QD = c.q_dim(), n_heads = c.n_heads, group = c.n_heads / c.n_kv_heads;
  const int base = cache_.n_used;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int n_work = n * n_heads;
  const int window = c.sliding_window;
  const size_t need = static_cast<size_t>(omp_get_max_threads()) * cache_.n_slots;
  if (scores_.size() < need) scores_.resize(need);  // only if the thread count grew
  // Threads only pay off when there is real work: a fork/join costs microseconds.
  const VecOps& vec = vec_ops();
  const double work = static_cast<double>(n_work) * (base + n) * hd;
#pragma omp parallel for schedule(dynamic, 1) if (work > 1e5)
  for (int wi = 0; wi < n_work; ++wi) {
    const int t = wi / n_heads, h = wi % n_heads, kvh = h / group;
    const int slot = base + t;
    const int32_t p = cache_.positions[slot];
    const float* q = &q_[static_cast<size_t>(t) * QD + h * hd];
    float* scores = &scores_[static_cast<size_t>(omp_get_thread_num()) * cache_.n_slots];
    for (int s = 0; s <= slot; ++s) {
      if (window > 0 && !(p - window < cache_.positions[s])) {
        scores[s] = -std::numeric_limits<float>::infinity();
        continue;
      }
      const float* k = cache_.k_at(layer, s) + kvh * hd;
      scores[s] = vec.dot(q, k, hd) * scale;
    }
    softmax(scores, slot + 1);
    float* out = &att_[static_cast<size_t>(t) * QD + h * hd];
    std::fill(out, out + hd, 0.0f);
    for (int s = 0; s <= slot; ++s) {
      const float a = scores[s];
      if (a == 0.0f) continue;
      const float* v = cache_.v_at(layer, s) + kvh * hd;
      vec.axpy(a, v, out, hd);
    }
  }
}

}  // namespace lowbit
