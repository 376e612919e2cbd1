#include "model/gguf_loader.h"

#include <cstring>
#include <fstream>

#include "core/convert.h"
#include "core/error.h"
#include "model/repack_weights.h"
#include "quant/quantized_loader.h"

namespace lowbit {
namespace {

struct ArchKeys {
  Arch arch;
  bool permute_qk;  // llama.cpp's "llama" arch uses interleaved RoPE: rows were permuted
};

ArchKeys arch_of(const GgufFile& f) {
  const std::string a = f.get_string("general.architecture");
  if (a == "llama") return {Arch::Llama, true};
  if (a == "qwen2") return {Arch::Qwen2, false};
  if (a == "qwen3") return {Arch::Qwen3, false};
  fail(f.path(), "unsupported GGUF architecture \"" + a + "\" (supported: llama, qwen2, qwen3)");
}

uint32_t u32_or(const GgufFile& f, const std::string& k, uint32_t dflt) {
  if (auto v = f.get_u32_opt(k)) return *v;
  return dflt;
}

}  // namespace

bool is_gguf_path(const std::string& path) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) return true;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

ModelConfig gguf_model_config(const GgufFile& f) {
  const ArchKeys ak = arch_of(f);
  const std::string a = f.get_string("general.architecture");
  ModelConfig c;
  c.arch = ak.arch;
  c.architecture = arch_name(ak.arch);
  c.model_type = a;
  c.hidden_size = static_cast<int>(f.get_u32(a + ".embedding_length"));
  c.n_layers = static_cast<int>(f.get_u32(a + ".block_count"));
  c.intermediate_size = static_cast<int>(f.get_u32(a + ".feed_forward_length"));
  c.n_heads = static_cast<int>(f.get_u32(a + ".attention.head_count"));
  c.n_kv_heads = static_cast<int>(u32_or(f, a + ".attention.head_count_kv", c.n_heads));
  c.max_position_embeddings = static_cast<int>(u32_or(f, a + ".context_length", 2048));
  if (c.hidden_size <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads)
    fail(f.path(), "inconsistent model sizes in metadata");
  c.head_dim = static_cast<int>(u32_or(f, a + ".attention.key_length", c.hidden_size / c.n_heads));
  if (c.head_dim <= 0 || c.head_dim % 2) fail(f.path(), "invalid head dimension");
  c.rms_norm_eps = f.get_f32(a + ".attention.layer_norm_rms_epsilon");
  c.rope_theta = f.get_f32_opt(a + ".rope.freq_base").value_or(10000.0f);
  if (auto t = f.get_string_opt(a + ".rope.scaling.type"); t && *t == "linear") {
    if (auto fac = f.get_f32_opt(a + ".rope.scaling.factor"); fac && *fac > 0 && *fac != 1.0f) {
      c.rope_scaling.type = RopeScaling::Type::Linear;
      c.rope_scaling.factor = *fac;
    }
  } else if (t && *t != "none") {
    fail(f.path(), "unsupported rope scaling type \"" + *t + "\"");
  }
  c.qkv_bias = ak.arch == Arch::Qwen2;
  c.qk_norm = ak.arch == Arch::Qwen3;
  if (const GgufTensor* e = f.find("token_embd.weight"); e && e->ne.size() == 2) c.vocab_size = static_cast<int>(e->ne[1]);
  else fail(f.path(), "missing tensor token_embd.weight");
  c.tie_word_embeddings = f.find("output.weight") == nullptr;
  if (auto b = f.get_u32_opt("tokenizer.ggml.bos_token_id")) c.bos_token_id = static_cast<int>(*b);
  if (auto e = f.get_u32_opt("tokenizer.ggml.eos_token_id")) c.eos_token_ids.push_back(static_cast<int>(*e));
  if (auto e = f.get_u32_opt("tokenizer.ggml.eot_token_id")) c.eos_token_ids.push_back(static_cast<int>(*e));
  return c;
}

namespace {

class GgufLoader {
 public:
  GgufLoader(const GgufFile& f, ModelWeights& w) : f_(f), w_(w) {}

  // A 2-D weight: GGUF ne = {n_cols, n_rows}.
  QMatrix matrix(const std::string& name, int64_t n_rows, int64_t n_cols, int permute_heads = 0) {
    const GgufTensor& t = f_.tensor(name);
    if (t.ne.size() != 2 || t.ne[0] != n_cols || t.ne[1] != n_rows)
      fail(f_.path(), "tensor " + name + " has ne " + ne_str(t.ne) + ", expected {" + std::to_string(n_cols) + ", " +
                          std::to_string(n_rows) + "}");
    const FormatTraits* fmt = is_ggml_type(static_cast<FormatId>(t.ggml_type)) ? find_format(static_cast<FormatId>(t.ggml_type)) : nullptr;
    if (!fmt || !fmt->dequantize)
      fail(f_.path(), "tensor " + name + " has type " + t.type_name() + ", which lowbit cannot decode yet");
    QMatrix m;
    m.format = fmt->id;
    m.n_rows = n_rows;
    m.n_cols = n_cols;
    m.row_bytes = fmt->row_bytes(n_cols);
    if (m.row_bytes * static_cast<size_t>(n_rows) != t.n_bytes) fail(f_.path(), "tensor " + name + ": byte size mismatch");
    if (permute_heads > 0) {
      // GGUF row h*hd + 2i + j holds HF row h*hd + j*hd/2 + i (specs/gguf.md §2.2).
      const int64_t hd = n_rows / permute_heads;
      m.owned.resize(t.n_bytes);
      for (int64_t h = 0; h < permute_heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i)
          for (int64_t j = 0; j < 2; ++j) {
            const int64_t src = h * hd + 2 * i + j, dst = h * hd + j * (hd / 2) + i;
            std::memcpy(&m.owned[dst * m.row_bytes], t.data + src * m.row_bytes, m.row_bytes);
          }
      m.data = m.owned.data();
    } else {
      m.data = t.data;
    }
    w_.n_params += static_cast<size_t>(n_rows * n_cols);
    return m;
  }

  F32Array vector(const std::string& name, int64_t n, bool required = true, int permute_heads = 0) {
    F32Array a;
    const GgufTensor* t = f_.find(name);
    if (!t) {
      if (required) fail(f_.path(), "missing tensor " + name);
      return a;
    }
    if (t->n_elems() != n) fail(f_.path(), "tensor " + name + " has " + std::to_string(t->n_elems()) + " elements, expected " + std::to_string(n));
    const FormatTraits* fmt = is_ggml_type(static_cast<FormatId>(t->ggml_type)) ? find_format(static_cast<FormatId>(t->ggml_type)) : nullptr;
    if (!fmt || !fmt->dequantize) fail(f_.path(), "tensor " + name + " has unsupported type " + t->type_name());
    a.owned.resize(n);
    dequantize_rows(fmt->id, t->data, a.owned.data(), 1, n);
    if (permute_heads > 0) {
      std::vector<float> tmp = a.owned;
      const int64_t hd = n / permute_heads;
      for (int64_t h = 0; h < permute_heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i)
          for (int64_t j = 0; j < 2; ++j) a.owned[h * hd + j * (hd / 2) + i] = tmp[h * hd + 2 * i + j];
    }
    a.data = a.owned.data();
    a.shape = {n};
    w_.n_params += static_cast<size_t>(n);
    return a;
  }

 private:
  static std::string ne_str(const std::vector<int64_t>& ne) {
    std::string s = "{";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "}";
  }
  const GgufFile& f_;
  ModelWeights& w_;
};

}  // namespace

std::unique_ptr<ModelWeights> load_gguf_weights(const std::string& path) {
  auto w = std::make_unique<ModelWeights>();
  w->gguf = std::shared_ptr<GgufFile>(GgufFile::open(path));
  const GgufFile& f = *w->gguf;
  w->config = gguf_model_config(f);
  ModelConfig& c = w->config;
  const bool permute = arch_of(f).permute_qk;
  GgufLoader ld(f, *w);
  if (const GgufTensor* rf = f.find("rope_freqs.weight")) {
    F32Array a = ld.vector("rope_freqs.weight", rf->n_elems());
    c.rope_freq_factors.assign(a.owned.begin(), a.owned.end());
  }
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, QD = c.q_dim(), KVD = c.kv_dim();
  w->embed = ld.matrix("token_embd.weight", V, H);
  w->norm = ld.vector("output_norm.weight", H);
  w->lm_head = c.tie_word_embeddings ? QMatrix::view_of(w->embed) : ld.matrix("output.weight", V, H);
  w->layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    LayerWeights& L = w->layers[l];
    L.attn_norm = ld.vector(p + "attn_norm.weight", H);
    L.ffn_norm = ld.vector(p + "ffn_norm.weight", H);
    L.q = ld.matrix(p + "attn_q.weight", QD, H, permute ? c.n_heads : 0);
    L.k = ld.matrix(p + "attn_k.weight", KVD, H, permute ? c.n_kv_heads : 0);
    L.v = ld.matrix(p + "attn_v.weight", KVD, H);
    L.o = ld.matrix(p + "attn_output.weight", H, QD);
    L.q_bias = ld.vector(p + "attn_q.bias", QD, c.qkv_bias, permute ? c.n_heads : 0);
    L.k_bias = ld.vector(p + "attn_k.bias", KVD, c.qkv_bias, permute ? c.n_kv_heads : 0);
    L.v_bias = ld.vector(p + "attn_v.bias", KVD, c.qkv_bias);
    L.o_bias = ld.vector(p + "attn_output.bias", H, false);
    if (c.qk_norm) {
      L.q_norm = ld.vector(p + "attn_q_norm.weight", c.head_dim);
      L.k_norm = ld.vector(p + "attn_k_norm.weight", c.head_dim);
    }
    L.gate = ld.matrix(p + "ffn_gate.weight", F, H);
    L.up = ld.matrix(p + "ffn_up.weight", F, H);
    L.down = ld.matrix(p + "ffn_down.weight", H, F);
  }
  return w;
}

std::unique_ptr<ModelWeights> load_model_weights(const std::string& path) {
  std::unique_ptr<ModelWeights> w;
  if (is_gguf_path(path)) w = load_gguf_weights(path);
  // HF folders with a quantization_config (gptq / awq / hqq / compressed-tensors) decode their
  // packed linears through src/io/checkpoints (quant/quantized_loader.h).
  else if (hf_dir_is_quantized(path)) w = load_quantized_hf_weights(path);
  else w = load_hf_weights(path);
  repack_weights_for_cpu(*w);
  return w;
}

}  // namespace lowbit
