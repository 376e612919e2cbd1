// Hugging Face config.json for the decoder-only architectures lowbit runs:
// LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lowbit {

enum class Arch { Llama, Mistral, Qwen2, Qwen3 };

struct RopeScaling {
  enum class Type { None, Linear, Llama3 } type = Type::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  double original_max_position_embeddings = 8192;  // llama3
};

struct ModelConfig {
  Arch arch = Arch::Llama;
  std::string architecture;  // "LlamaForCausalLM"
  std::string model_type;    // "llama"
  int hidden_size = 0;
  int intermediate_size = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2: q/k/v have bias; Llama attention_bias: q/k/v/o
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;   // Qwen3: per-head RMSNorm of q and k before RoPE
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight: inv_freq[i] /= factor[i]
  int sliding_window = 0;  // 0: none (HF: key p' visible from p iff p - window < p')
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;
  std::string torch_dtype;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

std::string arch_name(Arch a);
// Parses config.json at path (a file, or a directory holding config.json).
ModelConfig load_hf_config(const std::string& path);
ModelConfig parse_hf_config(const nlohmann::json& j, const std::string& path_for_errors);
nlohmann::json config_to_json(const ModelConfig& c);  // HF layout, for writers (synth)

}  // namespace lowbit
