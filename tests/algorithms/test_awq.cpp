#include "algorithms/awq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "algo_test_util.h"
#include "algorithms/awq_grid.h"
#include "algorithms/rtn.h"
#include "core/convert.h"
#include "core/error.h"

namespace {

using lowbit::AwqOptions;
using lowbit::QuantizedLinear;

float to_f16(float v) { return lowbit::f16_to_f32(lowbit::f32_to_f16(v)); }

// golden/hf/awq: AutoAWQ pseudo_quantize_tensor (w_bit 4, zero_point) on an fp16 weight with
// edge groups (all >= 0, all <= 0, all zero). fp16 mode must give its scales, zeros and
// W_hat bit for bit, and QuantizedLinear's dequant rounded to fp16 must equal dequantize_gemm.
TEST(AwqGolden, PseudoQuantizeMatchesAutoAwqBitForBit) {
  const std::string dir = algo_test::golden_dir("awq");
  if (dir.empty()) GTEST_SKIP() << "shared reference dir absent (set LOWBIT_SHARED_DIR)";
  const std::vector<float> w = algo_test::load_f32(dir + "/inputs/W.npy");
  const int64_t N = 64, K = 256;
  for (int gs : {128, 64}) {
    const std::string cdir = dir + "/w4_g" + std::to_string(gs);
    AwqOptions opt;
    opt.group_size = gs;
    std::vector<float> w_hat(w.size());
    const QuantizedLinear q = lowbit::awq_pseudo_quantize(w.data(), N, K, opt, w_hat.data());
    algo_test::expect_well_formed(q, cdir);
    const std::vector<float> scales_gn = algo_test::load_f32(cdir + "/in_scales_GN.npy");
    const std::vector<float> zeros_gn = algo_test::load_f32(cdir + "/in_zeros_GN.npy");
    const std::vector<float> ref_hat = algo_test::load_f32(cdir + "/in_W_hat.npy");
    const std::vector<float> deq_kn = algo_test::load_f32(cdir + "/dequantize_gemm.npy");
    const int64_t G = K / gs;
    int n_bad = 0;
    for (int64_t g = 0; g < G; ++g)
      for (int64_t n = 0; n < N; ++n) {
        n_bad += scales_gn[g * N + n] != q.scales[n * G + g];
        n_bad += zeros_gn[g * N + n] != q.zeros[n * G + g];
      }
    EXPECT_EQ(n_bad, 0) << cdir << " scales/zeros";
    n_bad = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        n_bad += w_hat[n * K + k] != ref_hat[n * K + k];
        n_bad += to_f16(q.dequant(n, k)) != deq_kn[k * N + n];
      }
    EXPECT_EQ(n_bad, 0) << cdir << " W_hat";
    // The edge groups of the input (README §2): row 2 cols 128..191 all zero.
    if (gs == 64) {
      EXPECT_EQ(q.scales[2 * G + 2], to_f16(to_f16(1e-5f) / 15.0f));
    }
  }
}

TEST(AwqGrid, FastFp16RoundingMatchesConversion) {
  // Every fp16 value, every midpoint between neighbours (ties to even), the subnormal range,
  // the overflow edge, and random fp32 bit patterns.
  auto check = [](float v) {
    const float ref = lowbit::f16_to_f32(lowbit::f32_to_f16(v));
    const float got = lowbit::awq_detail::round_to_f16(v);
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(got)) << v;
    } else {
      ASSERT_EQ(std::memcmp(&ref, &got, 4), 0) << v << " -> " << ref << " vs " << got;
    }
  };
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float a = lowbit::f16_to_f32(static_cast<uint16_t>(h));
    check(a);
    if ((h & 0x7FFF) < 0x7C00) {
      const float b = lowbit::f16_to_f32(static_cast<uint16_t>(h + 1));
      if (std::isfinite(b) && std::signbit(a) == std::signbit(b)) check(0.5f * (a + b));
    }
  }
  check(65519.0f);
  check(65520.0f);
  check(-65520.0f);
  check(1e-9f);
  std::mt19937 rng(42);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t u = rng();
    float v;
    std::memcpy(&v, &u, 4);
    check(v);
  }
}

struct Salient {
  int64_t n_out = 64, n_in = 256, n_tokens = 1024;
  std::vector<float> w, x;
};

// A layer whose input has a few channels 20x louder than the rest (the activation outliers
// AWQ is about), with ordinary Gaussian weights.
Salient make_salient(uint32_t seed) {
  Salient s;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  s.w.resize(static_cast<size_t>(s.n_out * s.n_in));
  for (float& v : s.w) v = normal(rng);
  s.x = algo_test::correlated_activations(s.n_tokens, s.n_in, seed + 1, {3, 77, 150, 201}, 20.0f);
  return s;
}

std::vector<float> effective_weight(const QuantizedLinear& q) {
  std::vector<float> out(static_cast<size_t>(q.n_out * q.n_in));
  q.dequantize(out.data());
  if (!q.input_scales.empty())
    for (int64_t o = 0; o < q.n_out; ++o)
      for (int64_t j = 0; j < q.n_in; ++j) out[o * q.n_in + j] /= q.input_scales[j];
  return out;
}

TEST(AwqQuality, BeatsRtnOnOutputErrorWithSalientChannels) {
  const Salient s = make_salient(5);
  for (int bits : {4, 3}) {
    for (int gs : {128, 64}) {
      AwqOptions opt;
      opt.bits = bits;
      opt.group_size = gs;
      const QuantizedLinear a = lowbit::awq_quantize(s.w.data(), s.n_out, s.n_in, s.x.data(), s.n_tokens, opt);
      algo_test::expect_well_formed(a, "awq");
      // RTN on the same grid (AutoAWQ's pseudo-quantize, no search) and on GPTQ's grid.
      const QuantizedLinear plain = lowbit::awq_pseudo_quantize(s.w.data(), s.n_out, s.n_in, opt);
      lowbit::RtnOptions r;
      r.bits = bits;
      r.group_size = gs;
      r.sym = false;
      const QuantizedLinear rtn = lowbit::rtn_quantize(s.w.data(), s.n_out, s.n_in, r);
      const double e_awq = algo_test::output_mse(s.x, s.n_tokens, s.w, effective_weight(a), s.n_out, s.n_in);
      const double e_plain = algo_test::output_mse(s.x, s.n_tokens, s.w, effective_weight(plain), s.n_out, s.n_in);
      const double e_rtn = algo_test::output_mse(s.x, s.n_tokens, s.w, effective_weight(rtn), s.n_out, s.n_in);
      std::printf("awq quality: bits %d group %d: output MSE awq %.4g, rtn (awq grid) %.4g, rtn (gptq grid) %.4g\n", bits,
                  gs, e_awq, e_plain, e_rtn);
      EXPECT_LT(e_awq, 0.8 * e_plain) << bits << " " << gs;
      EXPECT_LT(e_awq, 0.8 * e_rtn) << bits << " " << gs;
    }
  }
}

TEST(Awq, ScaleSearchBookkeepingAndModuleLoss) {
  const Salient s = make_salient(9);
  AwqOptions opt;
  const lowbit::AwqScaleResult r =
      lowbit::awq_search_scales({{s.w.data(), s.n_out}}, s.n_in, s.x.data(), s.n_tokens, opt);
  ASSERT_EQ(r.losses.size(), 20u);
  ASSERT_EQ(r.scales.size(), static_cast<size_t>(s.n_in));
  size_t best = 0;
  for (size_t i = 1; i < r.losses.size(); ++i)
    if (r.losses[i] < r.losses[best]) best = i;
  EXPECT_FLOAT_EQ(r.best_ratio, static_cast<float>(best) / 20.0f);
  for (float v : r.scales) ASSERT_TRUE(std::isfinite(v) && v > 0.0f);
  // Salient channels get scaled up relative to the median channel.
  std::vector<float> sorted = r.scales;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  if (r.best_ratio > 0.0f) {
    EXPECT_GT(r.scales[77], sorted[sorted.size() / 2]);
  }

  // A caller-supplied module loss drives the choice: make grid point 7 the only good one.
  int n_calls = 0;
  const lowbit::AwqModuleLoss loss = [&](const std::vector<const float*>& w_hat) {
    EXPECT_EQ(w_hat.size(), 2u);
    return n_calls++ == 7 ? 0.5 : 1.0;
  };
  const lowbit::AwqScaleResult m = lowbit::awq_search_scales(
      {{s.w.data(), s.n_out}, {s.w.data(), 16}}, s.n_in, s.x.data(), s.n_tokens, opt, loss);
  EXPECT_EQ(n_calls, 20);
  EXPECT_FLOAT_EQ(m.best_ratio, 0.35f);

  // Subsampled loss tokens still run and give the same number of grid points.
  opt.max_search_tokens = 100;
  EXPECT_EQ(lowbit::awq_search_scales({{s.w.data(), s.n_out}}, s.n_in, s.x.data(), s.n_tokens, opt).losses.size(), 20u);
}

TEST(Awq, ClipSearchShrinksOnlyWithinRange) {
  Salient s = make_salient(13);
  s.w[4 * s.n_in + 10] = 0.5f;  // one outlier weight: clipping it should pay off
  AwqOptions opt;
  const std::vector<float> best = lowbit::awq_search_clip(s.w.data(), s.n_out, s.n_in, s.x.data(), s.n_tokens, opt);
  ASSERT_EQ(best.size(), static_cast<size_t>(s.n_out * 2));
  for (int64_t o = 0; o < s.n_out; ++o)
    for (int64_t g = 0; g < 2; ++g) {
      float org = 0.0f;
      for (int64_t i = g * 128; i < (g + 1) * 128; ++i) org = std::max(org, std::fabs(to_f16(s.w[o * s.n_in + i])));
      const float b = best[o * 2 + g];
      ASSERT_LE(b, org);
      ASSERT_GE(b, to_f16(org * 0.55f) * 0.999f);
    }
  std::vector<float> w = s.w;
  lowbit::awq_apply_clip(w.data(), s.n_out, s.n_in, best, 128);
  for (int64_t o = 0; o < s.n_out; ++o)
    for (int64_t i = 0; i < s.n_in; ++i) ASSERT_LE(std::fabs(w[o * s.n_in + i]), best[o * 2 + i / 128]);
  EXPECT_THROW(lowbit::awq_apply_clip(w.data(), s.n_out, s.n_in, best, 64), lowbit::Error);
}

TEST(Awq, FoldingKeepsTheFunction) {
  // y = (x * g) W^T  ==  (x * g / s) (W s)^T  and  up -> down: (h W_up^T / s) (W_down s)^T.
  const int64_t n = 16, n_out = 8;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  std::vector<float> x(n), g(n), s(n), w(n_out * n);
  for (auto* v : {&x, &g, &s, &w})
    for (float& e : *v) e = u(rng);
  std::vector<float> g2 = g, w2 = w;
  lowbit::awq_fold_into_norm(g2.data(), nullptr, n, s.data());
  lowbit::awq_scale_input_columns(w2.data(), n_out, n, s.data());
  for (int64_t o = 0; o < n_out; ++o) {
    double a = 0, b = 0;
    for (int64_t j = 0; j < n; ++j) {
      a += double(x[j]) * g[j] * w[o * n + j];
      b += double(x[j]) * g2[j] * w2[o * n + j];
    }
    EXPECT_NEAR(a, b, 1e-5 * std::fabs(a));
  }
  std::vector<float> prev(20 * 4, 1.0f), bias(20, 1.0f);
  lowbit::awq_fold_into_linear(prev.data(), bias.data(), 20, 4, s.data(), n);
  EXPECT_EQ(prev[0], 1.0f);  // the first 20 - 16 rows are untouched
  EXPECT_FLOAT_EQ(prev[4 * 4], 1.0f / s[0]);
  EXPECT_FLOAT_EQ(bias[19], 1.0f / s[15]);
  EXPECT_THROW(lowbit::awq_fold_into_linear(prev.data(), nullptr, 4, 20, s.data(), n), lowbit::Error);
}

TEST(Awq, NamedShapes) {
  for (const auto& wt : algo_test::named_weights()) {
    const std::vector<float> x = algo_test::correlated_activations(128, wt.n_in, 17);
    for (int gs : {-1, 32, 64, 128}) {
      for (bool fp16 : {true, false}) {
        AwqOptions opt;
        opt.group_size = gs;
        opt.fp16 = fp16;
        const std::string ctx = wt.name + " g" + std::to_string(gs) + (fp16 ? " fp16" : " fp32");
        if (gs > 0 && wt.n_in % gs != 0) {
          EXPECT_THROW(lowbit::awq_quantize(wt.w.data(), wt.n_out, wt.n_in, x.data(), 128, opt), lowbit::Error) << ctx;
          continue;
        }
        const QuantizedLinear q = lowbit::awq_quantize(wt.w.data(), wt.n_out, wt.n_in, x.data(), 128, opt);
        algo_test::expect_well_formed(q, ctx);
        ASSERT_EQ(q.input_scales.size(), static_cast<size_t>(wt.n_in)) << ctx;
        const std::vector<float> eff = effective_weight(q);
        for (float v : eff) ASSERT_TRUE(std::isfinite(v)) << ctx;
        if (wt.name == "zeros") {
          for (float v : eff) ASSERT_EQ(v, 0.0f) << ctx;
        }
        // Other bit widths and the symmetric grid on the plain quantizer.
        for (int bits : {2, 3, 8}) {
          for (bool zp : {true, false}) {
            AwqOptions o2 = opt;
            o2.bits = bits;
            o2.zero_point = zp;
            algo_test::expect_well_formed(lowbit::awq_pseudo_quantize(wt.w.data(), wt.n_out, wt.n_in, o2), ctx);
          }
        }
      }
    }
  }
}

TEST(Awq, RejectsBadInput) {
  const Salient s = make_salient(23);
  AwqOptions opt;
  opt.group_size = 100;  // does not divide 256
  EXPECT_THROW(lowbit::awq_pseudo_quantize(s.w.data(), s.n_out, s.n_in, opt), lowbit::Error);
  opt.group_size = 128;
  std::vector<float> x = s.x;
  x[5] = std::nanf("");
  EXPECT_THROW(lowbit::awq_quantize(s.w.data(), s.n_out, s.n_in, x.data(), s.n_tokens, opt), lowbit::Error);
  EXPECT_THROW(lowbit::awq_quantize(s.w.data(), s.n_out, s.n_in, s.x.data(), 0, opt), lowbit::Error);
  EXPECT_THROW(lowbit::awq_search_scales({}, s.n_in, s.x.data(), s.n_tokens, opt), lowbit::Error);
  opt.bits = 1;
  opt.zero_point = false;
  EXPECT_THROW(lowbit::awq_pseudo_quantize(s.w.data(), s.n_out, s.n_in, opt), lowbit::Error);
}

}  // namespace
