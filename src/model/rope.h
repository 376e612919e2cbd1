// Rotary position embedding in the Hugging Face "rotate_half" layout: for a head vector x of
// size d, pair i is (x[i], x[i + d/2]) rotated by pos * inv_freq[i] (RoFormer, Su et al. 2021;
// transformers' apply_rotary_pos_emb). Angles are computed in double so large positions
// (tens of thousands) keep full float32 accuracy.
#pragma once
#include <vector>

#include "io/hf_config.h"

namespace lowbit {

// inv_freq[i] = theta^(-2i/d), then rope_scaling (linear: /factor; llama3: transformers'
// _compute_llama3_parameters, Meta's Llama 3.1 frequency smoothing).
std::vector<double> rope_inv_freq(const ModelConfig& c);

struct RopeTable {
  std::vector<float> cos, sin;  // [n_tokens][d/2]
  void build(const std::vector<double>& inv_freq, const int* positions, int n_tokens);
};

// x: n_heads vectors of head_dim for one token; cs/sn: head_dim/2 values for that token.
void rope_apply(float* x, int n_heads, int head_dim, const float* cs, const float* sn);

}  // namespace lowbit
