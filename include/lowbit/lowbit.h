// lowbit public C++ API: load a Hugging Face model folder, tokenize, generate, score.
// Everything here is stable; internals under src/ are not.
//
//   auto m = lowbit::Model::load("models/stories260K");
//   std::string text = m->generate("Once upon a time", {.max_tokens = 32, .greedy = true});
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lowbit/error.h"

namespace lowbit {

struct LoadOptions {
  int context_length = 0;  // KV cache slots; 0: the model's maximum, capped at 4096
  int threads = 0;         // 0: all cores
};

struct GenerateOptions {
  int max_tokens = 128;
  bool greedy = false;
  float temperature = 0.8f;
  int top_k = 40;
  float top_p = 0.95f;
  uint64_t seed = 0;
};

struct PerplexityOptions {
  int context_length = 512;  // tokens per chunk
  int max_chunks = 0;        // 0: all full chunks
};

struct PerplexityResult {
  double perplexity = 0;
  double mean_nll = 0;
  int64_t n_scored = 0;
  int n_chunks = 0;
};

class Model {
 public:
  static std::unique_ptr<Model> load(const std::string& dir, const LoadOptions& options = {});
  ~Model();

  std::string architecture() const;
  int vocab_size() const;
  int64_t n_params() const;

  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const;
  std::string detokenize(const std::vector<int32_t>& ids) const;

  // Generates a continuation of prompt (BOS is added as the tokenizer says). on_text, if
  // given, receives each piece of text as it is produced; returning false stops.
  std::string generate(std::string_view prompt, const GenerateOptions& options = {},
                       const std::function<bool(std::string_view)>& on_text = {});

  // Logits [tokens.size() x vocab] of one causal sequence from an empty cache. positions:
  // one id per token (as transformers' position_ids), or empty for 0, 1, 2, ...
  std::vector<float> logits(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions = {});

  // Perplexity of text: [BOS] + tokens, non-overlapping chunks, every position after the
  // first of a chunk scored.
  PerplexityResult perplexity(std::string_view text, const PerplexityOptions& options = {});

 private:
  Model();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lowbit
