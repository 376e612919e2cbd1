// Prompt -> continuation: one batched pass over the prompt, then one token at a time,
// stopping at EOS or after n_predict tokens.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model/sampler.h"
#include "model/transformer.h"

namespace lowbit {

struct GenerateStats {
  int n_prompt = 0;
  int n_generated = 0;
  double prompt_s = 0;
  double decode_s = 0;
};

// on_token(id) is called for every generated token; return false to stop early.
std::vector<int32_t> generate(Transformer& model, const std::vector<int32_t>& prompt, int n_predict,
                              Sampler& sampler, const std::vector<int>& eos_ids,
                              const std::function<bool(int32_t)>& on_token, GenerateStats* stats = nullptr);

}  // namespace lowbit
