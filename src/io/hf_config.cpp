#include "io/hf_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace lowbit {
namespace {

using json = nlohmann::json;

int get_int(const json& j, const char* key, const std::string& path, bool required, int dflt = 0) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) fail(path, std::string("missing \"") + key + "\"");
    return dflt;
  }
  if (!it->is_number_integer()) fail(path, std::string("\"") + key + "\" must be an integer");
  auto v = it->get<int64_t>();
  if (v < 0 || v > (int64_t{1} << 30)) fail(path, std::string("\"") + key + "\" out of range: " + std::to_string(v));
  return static_cast<int>(v);
}

double get_num(const json& j, const char* key, const std::string& path, double dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_number()) fail(path, std::string("\"") + key + "\" must be a number");
  return it->get<double>();
}

bool get_bool(const json& j, const char* key, const std::string& path, bool dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) fail(path, std::string("\"") + key + "\" must be true or false");
  return it->get<bool>();
}

}  // namespace

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::Llama: return "LlamaForCausalLM";
    case Arch::Mistral: return "MistralForCausalLM";
    case Arch::Qwen2: return "Qwen2ForCausalLM";
    case Arch::Qwen3: return "Qwen3ForCausalLM";
  }
  return "?";
}

ModelConfig parse_hf_config(const json& j, const std::string& path) {
  if (!j.is_object()) fail(path, "config is not a JSON object");
  ModelConfig c;
  auto archs = j.find("architectures");
  if (archs == j.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    fail(path, "missing \"architectures\"");
  c.architecture = (*archs)[0].get<std::string>();
  if (c.architecture == "LlamaForCausalLM") c.arch = Arch::Llama;
  else if (c.architecture == "MistralForCausalLM") c.arch = Arch::Mistral;
  else if (c.architecture == "Qwen2ForCausalLM") c.arch = Arch::Qwen2;
  else if (c.architecture == "Qwen3ForCausalLM") c.arch = Arch::Qwen3;
  else
    fail(path, "unsupported architecture \"" + c.architecture +
                   "\" (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) c.model_type = *it;

  if (auto act = j.find("hidden_act"); act != j.end() && act->is_string() && *act != "silu")
    fail(path, "unsupported hidden_act \"" + act->get<std::string>() + "\" (only silu)");

  c.hidden_size = get_int(j, "hidden_size", path, true);
  c.intermediate_size = get_int(j, "intermediate_size", path, true);
  c.n_layers = get_int(j, "num_hidden_layers", path, true);
  c.n_heads = get_int(j, "num_attention_heads", path, true);
  c.n_kv_heads = get_int(j, "num_key_value_heads", path, false, c.n_heads);
  c.vocab_size = get_int(j, "vocab_size", path, true);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", path, false, 2048);
  if (c.hidden_size <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_layers <= 0 || c.vocab_size <= 0 ||
      c.intermediate_size <= 0)
    fail(path, "sizes must be positive");
  if (c.n_heads % c.n_kv_heads != 0)
    fail(path, "num_attention_heads (" + std::to_string(c.n_heads) + ") is not a multiple of num_key_value_heads (" +
                   std::to_string(c.n_kv_heads) + ")");
  c.head_dim = get_int(j, "head_dim", path, false, 0);
  if (c.head_dim == 0) {
    if (c.hidden_size % c.n_heads != 0) fail(path, "hidden_size is not a multiple of num_attention_heads");
    c.head_dim = c.hidden_size / c.n_heads;
  }
  if (c.head_dim % 2 != 0) fail(path, "head_dim must be even for RoPE");
  c.rms_norm_eps = get_num(j, "rms_norm_eps", path, 1e-6);
  c.rope_theta = get_num(j, "rope_theta", path, 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", path, false);  // PretrainedConfig default

  switch (c.arch) {
    case Arch::Llama:
    case Arch::Mistral:
      c.qkv_bias = c.o_bias = get_bool(j, "attention_bias", path, false);
      c.mlp_bias = get_bool(j, "mlp_bias", path, false);
      break;
    case Arch::Qwen2:
      c.qkv_bias = true;  // Qwen2Attention: q/k/v Linear(bias=True), o_proj bias=False
      break;
    case Arch::Qwen3:
      c.qkv_bias = c.o_bias = get_bool(j, "attention_bias", path, false);
      c.qk_norm = true;
      break;
  }

  // Sliding window: Mistral applies it whenever set; Qwen2/3 only with use_sliding_window.
  if (auto it = j.find("sliding_window"); it != j.end() && it->is_number_integer()) {
    bool use = c.arch == Arch::Mistral || get_bool(j, "use_sliding_window", path, false);
    if (use) c.sliding_window = it->get<int>();
    if (use && (c.arch == Arch::Qwen2 || c.arch == Arch::Qwen3)) {
      int mwl = get_int(j, "max_window_layers", path, false, c.n_layers);
      if (mwl < c.n_layers) fail(path, "per-layer sliding window (max_window_layers < num_hidden_layers) is not supported");
    }
  }

  if (auto rs = j.find("rope_scaling"); rs != j.end() && !rs->is_null()) {
    if (!rs->is_object()) fail(path, "\"rope_scaling\" must be an object or null");
    std::string type;
    if (auto t = rs->find("rope_type"); t != rs->end() && t->is_string()) type = *t;
    else if (auto t2 = rs->find("type"); t2 != rs->end() && t2->is_string()) type = *t2;
    auto& r = c.rope_scaling;
    r.factor = get_num(*rs, "factor", path, 1.0);
    if (type == "default" || type.empty()) {
      r.type = RopeScaling::Type::None;
    } else if (type == "linear") {
      r.type = RopeScaling::Type::Linear;
    } else if (type == "llama3") {
      r.type = RopeScaling::Type::Llama3;
      r.low_freq_factor = get_num(*rs, "low_freq_factor", path, 1.0);
      r.high_freq_factor = get_num(*rs, "high_freq_factor", path, 4.0);
      r.original_max_position_embeddings = get_num(*rs, "original_max_position_embeddings", path, 8192);
      if (r.high_freq_factor == r.low_freq_factor) fail(path, "rope_scaling: high_freq_factor equals low_freq_factor");
    } else {
      fail(path, "unsupported rope_scaling type \"" + type + "\" (supported: linear, llama3)");
    }
    if (!(r.factor > 0)) fail(path, "rope_scaling factor must be positive");
  }

  if (auto it = j.find("bos_token_id"); it != j.end() && it->is_number_integer()) c.bos_token_id = *it;
  if (auto it = j.find("eos_token_id"); it != j.end()) {
    if (it->is_number_integer()) c.eos_token_ids.push_back(*it);
    else if (it->is_array())
      for (auto& e : *it)
        if (e.is_number_integer()) c.eos_token_ids.push_back(e);
  }
  if (auto it = j.find("torch_dtype"); it != j.end() && it->is_string()) c.torch_dtype = *it;
  return c;
}

ModelConfig load_hf_config(const std::string& path_in) {
  std::string path = path_in;
  if (!std::filesystem::exists(path)) fail(path, "no such file or directory");
  if (std::filesystem::is_directory(path)) path = (std::filesystem::path(path) / "config.json").string();
  std::ifstream f(path);
  if (!f) fail(path, "cannot open");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    fail(path, std::string("invalid JSON: ") + e.what());
  }
  return parse_hf_config(j, path);
}

json config_to_json(const ModelConfig& c) {
  json j;
  j["architectures"] = {c.architecture.empty() ? arch_name(c.arch) : c.architecture};
  const char* mt = c.arch == Arch::Llama ? "llama" : c.arch == Arch::Mistral ? "mistral" : c.arch == Arch::Qwen2 ? "qwen2" : "qwen3";
  j["model_type"] = c.model_type.empty() ? mt : c.model_type;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.arch == Arch::Llama || c.arch == Arch::Mistral || c.arch == Arch::Qwen3) j["attention_bias"] = c.qkv_bias;
  if (c.rope_scaling.type == RopeScaling::Type::Llama3) {
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  } else if (c.rope_scaling.type == RopeScaling::Type::Linear) {
    j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  if (!c.torch_dtype.empty()) j["torch_dtype"] = c.torch_dtype;
  return j;
}

}  // namespace lowbit
