// Hugging Face Llama folder -> GGUF tensors and metadata in memory, as llama.cpp's
// convert_hf_to_gguf.py (LlamaModel) writes them. specs/gguf.md §2 (keys and their exact
// types), §2.1 (names, reversed shapes, F32 norms), §2.2 (Q/K row permutation).
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <regex>

#include "core/convert.h"
#include "core/error.h"
#include "io/hf_to_gguf.h"
#include "io/gguf_types.h"
#include "io/hf_config.h"
#include "io/safetensors.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

// HF name -> GGUF name (specs/gguf.md §2.1); "" for tensors the converter drops.
std::string gguf_name_of(const std::string& hf, const std::string& dir) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  static const std::regex layer(R"(model\.layers\.(\d+)\.(.+))");
  std::smatch m;
  if (std::regex_match(hf, m, layer)) {
    static const std::pair<const char*, const char*> kParts[] = {
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},   {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.weight", "attn_k.weight"},   {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.weight", "attn_v.weight"},   {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.o_proj.weight", "attn_output.weight"}, {"self_attn.o_proj.bias", "attn_output.bias"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},    {"mlp.gate_proj.bias", "ffn_gate.bias"},
        {"mlp.up_proj.weight", "ffn_up.weight"},        {"mlp.up_proj.bias", "ffn_up.bias"},
        {"mlp.down_proj.weight", "ffn_down.weight"},    {"mlp.down_proj.bias", "ffn_down.bias"},
    };
    const std::string part = m[2];
    for (const auto& [from, to] : kParts)
      if (part == from) return "blk." + m[1].str() + "." + to;
    if (part == "self_attn.rotary_emb.inv_freq") return "";  // recomputed by every runtime
  }
  fail(dir, "unexpected tensor " + hf + " in a Llama model");
}

uint32_t ggml_type_of(DType d, const std::string& name, const std::string& dir) {
  switch (d) {
    case DType::F32: return kGgmlTypeF32;
    case DType::F16: return kGgmlTypeF16;
    case DType::BF16: return kGgmlTypeBF16;
    default:
      fail(dir, fmt::format("tensor {} has dtype {}; only F32, F16 and BF16 weights convert to GGUF", name,
                            dtype_name(d)));
  }
}

// Rows of q_proj/k_proj (and their biases) from HF's rotate_half order to llama.cpp's
// interleaved pairs: GGUF row h*hd + 2i + j = HF row h*hd + j*hd/2 + i (specs/gguf.md §2.2;
// convert_hf_to_gguf LlamaModel.permute, which uses n_head_kv for k).
std::vector<uint8_t> permute_rows(const uint8_t* src, int64_t n_rows, size_t row_bytes, int n_heads,
                                  const std::string& name, const std::string& dir) {
  if (n_heads <= 0 || n_rows % n_heads != 0 || (n_rows / n_heads) % 2 != 0)
    fail(dir, fmt::format("tensor {}: {} rows do not split into {} heads of even size", name, n_rows, n_heads));
  const int64_t hd = n_rows / n_heads;
  std::vector<uint8_t> out(static_cast<size_t>(n_rows) * row_bytes);
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < hd / 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        std::memcpy(out.data() + static_cast<size_t>(h * hd + 2 * i + j) * row_bytes,
                    src + static_cast<size_t>(h * hd + j * (hd / 2) + i) * row_bytes, row_bytes);
  return out;
}

// convert_hf_to_gguf LlamaModel.generate_extra_tensors: llama3 rope scaling becomes a
// rope_freqs.weight tensor of per-frequency divisors.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  const double low_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < c.head_dim; i += 2) {
    // torch: 1 / base ** (arange(0, dim, 2, float32) / dim), in float32
    const float freq = 1.0f / std::pow(static_cast<float>(c.rope_theta), static_cast<float>(i) / c.head_dim);
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) out.push_back(1.0f);
    else if (wavelen > low_wavelen) out.push_back(static_cast<float>(s.factor));
    else {
      const double smooth = (s.original_max_position_embeddings / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      out.push_back(static_cast<float>(1 / ((1 - smooth) / s.factor + smooth)));
    }
  }
  return out;
}

void add_llama_metadata(const ModelConfig& c, const std::string& dir, std::vector<GgufKv>& md) {
  auto u32 = [&](const std::string& k, int64_t v) { md.push_back({k, GgufValue::scalar(static_cast<uint32_t>(v))}); };
  auto f32 = [&](const std::string& k, double v) { md.push_back({k, GgufValue::scalar(static_cast<float>(v))}); };
  auto str = [&](const std::string& k, std::string v) { md.push_back({k, GgufValue::string(std::move(v))}); };
  str("general.architecture", "llama");
  str("general.type", "model");
  str("general.name", fs::path(dir).filename().string());
  u32("llama.block_count", c.n_layers);
  u32("llama.context_length", c.max_position_embeddings);
  u32("llama.embedding_length", c.hidden_size);
  u32("llama.feed_forward_length", c.intermediate_size);
  u32("llama.attention.head_count", c.n_heads);
  u32("llama.attention.head_count_kv", c.n_kv_heads);
  f32("llama.rope.freq_base", c.rope_theta);
  f32("llama.attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  if (c.head_dim != c.hidden_size / c.n_heads) {  // the converter writes these for an explicit head_dim
    u32("llama.attention.key_length", c.head_dim);
    u32("llama.attention.value_length", c.head_dim);
  }
  u32("llama.vocab_size", c.vocab_size);
  u32("llama.rope.dimension_count", c.head_dim);
  if (c.rope_scaling.type == RopeScaling::Type::Linear) {
    str("llama.rope.scaling.type", "linear");
    f32("llama.rope.scaling.factor", c.rope_scaling.factor);
  }
}

}  // namespace

std::string hf_gguf_name(const std::string& hf_name, const std::string& dir) { return gguf_name_of(hf_name, dir); }

int hf_gguf_permute_heads(const std::string& name, const ModelConfig& c) {
  if (name.find(".attn_q.") != std::string::npos) return c.n_heads;
  if (name.find(".attn_k.") != std::string::npos) return c.n_kv_heads;
  return 0;
}

std::vector<uint8_t> permute_qk_rows(const uint8_t* src, int64_t n_rows, size_t row_bytes, int n_heads,
                                     const std::string& name, const std::string& dir) {
  return permute_rows(src, n_rows, row_bytes, n_heads, name, dir);
}

void check_hf_gguf_config(const ModelConfig& c, const std::string& dir) {
  if (c.arch != Arch::Llama && c.arch != Arch::Mistral)
    fail(dir, "HF -> GGUF conversion supports LlamaForCausalLM and MistralForCausalLM; this is " + c.architecture);
  if (c.n_heads <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 || c.n_layers <= 0 || c.vocab_size <= 0)
    fail(dir, "inconsistent model sizes in config.json");
}

std::unique_ptr<ModelSource> hf_gguf_skeleton(const std::string& dir, const ModelConfig& c) {
  check_hf_gguf_config(c, dir);
  auto s = std::make_unique<ModelSource>();
  s->path = dir;
  s->from_hf = true;
  add_llama_metadata(c, dir, s->metadata);
  add_sentencepiece_vocab(dir, c.vocab_size, s->metadata);
  if (c.rope_scaling.type == RopeScaling::Type::Llama3) {
    const std::vector<float> f = llama3_rope_factors(c);
    auto& buf = s->owned.emplace_back(f.size() * sizeof(float));
    std::memcpy(buf.data(), f.data(), buf.size());
    s->tensors.push_back({"rope_freqs.weight", {static_cast<int64_t>(f.size())}, kGgmlTypeF32, buf.data(), buf.size()});
  }
  return s;
}

void add_hf_float_tensor(ModelSource& s, const SafetensorsTensor& t, const ModelConfig& c, const std::string& dir) {
  const std::string name = gguf_name_of(t.name, dir);
  if (name.empty()) return;
  SourceTensor out;
  out.name = name;
  for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) out.ne.push_back(*it);  // ggml order
  if (out.ne.empty()) out.ne.push_back(1);
  out.ggml_type = ggml_type_of(t.dtype, t.name, dir);
  out.data = t.data;
  out.n_bytes = t.n_bytes;
  const int64_t n_rows = t.shape.empty() ? 1 : t.shape[0];
  if (const int n_heads = hf_gguf_permute_heads(name, c); n_heads > 0) {
    const size_t row_bytes = n_rows > 0 ? t.n_bytes / static_cast<size_t>(n_rows) : 0;
    auto& buf = s.owned.emplace_back(permute_rows(t.data, n_rows, row_bytes, n_heads, t.name, dir));
    out.data = buf.data();
  }
  // 1-D tensors and norms are F32 in every converter output (specs/gguf.md §2.1).
  const bool one_d = t.shape.size() <= 1;
  const bool is_norm = name.size() >= 12 && name.compare(name.size() - 12, 12, "_norm.weight") == 0;
  if ((one_d || is_norm) && out.ggml_type != kGgmlTypeF32) {
    const size_t n = static_cast<size_t>(t.view().n_elems());
    auto& buf = s.owned.emplace_back(n * sizeof(float));
    convert_to_f32(t.dtype, out.data, reinterpret_cast<float*>(buf.data()), n);
    out.data = buf.data();
    out.n_bytes = buf.size();
    out.ggml_type = kGgmlTypeF32;
  }
  s.tensors.push_back(std::move(out));
}

std::unique_ptr<ModelSource> hf_model_source(const std::string& dir) {
  const ModelConfig c = load_hf_config(dir);
  auto s = hf_gguf_skeleton(dir, c);
  s->safetensors = SafetensorsModel::open(dir);
  for (const SafetensorsTensor* t : s->safetensors->tensors()) add_hf_float_tensor(*s, *t, c, dir);
  return s;
}

}  // namespace lowbit
