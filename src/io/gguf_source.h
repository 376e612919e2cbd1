// A model on its way to a GGUF file: GGUF metadata plus tensors with GGUF names, shapes and
// ggml types. Read from a GGUF file as it is, or converted in memory from a Hugging Face
// folder the way llama.cpp's convert_hf_to_gguf.py does it (specs/gguf.md §2, §2.1, §2.2):
// names, reversed shapes, Q/K row permutation for llama, 1-D tensors and norms as F32,
// llama.* metadata with the exact GGUF types, tokenizer.ggml.* from tokenizer.model.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "formats/registry.h"
#include "io/gguf.h"

namespace lowbit {

class SafetensorsModel;

struct SourceTensor {
  std::string name;            // GGUF name: "blk.0.attn_q.weight"
  std::vector<int64_t> ne;     // fastest dimension first
  uint32_t ggml_type = 0;      // F32/F16/BF16 from HF; anything a GGUF may hold
  const uint8_t* data = nullptr;  // n_bytes, valid while the ModelSource lives
  size_t n_bytes = 0;
};

struct ModelSource {
  std::string path;
  bool from_hf = false;
  std::vector<GgufKv> metadata;       // in file (or converter) order
  std::vector<SourceTensor> tensors;  // in file (or safetensors) order

  // What the tensors point into.
  std::unique_ptr<GgufFile> gguf;
  std::unique_ptr<SafetensorsModel> safetensors;
  std::deque<std::vector<uint8_t>> owned;

  ModelSource();
  ~ModelSource();
  ModelSource(const ModelSource&) = delete;
  ModelSource& operator=(const ModelSource&) = delete;
};

// A .gguf file (detected by name or magic) or an HF model folder.
std::unique_ptr<ModelSource> open_model_source(const std::string& path);
std::unique_ptr<ModelSource> gguf_model_source(const std::string& path);
// LlamaForCausalLM / MistralForCausalLM with a sentencepiece tokenizer.model; F32, F16 or
// BF16 weights. Anything else is refused with an Error naming the folder.
std::unique_ptr<ModelSource> hf_model_source(const std::string& dir);

// tokenizer.ggml.* for a sentencepiece tokenizer (hf_gguf_vocab.cpp), as
// convert_hf_to_gguf's _set_vocab_sentencepiece + gguf.SpecialVocab: model "llama", pre
// "default", tokens / scores / token_type padded with [PAD{i}] (UNUSED, -10000) to
// vocab_size, added tokens of tokenizer_config.json, bos/eos/unk/pad ids, add_bos_token /
// add_eos_token from tokenizer_config.json, add_space_prefix true.
void add_sentencepiece_vocab(const std::string& dir, int vocab_size, std::vector<GgufKv>& metadata);

}  // namespace lowbit
