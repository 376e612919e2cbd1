// Next-token choice: greedy, or temperature -> top-k -> top-p (nucleus, Holtzman et al. 2019)
// sampling with a seeded generator, so a run with the same seed repeats exactly.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace lowbit {

struct SamplerOptions {
  bool greedy = false;
  float temperature = 0.8f;
  int top_k = 40;       // 0: off
  float top_p = 0.95f;  // 1: off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions o) : o_(o), rng_(o.seed) {}
  int32_t sample(const float* logits, int n_vocab);

 private:
  SamplerOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

int32_t argmax(const float* x, int n);

}  // namespace lowbit
