// Shared by the tests under tests/eval: a fake logits source with a known distribution.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "eval/perplexity.h"

namespace evaltest {

// Every row puts logit ln(a) on token (tok + 1) % V and 0 elsewhere, so on the sequence
// 0, 1, 2, ... (mod V) every next token has probability a / (a + V - 1).
// Records the chunks it was given.
struct FakeModel {
  int V = 8;
  double a = 3.0;
  std::vector<std::vector<int32_t>> seen;

  lowbit::ChunkForward forward() {
    return [this](const int32_t* t, int n, float* logits) {
      seen.emplace_back(t, t + n);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < V; ++j)
          logits[static_cast<size_t>(i) * V + j] = j == (t[i] + 1) % V ? static_cast<float>(std::log(a)) : 0.0f;
    };
  }
  double nll() const { return -std::log(a / (a + V - 1)); }
};

inline std::vector<int32_t> ramp_tokens(int n, int V) {
  std::vector<int32_t> t(n);
  for (int i = 0; i < n; ++i) t[i] = i % V;
  return t;
}

}  // namespace evaltest
