#include "algorithms/rtn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "algo_test_util.h"
#include "core/convert.h"
#include "core/error.h"

namespace {

using lowbit::QuantizedLinear;
using lowbit::RtnOptions;

// golden/hf/gptq: AutoGPTQ Quantizer.find_params per group (the columns with g_idx == g)
// and clamp(round(w/s)+z, 0, maxq) codes, for 2/3/4/8 bits, sym/asym, contiguous groups,
// act-order g_idx and edge groups. RTN with the same g_idx must give them bit for bit.
TEST(RtnGolden, MatchesAutoGptqFindParamsAndCodes) {
  const std::string dir = algo_test::golden_dir("gptq");
  if (dir.empty()) GTEST_SKIP() << "shared reference dir absent (set LOWBIT_SHARED_DIR)";
  const std::vector<float> w = algo_test::load_f32(dir + "/inputs/W.npy");
  const std::vector<float> w_edge = algo_test::load_f32(dir + "/inputs/W_edge.npy");
  const int64_t N = 64, K = 256;
  int n_cases = 0;
  for (int bits : {2, 3, 4, 8}) {
    for (bool sym : {true, false}) {
      for (const char* kind : {"descF", "descT", "edge"}) {
        const std::string name = "b" + std::to_string(bits) + (sym ? "_sym_" : "_asym_") + kind;
        const std::string cdir = dir + "/" + name;
        const std::string gname = std::string(kind) == "descT" ? "g_idx_descT" : "g_idx_descF";
        const std::vector<int64_t> g64 = lowbit::read_npy(dir + "/inputs/" + gname + ".npy").to_i64();
        const std::vector<int32_t> g_idx(g64.begin(), g64.end());
        RtnOptions opt;
        opt.bits = bits;
        opt.sym = sym;
        opt.group_size = 32;
        const auto& src = std::string(kind) == "edge" ? w_edge : w;
        const QuantizedLinear q = lowbit::rtn_quantize(src.data(), N, K, opt, g_idx.data());
        const std::vector<float> scales = algo_test::load_f32(cdir + "/in_scales.npy");
        const std::vector<float> zeros = algo_test::load_f32(cdir + "/in_zeros.npy");
        const std::vector<int64_t> codes = lowbit::read_npy(cdir + "/in_codes.npy").to_i64();
        ASSERT_EQ(scales.size(), q.scales.size()) << name;
        int n_bad_scale = 0, n_bad_zero = 0, n_bad_code = 0;
        for (size_t i = 0; i < scales.size(); ++i) {
          n_bad_scale += scales[i] != q.scales[i];  // bit-exact: same fp32 ops as torch
          n_bad_zero += zeros[i] != q.zeros[i];
        }
        for (size_t i = 0; i < codes.size(); ++i) n_bad_code += codes[i] != q.codes[i];
        EXPECT_EQ(n_bad_scale, 0) << name;
        EXPECT_EQ(n_bad_zero, 0) << name;
        EXPECT_EQ(n_bad_code, 0) << name;
        ++n_cases;
      }
    }
  }
  EXPECT_EQ(n_cases, 24);
}

TEST(RtnGolden, FourBitDequantMatchesAutoGptqWHat) {
  const std::string dir = algo_test::golden_dir("gptq");
  if (dir.empty()) GTEST_SKIP() << "shared reference dir absent (set LOWBIT_SHARED_DIR)";
  const std::vector<float> w = algo_test::load_f32(dir + "/inputs/W.npy");
  for (bool sym : {true, false}) {
    const std::string cdir = dir + (sym ? "/b4_sym_descF" : "/b4_asym_descF");
    RtnOptions opt;
    opt.bits = 4;
    opt.sym = sym;
    opt.group_size = 32;
    const QuantizedLinear q = lowbit::rtn_quantize(w.data(), 64, 256, opt);
    const std::vector<float> w_hat = algo_test::load_f32(cdir + "/in_W_hat.npy");  // fp16 values
    std::vector<float> dq(w_hat.size());
    q.dequantize(dq.data());
    for (size_t i = 0; i < dq.size(); ++i)
      ASSERT_EQ(lowbit::f16_to_f32(lowbit::f32_to_f16(dq[i])), w_hat[i]) << cdir << " element " << i;
  }
}

TEST(Rtn, FindParamsConventions) {
  // Symmetric 4-bit: scale = 2 amax / 15, zero 8; +amax maps to 7.5 and clips to 15.
  const float x[4] = {-0.3f, 0.1f, 0.2f, 0.3f};
  lowbit::GridParams p = lowbit::gptq_find_params(x, 4, 1, 4, true);
  EXPECT_FLOAT_EQ(p.scale, 0.6f / 15.0f);
  EXPECT_EQ(p.zero, 8.0f);
  EXPECT_EQ(lowbit::gptq_code(0.3f, p, 15), 15);
  EXPECT_EQ(lowbit::gptq_code(-0.3f, p, 15), 0);
  // The range always contains 0: all-positive asym groups get zero 0.
  const float pos[3] = {0.5f, 1.0f, 2.0f};
  p = lowbit::gptq_find_params(pos, 3, 1, 4, false);
  EXPECT_EQ(p.zero, 0.0f);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 15.0f);
  // All zeros: [-1, 1].
  const float z[2] = {0.0f, 0.0f};
  p = lowbit::gptq_find_params(z, 2, 1, 2, false);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 3.0f);
  EXPECT_EQ(p.zero, 2.0f);  // round(1.5) = 2 (half to even)
  // MSE search never does worse than min-max on its own criterion.
  std::vector<float> heavy = {-1.0f, 0.01f, 0.02f, -0.015f, 0.03f, 0.005f, -0.02f, 0.025f};
  lowbit::MseSearch mse;
  mse.enabled = true;
  const lowbit::GridParams a = lowbit::gptq_find_params(heavy.data(), 8, 1, 3, false);
  const lowbit::GridParams b = lowbit::gptq_find_params(heavy.data(), 8, 1, 3, false, mse);
  auto err = [&](lowbit::GridParams g) {
    double e = 0;
    for (float v : heavy) e += std::pow(std::fabs(lowbit::gptq_dequant(lowbit::gptq_code(v, g, 7), g) - v), 2.4);
    return e;
  };
  EXPECT_LE(err(b), err(a));
}

TEST(Rtn, NamedShapesAllBitsAndGroups) {
  for (const auto& wt : algo_test::named_weights()) {
    for (int bits : {8, 4, 3, 2}) {
      for (int gs : {-1, 32, 64, 128}) {
        for (bool sym : {true, false}) {
          RtnOptions opt;
          opt.bits = bits;
          opt.group_size = gs;
          opt.sym = sym;
          const std::string ctx = wt.name + " b" + std::to_string(bits) + " g" + std::to_string(gs) + (sym ? " sym" : " asym");
          const QuantizedLinear q = lowbit::rtn_quantize(wt.w.data(), wt.n_out, wt.n_in, opt);
          algo_test::expect_well_formed(q, ctx);
          EXPECT_EQ(q.group_size, gs <= 0 ? wt.n_in : gs) << ctx;
          // Asymmetric: every value lies inside its group's grid, so the error is <= scale/2
          // (plus fp32 rounding). Symmetric: +amax clips from 7.5 to 7 steps, one step at most,
          // except GPTQ's quirk for groups without a negative value (range [0, amax] on a grid
          // centred at zero 2^(b-1): the upper half clips), which is not bounded here.
          std::vector<float> dq(wt.w.size());
          q.dequantize(dq.data());
          std::vector<char> has_neg(q.scales.size(), 0);
          for (int64_t o = 0; o < wt.n_out; ++o)
            for (int64_t i = 0; i < wt.n_in; ++i)
              if (wt.w[o * wt.n_in + i] < 0.0f) has_neg[o * q.n_groups() + q.group_of(i)] = 1;
          for (int64_t o = 0; o < wt.n_out; ++o)
            for (int64_t i = 0; i < wt.n_in; ++i) {
              const int64_t g = o * q.n_groups() + q.group_of(i);
              if (sym && !has_neg[g]) continue;
              const float s = q.scales[g];
              const float err = std::fabs(dq[o * wt.n_in + i] - wt.w[o * wt.n_in + i]);
              ASSERT_LE(err, (sym ? 1.0f : 0.5f) * s * 1.0001f + 1e-6f) << ctx << " at " << o << "," << i;
            }
          if (wt.name == "zeros") {
            for (float v : dq) ASSERT_EQ(v, 0.0f) << ctx;
          }
          if (wt.name == "constant" && !sym) {
            for (float v : dq) ASSERT_NEAR(v, 0.375f, 1e-6f) << ctx;
          }
        }
      }
    }
  }
}

TEST(Rtn, RejectsBadInput) {
  std::vector<float> w(64, 0.1f);
  RtnOptions opt;
  opt.group_size = 16;
  EXPECT_THROW(lowbit::rtn_quantize(w.data(), 0, 64, opt), lowbit::Error);
  opt.bits = 9;
  EXPECT_THROW(lowbit::rtn_quantize(w.data(), 1, 64, opt), lowbit::Error);
  opt.bits = 4;
  opt.group_size = 128;  // wider than the row: one partial group, as GPTQ does
  EXPECT_EQ(lowbit::rtn_quantize(w.data(), 1, 64, opt).n_groups(), 1);
  opt.group_size = 16;
  w[3] = std::nanf("");
  EXPECT_THROW(lowbit::rtn_quantize(w.data(), 1, 64, opt), lowbit::Error);
  w[3] = 0.0f;
  std::vector<int32_t> g_idx(64, 0);
  g_idx[10] = 4;  // only 4 groups of 16
  EXPECT_THROW(lowbit::rtn_quantize(w.data(), 1, 64, opt, g_idx.data()), lowbit::Error);
  EXPECT_THROW(lowbit::rtn_quantize(nullptr, 1, 64, opt), lowbit::Error);
}

}  // namespace
