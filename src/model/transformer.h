// The decoder-only transformer forward pass (Llama family: Llama 2/3, Mistral, Qwen2, Qwen3).
//   h = embed[token]
//   per layer: a = RMSNorm(h); q,k,v = a W^T (+b); [Qwen3: per-head RMSNorm of q,k];
//              RoPE(q,k); h += o(softmax(q k^T / sqrt(d) + causal mask) v)
//              h += down(silu(gate(RMSNorm(h))) * up(RMSNorm(h)))
//   logits = RMSNorm(h) lm_head^T
// A prompt goes through in batches of up to `max_batch` tokens as matrix-matrix products.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weights.h"

namespace lowbit {

// Sees the input of every linear layer (calibration: importance matrices, Hessians,
// activation scales). x is [m x k], the rows entering the layer's weight.
class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  virtual void observe(int layer, LinearKind kind, const float* x, int m, int k) = 0;
  // The final norm's output entering lm_head; most observers ignore it.
  virtual void observe_output(const float* x, int m, int k) {}
};

class Transformer {
 public:
  // max_ctx: KV cache slots (0: the config's max_position_embeddings, capped at 4096).
  Transformer(std::shared_ptr<const ModelWeights> w, int max_ctx = 0, int max_batch = 512);

  // Runs n tokens after those already in the cache. positions: one id per token, or nullptr
  // for n_past, n_past+1, .... logits: [n x vocab] when all_logits, else [vocab] for the
  // last token. Throws Error when the cache would overflow or a token id is out of range.
  void forward(const int32_t* tokens, const int32_t* positions, int n, float* logits, bool all_logits);
  void reset() { cache_.n_used = 0; }
  void set_observer(ActivationObserver* o) { observer_ = o; }
  int n_past() const { return cache_.n_used; }
  int max_ctx() const { return cache_.n_slots; }
  const ModelConfig& config() const { return w_->config; }
  const ModelWeights& weights() const { return *w_; }
  size_t kv_cache_n_bytes() const { return cache_.n_bytes(); }

 private:
  void forward_batch(const int32_t* tokens, const int32_t* positions, int n, float* logits, bool all_logits);
  void attention(int layer, int n);

  void linear(int layer, LinearKind kind, const float* x, int m, float* y);

  std::shared_ptr<const ModelWeights> w_;
  ActivationObserver* observer_ = nullptr;
  KVCache cache_;
  std::vector<double> inv_freq_;
  RopeTable rope_;
  int max_batch_;
  // Scratch, sized once for max_batch tokens: no allocation per token.
  std::vector<float> x_, xn_, q_, k_, v_, att_, gate_, up_, scores_;
  std::vector<int32_t> pos_;
};

}  // namespace lowbit
