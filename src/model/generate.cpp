#include "model/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace lowbit {

std::vector<int32_t> generate(Transformer& model, const std::vector<int32_t>& prompt, int n_predict,
                              Sampler& sampler, const std::vector<int>& eos_ids,
                              const std::function<bool(int32_t)>& on_token, GenerateStats* stats) {
  using clock = std::chrono::steady_clock;
  if (prompt.empty()) fail("", "empty prompt: at least one token (BOS) is needed");
  const int V = model.config().vocab_size;
  std::vector<float> logits(V);
  std::vector<int32_t> out;
  auto t0 = clock::now();
  model.forward(prompt.data(), nullptr, static_cast<int>(prompt.size()), logits.data(), false);
  auto t1 = clock::now();
  for (int i = 0; i < n_predict; ++i) {
    int32_t id = sampler.sample(logits.data(), V);
    if (std::find(eos_ids.begin(), eos_ids.end(), id) != eos_ids.end()) break;
    out.push_back(id);
    if (on_token && !on_token(id)) break;
    if (i + 1 == n_predict || model.n_past() >= model.max_ctx()) break;
    model.forward(&id, nullptr, 1, logits.data(), false);
  }
  auto t2 = clock::now();
  if (stats) {
    stats->n_prompt = static_cast<int>(prompt.size());
    stats->n_generated = static_cast<int>(out.size());
    stats->prompt_s = std::chrono::duration<double>(t1 - t0).count();
    stats->decode_s = std::chrono::duration<double>(t2 - t1).count();
  }
  return out;
}

}  // namespace lowbit
