// One decoder layer of an HF Llama-family model as plain f32 arrays, and its forward pass
// over a calibration batch of independent sequences (each starting at position 0). This is
// what the layer-wise quantization pipeline streams: one layer in memory at a time, its
// inputs computed by the already-quantized earlier layers (GPTQModel / llm-compressor's
// sequential pipeline). The maths is the runtime's (model/transformer.h: RMSNorm, rotate_half
// RoPE, causal softmax attention with GQA, SiLU-gated MLP) built from model/ops.h and rope.h.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/hf_config.h"
#include "model/transformer.h"

namespace lowbit {

class SafetensorsModel;

struct LayerF32 {
  std::vector<float> attn_norm, ffn_norm, q_norm, k_norm;  // q/k norm: Qwen3 only
  std::array<std::vector<float>, kNumLinearKinds> w;        // [n_out * n_in], LinearKind order
  std::array<std::vector<float>, kNumLinearKinds> bias;     // empty: none
  std::vector<float>& weight(LinearKind k) { return w[static_cast<int>(k)]; }
  const std::vector<float>& weight(LinearKind k) const { return w[static_cast<int>(k)]; }
  size_t n_bytes() const;
};

// "model.layers.<l>.self_attn.q_proj" etc.
// A float tensor of the model converted to f32, checked against shape; empty if absent and
// not required (errors name the tensor and the file).
std::vector<float> read_f32_tensor(const SafetensorsModel& st, const std::string& name,
                                   const std::vector<int64_t>& shape, bool required);
std::string linear_module_name(int layer, LinearKind kind);
// {n_out, n_in} of a linear under the config.
std::array<int64_t, 2> linear_shape(const ModelConfig& c, LinearKind kind);

// Reads layer l from the mapped model, converting any float dtype to f32; shapes checked
// against the config (Error names the tensor).
LayerF32 load_layer_f32(const SafetensorsModel& st, const ModelConfig& c, int layer);

// Runs `n_seqs` sequences of `seq_len` tokens ([n_seqs * seq_len, hidden] row-major in x)
// through the layer into y (may be null when only the observer matters). The observer sees
// every linear's input per sequence (m = seq_len). stop_after: return right after the
// observer saw this linear's input (y is then not written); nullptr runs the whole layer.
class LayerRunner {
 public:
  LayerRunner(const ModelConfig& c, int seq_len);
  void run(const LayerF32& L, int layer, const float* x, int n_seqs, float* y, ActivationObserver* obs,
           const LinearKind* stop_after = nullptr);
  // The attention block's output (o_proj applied, before the residual add) for one sequence
  // given the normed input xn [seq_len, hidden], with q/k/v weights overridden (AWQ's
  // module2inspect = self_attn). Writes [seq_len, hidden] into out.
  void attention_out(const LayerF32& L, const float* xn, const float* wq, const float* wk, const float* wv,
                     float* out);
  // The MLP's output for normed input xn [seq_len, hidden] with gate/up weights overridden.
  void mlp_out(const LayerF32& L, const float* xn, const float* wgate, const float* wup, float* out);
  int seq_len() const { return seq_len_; }

 private:
  void qkv_attention(const LayerF32& L, const float* xn, const float* wq, const float* wk, const float* wv);
  const ModelConfig& c_;
  int seq_len_;
  RopeTable rope_;
  std::vector<float> xn_, q_, k_, v_, att_, gate_, up_, tmp_, scores_;
};

}  // namespace lowbit
