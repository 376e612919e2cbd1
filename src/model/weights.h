// The weights of a decoder-only transformer, as f32 arrays. F32 tensors are used in place
// from the read-only mapping; F16/BF16 (and F8) tensors are converted once at load.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/hf_config.h"
#include "io/safetensors.h"

namespace lowbit {

// A float array that either points into a mapping or owns its storage.
struct F32Array {
  const float* data = nullptr;
  std::vector<float> owned;
  std::vector<int64_t> shape;
  explicit operator bool() const { return data != nullptr; }
};

struct LayerWeights {
  F32Array attn_norm, ffn_norm;
  F32Array q, k, v, o;              // [out, in]
  F32Array q_bias, k_bias, v_bias, o_bias;
  F32Array q_norm, k_norm;          // Qwen3, [head_dim]
  F32Array gate, up, down;
  F32Array gate_bias, up_bias, down_bias;
};

struct ModelWeights {
  ModelConfig config;
  std::unique_ptr<SafetensorsModel> source;  // keeps the mapping alive
  F32Array embed;   // [vocab, hidden]
  F32Array norm;    // [hidden]
  F32Array lm_head; // [vocab, hidden]; points at embed when tied
  std::vector<LayerWeights> layers;
  size_t n_params = 0;
};

// Loads config.json and the safetensors of an HF model directory and checks every tensor's
// presence and shape against the config; errors name the tensor and the file.
std::unique_ptr<ModelWeights> load_hf_weights(const std::string& dir);

}  // namespace lowbit
