#include "model/synth.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/convert.h"
#include "core/error.h"
#include "core/progress.h"
#include "io/safetensors.h"
#include "model/tokenizer.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr size_t kBlock = size_t{1} << 16;  // elements per independently seeded block

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

// One block: counter-based splitmix64 (value i = mix(state + (i+1) * golden)), one 64-bit
// draw per Box-Muller pair (24-bit uniforms; |z| <= 5.9 sigma).
void fill_block(float* dst, size_t n, float stddev, uint64_t state) {
  constexpr float kInv24 = 1.0f / 16777216.0f;
  constexpr float kTwoPi = 6.28318530717958647692f;
  for (size_t i = 0; i < n; i += 2) {
    state += 0x9E3779B97F4A7C15ull;
    const uint64_t x = mix64(state);
    const float u1 = (static_cast<float>(x >> 40) + 0.5f) * kInv24;
    const float u2 = static_cast<float>(x & 0xFFFFFF) * kInv24;
    const float r = stddev * std::sqrt(-2.0f * std::log(u1));
    const float a = kTwoPi * u2;
    dst[i] = r * std::cos(a);
    if (i + 1 < n) dst[i + 1] = r * std::sin(a);
  }
}

uint64_t block_state(uint64_t seed, uint64_t key, uint64_t block) {
  return mix64(mix64(seed ^ 0x5EED5EED5EED5EEDull) ^ mix64(key + block * 0xD1B54A32D192ED03ull));
}

// Fills n elements of `dtype` at dst.
void fill_tensor(void* dst, DType dtype, size_t n, const SynthTensor& t, float stddev, uint64_t seed) {
  const size_t eb = dtype_n_bytes(dtype);
  const int64_t n_blocks = static_cast<int64_t>((n + kBlock - 1) / kBlock);
  const uint64_t key = fnv1a(t.name);
#pragma omp parallel
  {
    std::vector<float> buf(dtype == DType::F32 ? 0 : kBlock);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < n_blocks; ++b) {
      const size_t off = static_cast<size_t>(b) * kBlock;
      const size_t m = std::min(kBlock, n - off);
      float* out = dtype == DType::F32 ? static_cast<float*>(dst) + off : buf.data();
      if (t.init == SynthTensor::Init::Ones) std::fill(out, out + m, 1.0f);
      else fill_block(out, m, stddev, block_state(seed, key, static_cast<uint64_t>(b)));
      if (dtype != DType::F32) convert_from_f32(dtype, out, static_cast<uint8_t*>(dst) + off * eb, m);
    }
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* torch_dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    default: return "";
  }
}

void write_text(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Removes the temp dir unless released.
struct DirGuard {
  std::string path;
  bool armed = true;
  ~DirGuard() {
    if (!armed) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const char kTokenizerConfig[] = R"({
  "tokenizer_class": "LlamaTokenizer",
  "add_bos_token": true,
  "add_eos_token": false,
  "bos_token": "<s>",
  "eos_token": "</s>",
  "unk_token": "<unk>",
  "pad_token": null,
  "clean_up_tokenization_spaces": false,
  "legacy": true,
  "model_max_length": 512,
  "sp_model_kwargs": {}
}
)";

const char kSpecialTokensMap[] = R"({
  "bos_token": "<s>",
  "eos_token": "</s>",
  "unk_token": "<unk>"
}
)";

}  // namespace

std::vector<std::string> synth_preset_names() { return {"llama-3.2-1b", "qwen2.5-0.5b", "llama-2-7b", "tiny"}; }

ModelConfig synth_preset(const std::string& name_in) {
  const std::string name = lower(name_in);
  ModelConfig c;
  c.arch = Arch::Llama;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  if (name == "llama-3.2-1b") {
    c.hidden_size = 2048;
    c.n_layers = 16;
    c.n_heads = 32;
    c.n_kv_heads = 8;
    c.head_dim = 64;
    c.intermediate_size = 8192;
    c.vocab_size = 128256;
    c.max_position_embeddings = 131072;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 500000.0;
    c.rope_scaling.type = RopeScaling::Type::Llama3;
    c.rope_scaling.factor = 32.0;
    c.rope_scaling.low_freq_factor = 1.0;
    c.rope_scaling.high_freq_factor = 4.0;
    c.rope_scaling.original_max_position_embeddings = 8192;
    c.tie_word_embeddings = true;
  } else if (name == "qwen2.5-0.5b") {
    c.arch = Arch::Qwen2;
    c.architecture = "Qwen2ForCausalLM";
    c.model_type = "qwen2";
    c.hidden_size = 896;
    c.n_layers = 24;
    c.n_heads = 14;
    c.n_kv_heads = 2;
    c.head_dim = 64;
    c.intermediate_size = 4864;
    c.vocab_size = 151936;
    c.max_position_embeddings = 32768;
    c.rms_norm_eps = 1e-6;
    c.rope_theta = 1000000.0;
    c.tie_word_embeddings = true;
    c.qkv_bias = true;
  } else if (name == "llama-2-7b") {
    c.hidden_size = 4096;
    c.n_layers = 32;
    c.n_heads = 32;
    c.n_kv_heads = 32;
    c.head_dim = 128;
    c.intermediate_size = 11008;
    c.vocab_size = 32000;
    c.max_position_embeddings = 4096;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = false;
  } else if (name == "tiny") {
    c.hidden_size = 64;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 16;
    c.intermediate_size = 128;
    c.vocab_size = 512;
    c.max_position_embeddings = 2048;
    c.rms_norm_eps = 1e-5;
    c.rope_theta = 10000.0;
    c.tie_word_embeddings = true;
  } else {
    std::string names;
    for (const auto& n : synth_preset_names()) names += (names.empty() ? "" : ", ") + n;
    fail("--like", "unknown preset \"" + name_in + "\" (known: " + names + ")");
  }
  return c;
}

ModelConfig synth_config(const SynthOptions& o) {
  ModelConfig c = synth_preset(o.like);
  if (o.vocab < 0) fail("--vocab", "must be positive");
  if (o.layers < 0) fail("--layers", "must be positive");
  if (o.vocab > 0) c.vocab_size = o.vocab;
  if (o.layers > 0) c.n_layers = o.layers;
  if (o.untied) c.tie_word_embeddings = false;
  if (o.dtype != DType::F32 && o.dtype != DType::F16 && o.dtype != DType::BF16)
    fail("--dtype", "must be f32, f16 or bf16");
  c.torch_dtype = torch_dtype_name(o.dtype);
  return c;
}

std::vector<SynthTensor> synth_tensors(const ModelConfig& c) {
  using I = SynthTensor::Init;
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, QD = c.q_dim(), KVD = c.kv_dim();
  std::vector<SynthTensor> ts;
  ts.push_back({"model.embed_tokens.weight", {V, H}, I::Normal});
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    ts.push_back({p + "input_layernorm.weight", {H}, I::Ones});
    ts.push_back({p + "self_attn.q_proj.weight", {QD, H}, I::Normal});
    if (c.qkv_bias) ts.push_back({p + "self_attn.q_proj.bias", {QD}, I::Normal});
    ts.push_back({p + "self_attn.k_proj.weight", {KVD, H}, I::Normal});
    if (c.qkv_bias) ts.push_back({p + "self_attn.k_proj.bias", {KVD}, I::Normal});
    ts.push_back({p + "self_attn.v_proj.weight", {KVD, H}, I::Normal});
    if (c.qkv_bias) ts.push_back({p + "self_attn.v_proj.bias", {KVD}, I::Normal});
    ts.push_back({p + "self_attn.o_proj.weight", {H, QD}, I::Normal});
    if (c.o_bias) ts.push_back({p + "self_attn.o_proj.bias", {H}, I::Normal});
    if (c.qk_norm) {
      ts.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, I::Ones});
      ts.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, I::Ones});
    }
    ts.push_back({p + "post_attention_layernorm.weight", {H}, I::Ones});
    ts.push_back({p + "mlp.gate_proj.weight", {F, H}, I::Normal});
    if (c.mlp_bias) ts.push_back({p + "mlp.gate_proj.bias", {F}, I::Normal});
    ts.push_back({p + "mlp.up_proj.weight", {F, H}, I::Normal});
    if (c.mlp_bias) ts.push_back({p + "mlp.up_proj.bias", {F}, I::Normal});
    ts.push_back({p + "mlp.down_proj.weight", {H, F}, I::Normal});
    if (c.mlp_bias) ts.push_back({p + "mlp.down_proj.bias", {H}, I::Normal});
  }
  ts.push_back({"model.norm.weight", {H}, I::Ones});
  if (!c.tie_word_embeddings) ts.push_back({"lm_head.weight", {V, H}, I::Normal});
  return ts;
}

int64_t synth_param_count(const ModelConfig& c) {
  int64_t n = 0;
  for (const auto& t : synth_tensors(c)) n += t.n_elems();
  return n;
}

void synth_fill_normal(float* dst, size_t n, float stddev, uint64_t seed, uint64_t key) {
  const int64_t n_blocks = static_cast<int64_t>((n + kBlock - 1) / kBlock);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n_blocks; ++b) {
    const size_t off = static_cast<size_t>(b) * kBlock;
    fill_block(dst + off, std::min(kBlock, n - off), stddev, block_state(seed, key, static_cast<uint64_t>(b)));
  }
}

SynthResult synth_model(const SynthOptions& o, const std::string& dir_in) {
  const auto t0 = std::chrono::steady_clock::now();
  if (dir_in.empty()) fail("-o", "output directory required");
  std::string dir = dir_in;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  SynthResult res;
  ModelConfig c = synth_config(o);

  // Tokenizer: bundled, or copied from a directory.
  std::vector<std::pair<std::string, std::string>> tok_files;  // (name, bytes)
  if (o.tokenizer_dir.empty()) {
    size_t n = 0;
    const unsigned char* p = synth_bundled_tokenizer(&n);
    tok_files.push_back({"tokenizer.model", std::string(reinterpret_cast<const char*>(p), n)});
    tok_files.push_back({"tokenizer_config.json", kTokenizerConfig});
    tok_files.push_back({"special_tokens_map.json", kSpecialTokensMap});
    if (c.vocab_size < 512)
      fail("--vocab", fmt::format("{} is smaller than the bundled tokenizer's 512 pieces", c.vocab_size));
  } else {
    auto tok = load_tokenizer(o.tokenizer_dir);
    if (c.vocab_size < tok->vocab_size())
      fail("--vocab", fmt::format("{} is smaller than the tokenizer's {} pieces", c.vocab_size, tok->vocab_size()));
    c.bos_token_id = tok->bos_id();
    c.eos_token_ids.clear();
    if (tok->eos_id() >= 0) c.eos_token_ids.push_back(tok->eos_id());
    for (const char* name : {"tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
      const fs::path p = fs::path(o.tokenizer_dir) / name;
      std::error_code ec;
      if (fs::exists(p, ec)) tok_files.push_back({name, read_file(p.string())});
    }
  }
  res.config = c;

  // Output location: DIR.tmp-<pid>, renamed at the end.
  std::error_code ec;
  const bool dir_exists = fs::exists(dir, ec);
  if (dir_exists) {
    if (!fs::is_directory(dir, ec)) fail(dir, "exists and is not a directory");
    if (!fs::is_empty(dir, ec) && !o.force) fail(dir, "exists and is not empty (--force replaces it)");
  }
  const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) fail(tmp, "cannot create directory: " + ec.message());
  DirGuard guard{tmp};

  // Shard plan: greedy in HF order, as SafetensorsWriter::write does.
  const std::vector<SynthTensor> tensors = synth_tensors(c);
  const size_t eb = dtype_n_bytes(o.dtype);
  std::vector<std::vector<size_t>> shards(1);
  size_t cur = 0, total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t nb = static_cast<size_t>(tensors[i].n_elems()) * eb;
    if (cur > 0 && cur + nb > o.max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(i);
    cur += nb;
    total += nb;
    res.n_params += tensors[i].n_elems();
  }
  res.n_bytes = total;

  Progress progress("synth", static_cast<int64_t>(2 * total), o.progress);
  int64_t done = 0;
  const size_t n_shards = shards.size();
  json weight_map = json::object();
  for (size_t s = 0; s < n_shards; ++s) {
    const std::string name = n_shards == 1 ? std::string("model.safetensors")
                                           : fmt::format("model-{:05d}-of-{:05d}.safetensors", s + 1, n_shards);
    SafetensorsWriter w;
    w.set_metadata("format", "pt");
    w.set_metadata("lowbit.synth", fmt::format("like={} seed={} stddev={:g}: random weights, the text is noise",
                                               lower(o.like), o.seed, o.stddev));
    std::vector<std::unique_ptr<uint8_t[]>> bufs;
    size_t shard_bytes = 0;
    for (size_t i : shards[s]) {
      const SynthTensor& t = tensors[i];
      const size_t n = static_cast<size_t>(t.n_elems());
      bufs.emplace_back(new uint8_t[n * eb]);
      fill_tensor(bufs.back().get(), o.dtype, n, t, o.stddev, o.seed);
      w.add(t.name, o.dtype, t.shape, bufs.back().get());
      done += static_cast<int64_t>(n * eb);
      shard_bytes += n * eb;
      progress.update(done, name);
      weight_map[t.name] = name;
    }
    w.write_file((fs::path(tmp) / name).string());
    done += static_cast<int64_t>(shard_bytes);
    progress.update(done, name);
    res.files.push_back(name);
  }
  progress.finish();
  if (n_shards > 1) {
    json index = json::object();
    index["metadata"] = json{{"total_size", static_cast<uint64_t>(total)}};
    index["weight_map"] = std::move(weight_map);
    write_text((fs::path(tmp) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
    res.files.push_back("model.safetensors.index.json");
  }

  for (const auto& [name, bytes] : tok_files) write_text((fs::path(tmp) / name).string(), bytes);
  json gen = json::object();
  if (c.bos_token_id >= 0) gen["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) gen["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) gen["eos_token_id"] = c.eos_token_ids;
  write_text((fs::path(tmp) / "generation_config.json").string(), gen.dump(2) + "\n");
  write_text((fs::path(tmp) / "README.md").string(),
             fmt::format("# Synthetic model (lowbit synth)\n\n"
                         "Random weights with the shapes of `{}` ({} layers, vocab {}, {}, {}), written by\n"
                         "`lowbit synth --like {} --seed {}`. Matrices ~ N(0, {:g}), norm weights 1.\n"
                         "It is for benchmarks and tests: the text it generates is noise.\n"
                         "The tokenizer is {}.\n",
                         lower(o.like), c.n_layers, c.vocab_size, c.torch_dtype,
                         c.tie_word_embeddings ? "tied embeddings" : "separate lm_head", lower(o.like), o.seed,
                         o.stddev,
                         o.tokenizer_dir.empty() ? "stories260K's 512-piece sentencepiece model (ids < 512)"
                                                 : "copied from " + o.tokenizer_dir));
  write_text((fs::path(tmp) / "config.json").string(), config_to_json(c).dump(2) + "\n");

  // Move into place.
  std::string old;
  if (fs::exists(dir, ec)) {
    if (fs::is_empty(dir, ec)) {
      fs::remove(dir, ec);
    } else {
      old = dir + ".old-" + std::to_string(::getpid());
      fs::rename(dir, old, ec);
      if (ec) fail(dir, "cannot move the old directory aside: " + ec.message());
    }
  }
  fs::rename(tmp, dir, ec);
  if (ec) fail(dir, "cannot rename " + tmp + " into place: " + ec.message());
  guard.armed = false;
  if (!old.empty()) fs::remove_all(old, ec);
  fs::path parent = fs::path(dir).parent_path();
  fsync_dir(parent.empty() ? "." : parent.string());
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace lowbit
