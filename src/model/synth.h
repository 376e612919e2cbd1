// Synthetic models: an HF folder (config.json, model.safetensors or shards + index,
// tokenizer, generation_config.json, README.md) with random weights of a real model's
// shapes, for benchmarks and tests without downloading weights. The text such a model
// generates is noise.
//
// Weights: matrices (embeddings, projections, lm_head) ~ N(0, stddev) (default 0.02),
// biases ~ N(0, stddev), norm weights = 1. Every tensor's values depend only on (seed,
// tensor name, element index): generation runs in parallel blocks, each seeded from those,
// so the output is the same for any thread count, and layer i of a --layers 2 model equals
// layer i of the full model. RNG: splitmix64 + Box-Muller.
//
// Tokenizer: the bundled 512-piece sentencepiece model of stories260K (embedded in the
// library, so the binary works from any directory); ids < 512 are valid in any larger
// vocabulary. bos 1, eos 2. Or the tokenizer files of another directory (tokenizer_dir).
//
// Memory: tensors are generated shard by shard (greedy in HF order, max_shard_bytes each,
// as SafetensorsWriter::write shards), each shard written with SafetensorsWriter::write_file
// and freed before the next, so at most one shard (<= 5 GiB by default) is held.
// Atomicity: everything goes to DIR.tmp-<pid>, which is renamed to DIR at the end.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "io/hf_config.h"

namespace lowbit {

// "llama-3.2-1b", "qwen2.5-0.5b", "llama-2-7b", and "tiny" (hidden 64, 2 layers, 4 heads,
// 2 KV heads, FFN 128, vocab 512: for tests).
std::vector<std::string> synth_preset_names();
// The preset's config (case-insensitive name). Throws Error for an unknown name.
ModelConfig synth_preset(const std::string& name);

struct SynthOptions {
  std::string like = "llama-3.2-1b";
  int vocab = 0;       // 0: the preset's
  int layers = 0;      // 0: the preset's
  bool untied = false; // force a separate lm_head.weight (tie_word_embeddings false)
  DType dtype = DType::F32;  // F32, F16 or BF16
  uint64_t seed = 0;
  float stddev = 0.02f;
  size_t max_shard_bytes = 5ull << 30;
  std::string tokenizer_dir;  // "": the bundled sentencepiece tokenizer
  bool force = false;         // replace a non-empty existing DIR
  bool progress = true;
};

// The preset with the options' overrides applied (vocab, layers, untied, dtype, tokenizer ids).
ModelConfig synth_config(const SynthOptions& o);

struct SynthTensor {
  enum class Init { Normal, Ones };
  std::string name;
  std::vector<int64_t> shape;
  Init init = Init::Normal;
  int64_t n_elems() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The tensors load_hf_weights expects for the config, in HF order.
std::vector<SynthTensor> synth_tensors(const ModelConfig& c);
int64_t synth_param_count(const ModelConfig& c);

struct SynthResult {
  ModelConfig config;
  int64_t n_params = 0;
  size_t n_bytes = 0;               // tensor data bytes
  std::vector<std::string> files;   // written weight files (+ index), relative to DIR
  double seconds = 0;
};

// Writes the model folder at dir. Throws Error (the temp dir is removed on failure).
SynthResult synth_model(const SynthOptions& o, const std::string& dir);

// n samples of N(0, stddev) for the stream `key`, deterministic in (seed, key, index).
void synth_fill_normal(float* dst, size_t n, float stddev, uint64_t seed, uint64_t key);

// The bundled tokenizer.model (stories260K's tok512.model).
const unsigned char* synth_bundled_tokenizer(size_t* n_bytes);

}  // namespace lowbit
