// Shared inputs for the algorithm tests: named weight shapes, correlated activations, golden
// file loading, and error metrics.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "algorithms/quantized_linear.h"
#include "io/npy.h"
#include "test_util.h"

namespace algo_test {

struct Weights {
  std::string name;
  int64_t n_out = 0, n_in = 0;
  std::vector<float> w;
};

// The named input shapes every algorithm is run on.
inline std::vector<Weights> named_weights() {
  std::vector<Weights> out;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto make = [&](const std::string& name, int64_t n_out, int64_t n_in) -> Weights& {
    out.push_back({name, n_out, n_in, std::vector<float>(static_cast<size_t>(n_out * n_in))});
    return out.back();
  };
  {
    Weights& w = make("normal", 32, 256);
    for (float& v : w.w) v = normal(rng);
  }
  {
    // Student-t with 2 degrees of freedom: heavy tails, a few weights 10-50x the typical one.
    std::student_t_distribution<float> t2(2.0f);
    Weights& w = make("heavy_tails", 32, 256);
    for (float& v : w.w) v = 0.01f * t2(rng);
  }
  {
    Weights& w = make("ramp", 16, 256);
    for (int64_t i = 0; i < w.n_out * w.n_in; ++i) w.w[i] = -1.0f + 2.0f * static_cast<float>(i) / (w.n_out * w.n_in);
  }
  {
    Weights& w = make("constant", 8, 256);
    for (float& v : w.w) v = 0.375f;
  }
  make("zeros", 8, 256);
  {
    Weights& w = make("one_huge", 16, 256);
    for (float& v : w.w) v = normal(rng);
    w.w[5 * 256 + 77] = 1000.0f;
  }
  {
    Weights& w = make("odd_sizes", 13, 320);  // 320 = 2.5 groups of 128: a partial last group
    for (float& v : w.w) v = normal(rng);
  }
  return out;
}

// Activations [n_tokens, n_in] with correlated channels (x = z A, A random mixing) and a
// spread of channel magnitudes, so the Hessian X^T X is far from diagonal.
inline std::vector<float> correlated_activations(int64_t n_tokens, int64_t n_in, uint32_t seed,
                                                 const std::vector<int64_t>& salient = {}, float salient_gain = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  const int64_t n_latent = std::max<int64_t>(4, n_in / 4);
  std::vector<float> mix(static_cast<size_t>(n_latent * n_in));
  for (float& v : mix) v = n01(rng);
  std::vector<float> gain(static_cast<size_t>(n_in));
  for (int64_t j = 0; j < n_in; ++j) gain[j] = std::exp(0.5f * n01(rng));
  for (int64_t j : salient) gain[j] *= salient_gain;
  std::vector<float> x(static_cast<size_t>(n_tokens * n_in), 0.0f), z(static_cast<size_t>(n_latent));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (float& v : z) v = n01(rng);
    for (int64_t j = 0; j < n_in; ++j) {
      float acc = 0.3f * n01(rng);  // independent part keeps H well conditioned
      for (int64_t l = 0; l < n_latent; ++l) acc += z[l] * mix[l * n_in + j];
      x[t * n_in + j] = gain[j] * acc / std::sqrt(static_cast<float>(n_latent));
    }
  }
  return x;
}

// tr(dW H dW^T) for dW = W - dequant(q): the layer-output error GPTQ minimises.
inline double hessian_error(const std::vector<float>& w, const lowbit::QuantizedLinear& q, const std::vector<float>& h) {
  const int64_t N = q.n_out, K = q.n_in;
  std::vector<float> dq(static_cast<size_t>(N * K));
  q.dequantize(dq.data());
  double total = 0.0;
  std::vector<double> d(static_cast<size_t>(K));
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t k = 0; k < K; ++k) d[k] = static_cast<double>(w[o * K + k]) - dq[o * K + k];
    for (int64_t a = 0; a < K; ++a) {
      double row = 0.0;
      for (int64_t b = 0; b < K; ++b) row += h[a * K + b] * d[b];
      total += d[a] * row;
    }
  }
  return total;
}

// Mean squared output error || X W^T - X Wq^T ||^2 / numel for an effective weight Wq.
inline double output_mse(const std::vector<float>& x, int64_t n_tokens, const std::vector<float>& w,
                         const std::vector<float>& wq, int64_t n_out, int64_t n_in) {
  double total = 0.0;
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t o = 0; o < n_out; ++o) {
      double acc = 0.0;
      for (int64_t j = 0; j < n_in; ++j)
        acc += static_cast<double>(x[t * n_in + j]) * (static_cast<double>(w[o * n_in + j]) - wq[o * n_in + j]);
      total += acc * acc;
    }
  return total / static_cast<double>(n_tokens * n_out);
}

// Every structural invariant of a QuantizedLinear.
inline void expect_well_formed(const lowbit::QuantizedLinear& q, const std::string& ctx) {
  ASSERT_EQ(q.codes.size(), static_cast<size_t>(q.n_out * q.n_in)) << ctx;
  ASSERT_EQ(q.scales.size(), static_cast<size_t>(q.n_out * q.n_groups())) << ctx;
  ASSERT_EQ(q.zeros.size(), q.scales.size()) << ctx;
  if (!q.g_idx.empty()) {
    ASSERT_EQ(q.g_idx.size(), static_cast<size_t>(q.n_in)) << ctx;
    for (int32_t g : q.g_idx) ASSERT_TRUE(g >= 0 && g < q.n_groups()) << ctx;
  }
  for (uint8_t c : q.codes) ASSERT_LT(c, 1 << q.bits) << ctx;
  for (float s : q.scales) ASSERT_TRUE(std::isfinite(s) && s > 0.0f) << ctx << " scale " << s;
  for (float z : q.zeros) ASSERT_TRUE(std::isfinite(z)) << ctx;
}

inline std::string golden_dir(const std::string& sub) {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/golden/hf/" + sub;
}

inline std::vector<float> load_f32(const std::string& path) { return lowbit::read_npy(path).to_f32(); }

}  // namespace algo_test
