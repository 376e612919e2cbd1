// The weights of a decoder-only transformer, as f32 arrays. F32 tensors are used in place
// from the read-only mapping; F16/BF16 (and F8) tensors are converted once at load.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/hf_config.h"
#include "io/safetensors.h"
#include "kernels/qmatrix.h"

namespace lowbit {

class GgufFile;

// A float array that either points into a mapping or owns its storage.
struct F32Array {
  const float* data = nullptr;
  std::vector<float> owned;
  std::vector<int64_t> shape;
  explicit operator bool() const { return data != nullptr; }
};

// The linear layers of a decoder layer, in the order the observer reports them.
enum class LinearKind { Q, K, V, O, Gate, Up, Down };
inline constexpr int kNumLinearKinds = 7;
const char* linear_kind_name(LinearKind k);  // "q_proj", ... (HF names)

struct LayerWeights {
  F32Array attn_norm, ffn_norm;
  QMatrix q, k, v, o;               // [out, in], any registry format
  F32Array q_bias, k_bias, v_bias, o_bias;
  F32Array q_norm, k_norm;          // Qwen3, [head_dim]
  QMatrix gate, up, down;
  F32Array gate_bias, up_bias, down_bias;

  const QMatrix& linear(LinearKind kind) const {
    switch (kind) {
      case LinearKind::Q: return q;
      case LinearKind::K: return k;
      case LinearKind::V: return v;
      case LinearKind::O: return o;
      case LinearKind::Gate: return gate;
      case LinearKind::Up: return up;
      case LinearKind::Down: break;
    }
    return down;
  }
  // The bias of that linear (an empty F32Array when it has none).
  const F32Array& bias(LinearKind kind) const {
    switch (kind) {
      case LinearKind::Q: return q_bias;
      case LinearKind::K: return k_bias;
      case LinearKind::V: return v_bias;
      case LinearKind::O: return o_bias;
      case LinearKind::Gate: return gate_bias;
      case LinearKind::Up: return up_bias;
      case LinearKind::Down: break;
    }
    return down_bias;
  }
};

struct ModelWeights {
  ModelConfig config;
  std::unique_ptr<SafetensorsModel> source;  // keeps the mapping alive (HF models)
  std::shared_ptr<class GgufFile> gguf;      // keeps the mapping alive (GGUF models)
  QMatrix embed;    // [vocab, hidden]
  F32Array norm;    // [hidden]
  QMatrix lm_head;  // [vocab, hidden]; a view of embed when tied
  std::vector<LayerWeights> layers;
  size_t n_params = 0;
  // Bytes of all weights as the runtime holds them (packed matrices, f32 vectors; a tied head
  // counts once): the model size a bench reports, as llama-bench reports the file's tensors.
  size_t n_bytes() const;
};

// Wraps f32 values as an F32 QMatrix (used by loaders).
QMatrix f32_matrix(F32Array&& a);

// Loads config.json and the safetensors of an HF model directory and checks every tensor's
// presence and shape against the config; errors name the tensor and the file.
std::unique_ptr<ModelWeights> load_hf_weights(const std::string& dir);

}  // namespace lowbit
