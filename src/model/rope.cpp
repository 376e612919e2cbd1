#include "model/rope.h"

#include <cmath>

namespace lowbit {

std::vector<double> rope_inv_freq(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  std::vector<double> f(half);
  for (int i = 0; i < half; ++i) f[i] = 1.0 / std::pow(c.rope_theta, (2.0 * i) / c.head_dim);
  const auto& r = c.rope_scaling;
  if (r.type == RopeScaling::Type::Linear) {
    for (auto& v : f) v /= r.factor;
  } else if (r.type == RopeScaling::Type::Llama3) {
    const double low_wavelen = r.original_max_position_embeddings / r.low_freq_factor;
    const double high_wavelen = r.original_max_position_embeddings / r.high_freq_factor;
    for (auto& v : f) {
      const double wavelen = 2.0 * M_PI / v;
      if (wavelen < high_wavelen) continue;  // high frequencies: unchanged
      if (wavelen > low_wavelen) {           // low frequencies: scaled down
        v /= r.factor;
        continue;
      }
      const double s = (r.original_max_position_embeddings / wavelen - r.low_freq_factor) /
                       (r.high_freq_factor - r.low_freq_factor);
      v = (1.0 - s) * v / r.factor + s * v;
    }
  }
  // GGUF files carry Llama 3.1-style scaling as explicit per-frequency divisors instead.
  if (!c.rope_freq_factors.empty())
    for (int i = 0; i < half && i < static_cast<int>(c.rope_freq_factors.size()); ++i) f[i] /= c.rope_freq_factors[i];
  return f;
}

void RopeTable::build(const std::vector<double>& inv_freq, const int* positions, int n_tokens) {
  const size_t half = inv_freq.size();
  cos.resize(n_tokens * half);
  sin.resize(n_tokens * half);
  for (int t = 0; t < n_tokens; ++t) {
    for (size_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(positions[t]) * inv_freq[i];
      cos[t * half + i] = static_cast<float>(std::cos(a));
      sin[t * half + i] = static_cast<float>(std::sin(a));
    }
  }
}

void rope_apply(float* x, int n_heads, int head_dim, const float* cs, const float* sn) {
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int i = 0; i < half; ++i) {
      const float a = v[i], b = v[i + half];
      v[i] = a * cs[i] - b * sn[i];
      v[i + half] = b * cs[i] + a * sn[i];
    }
  }
}

}  // namespace lowbit
