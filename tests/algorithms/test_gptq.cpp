#include "algorithms/gptq.h"

#include <gtest/gtest.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>

#include "algo_test_util.h"
#include "algorithms/rtn.h"
#include "core/error.h"

namespace {

using lowbit::GptqOptions;
using lowbit::QuantizedLinear;

struct Problem {
  int64_t n_out, n_in;
  std::vector<float> w, x, h;
};

Problem make_problem(int64_t n_out, int64_t n_in, int64_t n_tokens, uint32_t seed) {
  Problem p{n_out, n_in, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  p.w.resize(static_cast<size_t>(n_out * n_in));
  for (float& v : p.w) v = normal(rng);
  p.x = algo_test::correlated_activations(n_tokens, n_in, seed + 1);
  lowbit::GptqHessian hess(n_in);
  const int64_t batch = 128;  // tokens per "sample"
  for (int64_t t0 = 0; t0 < n_tokens; t0 += batch)
    hess.add_batch(&p.x[t0 * n_in], std::min(batch, n_tokens - t0), 1);
  p.h = hess.matrix();
  return p;
}

GptqOptions gopt(int bits, int gs, bool sym, bool desc_act = false, bool static_groups = false) {
  GptqOptions o;
  o.bits = bits;
  o.group_size = gs;
  o.sym = sym;
  o.desc_act = desc_act;
  o.static_groups = static_groups;
  return o;
}

TEST(GptqHessian, RunningAverageEqualsTwoOverNXtX) {
  const int64_t K = 24, T = 50;
  const std::vector<float> x = algo_test::correlated_activations(T, K, 7);
  lowbit::GptqHessian h(K);
  h.add_batch(x.data(), 20, 2);           // 2 samples of 10 tokens
  h.add_batch(&x[20 * K], 30, 3);         // 3 samples of 10 tokens
  EXPECT_EQ(h.n_samples(), 5);
  for (int64_t a = 0; a < K; ++a)
    for (int64_t b = 0; b < K; ++b) {
      double ref = 0;
      for (int64_t t = 0; t < T; ++t) ref += double(x[t * K + a]) * x[t * K + b];
      ref *= 2.0 / 5.0;
      ASSERT_NEAR(h.matrix()[a * K + b], ref, 1e-4 * (1 + std::fabs(ref))) << a << "," << b;
    }
  std::vector<float> bad(K, 0.0f);
  bad[3] = std::nanf("");
  EXPECT_THROW(h.add_batch(bad.data(), 1, 1), lowbit::Error);
  EXPECT_THROW(h.add_batch(x.data(), 1, 0), lowbit::Error);
}

TEST(GptqHessian, InverseCholeskyFactor) {
  const Problem p = make_problem(4, 48, 512, 11);
  const int64_t K = p.n_in;
  std::vector<float> u;
  ASSERT_TRUE(lowbit::gptq_inverse_cholesky(p.h.data(), K, 0.01f, u));
  double mean_diag = 0;
  for (int64_t k = 0; k < K; ++k) mean_diag += p.h[k * K + k];
  mean_diag /= K;
  // (U^T U) (H + damp I) == I, and U is upper triangular.
  for (int64_t a = 0; a < K; ++a)
    for (int64_t b = 0; b < K; ++b) {
      if (b < a) {
        ASSERT_EQ(u[a * K + b], 0.0f);
      }
      double acc = 0;
      for (int64_t m = 0; m < K; ++m) {
        double uu = 0;
        for (int64_t r = 0; r <= std::min(a, m); ++r) uu += double(u[r * K + a]) * u[r * K + m];
        acc += uu * (p.h[m * K + b] + (m == b ? 0.01 * mean_diag : 0.0));
      }
      ASSERT_NEAR(acc, a == b ? 1.0 : 0.0, 2e-3) << a << "," << b;
    }
  // Indefinite even after damping.
  const float bad[4] = {1.0f, 2.0f, 2.0f, 1.0f};
  EXPECT_FALSE(lowbit::gptq_inverse_cholesky(bad, 2, 0.01f, u));
}

// The copying form of the factorisation as it was first written (copy, damp, potrf, potri,
// mirror, potrf): the in-place one must give the same bits, which also checks that LAPACK
// leaves the triangle it does not factor alone (the in-place form keeps H there).
bool copying_inverse_cholesky(const std::vector<float>& h, int64_t n, float percdamp, std::vector<float>& u) {
  const lapack_int N = static_cast<lapack_int>(n);
  double diag_sum = 0.0;
  for (int64_t k = 0; k < n; ++k) diag_sum += h[k * n + k];
  const float damp = percdamp * static_cast<float>(diag_sum / static_cast<double>(n));
  u = h;
  for (int64_t k = 0; k < n; ++k) u[k * n + k] += damp;
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'U', N, u.data(), N) != 0) return false;
  if (LAPACKE_spotri(LAPACK_COL_MAJOR, 'U', N, u.data(), N) != 0) return false;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < j; ++i) u[i * n + j] = u[j * n + i];
  if (LAPACKE_spotrf(LAPACK_COL_MAJOR, 'L', N, u.data(), N) != 0) return false;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < r; ++c) u[r * n + c] = 0.0f;
  return true;
}

// H minus eps * mean(diag) on the diagonal: indefinite, so percdamp 0.01 is not enough.
std::vector<float> nearly_indefinite(const Problem& p, double eps) {
  const int64_t K = p.n_in;
  double mean_diag = 0;
  for (int64_t k = 0; k < K; ++k) mean_diag += p.h[k * K + k];
  mean_diag /= K;
  std::vector<float> h = p.h;
  for (int64_t k = 0; k < K; ++k) h[k * K + k] -= static_cast<float>(eps * mean_diag);
  return h;
}

TEST(GptqHessian, InPlaceInverseCholeskyIsBitExactAndRestoresHOnFailure) {
  for (int64_t K : {48, 200, 384}) {  // 384 > OpenBLAS's blocking, so its blocked paths run too
    const Problem p = make_problem(4, K, 2048, 13);
    std::vector<float> ref, a = p.h;
    ASSERT_TRUE(copying_inverse_cholesky(p.h, K, 0.01f, ref));
    ASSERT_TRUE(lowbit::gptq_inverse_cholesky_in_place(a.data(), K, 0.01f));
    EXPECT_EQ(0, std::memcmp(a.data(), ref.data(), a.size() * sizeof(float))) << K;
    // A failure gives H back bit for bit, ready for the next damping.
    const std::vector<float> bad = nearly_indefinite(p, 0.5);
    a = bad;
    ASSERT_FALSE(lowbit::gptq_inverse_cholesky_in_place(a.data(), K, 0.01f));
    EXPECT_EQ(0, std::memcmp(a.data(), bad.data(), a.size() * sizeof(float))) << K;
  }
}

TEST(GptqHessian, DecayOnlyBatchAndSymmetricMatrix) {
  const int64_t K = 40;
  const std::vector<float> x = algo_test::correlated_activations(30, K, 9);
  lowbit::GptqHessian h(K);
  h.add_batch(x.data(), 30, 1);
  const std::vector<float> one = h.matrix();
  h.add_batch(nullptr, 0, 1);  // an empty sample still counts: H *= 1/2
  for (int64_t a = 0; a < K; ++a)
    for (int64_t b = 0; b < K; ++b) {
      ASSERT_EQ(h.matrix()[a * K + b], h.matrix()[b * K + a]) << a << "," << b;
      ASSERT_EQ(h.matrix()[a * K + b], one[std::min(a, b) * K + std::max(a, b)] * 0.5f) << a << "," << b;
    }
  EXPECT_EQ(h.take().size(), static_cast<size_t>(K * K));
}

// GPTQModel's damp recovery: every retry starts from the undamped H (the in-place
// factorisation puts it back), so the result is the one a direct call at the final percdamp
// gives; and the vector overload (no copy of H) is the pointer overload.
TEST(Gptq, DampRetryStartsFromTheOriginalHessian) {
  const Problem p = make_problem(16, 128, 4096, 17);
  const std::vector<float> h = nearly_indefinite(p, 0.012);
  lowbit::GptqStats st;
  const QuantizedLinear a = lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, h.data(), gopt(4, 32, false), &st);
  ASSERT_GT(st.percdamp_used, 0.01f);
  GptqOptions direct = gopt(4, 32, false);
  direct.percdamp = st.percdamp_used;
  direct.damp_auto_increment = 0.0f;
  const QuantizedLinear b = lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, std::vector<float>(h), direct);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeros, b.zeros);
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, std::vector<float>(7), direct), lowbit::Error);
}

// The point of GPTQ: with a correlated Hessian its output error tr(dW H dW^T) beats RTN's.
TEST(GptqQuality, BeatsRtnOnHessianError) {
  const Problem p = make_problem(64, 256, 4096, 21);
  for (int bits : {4, 3}) {
    for (int gs : {128, -1, 32}) {
      for (bool desc_act : {false, true}) {
        const GptqOptions o = gopt(bits, gs, false, desc_act);
        lowbit::GptqStats st;
        const QuantizedLinear g = lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, p.h.data(), o, &st);
        lowbit::RtnOptions r;
        r.bits = bits;
        r.group_size = gs;
        r.sym = false;
        const QuantizedLinear q = lowbit::rtn_quantize(p.w.data(), p.n_out, p.n_in, r);
        const double e_gptq = algo_test::hessian_error(p.w, g, p.h);
        const double e_rtn = algo_test::hessian_error(p.w, q, p.h);
        std::printf("gptq quality: bits %d group %d desc_act %d: tr(dW H dW^T) gptq %.4g rtn %.4g (ratio %.3f)\n", bits,
                    gs, int(desc_act), e_gptq, e_rtn, e_gptq / e_rtn);
        EXPECT_LT(e_gptq, 0.8 * e_rtn) << "bits " << bits << " gs " << gs << " desc_act " << desc_act;
        EXPECT_EQ(st.n_dead, 0);
        EXPECT_GT(st.loss, 0.0);
      }
    }
  }
}

// A diagonal Hessian has no cross terms to feed errors into: GPTQ reduces to RTN exactly.
TEST(Gptq, DiagonalHessianIsRtn) {
  const auto shapes = algo_test::named_weights();
  const auto& wt = shapes[0];
  std::vector<float> h(static_cast<size_t>(wt.n_in * wt.n_in), 0.0f);
  for (int64_t k = 0; k < wt.n_in; ++k) h[k * wt.n_in + k] = 1.0f + 0.01f * static_cast<float>(k % 7);
  for (int bits : {2, 3, 4, 8})
    for (int gs : {32, 128, -1}) {
      const QuantizedLinear g = lowbit::gptq_quantize(wt.w.data(), wt.n_out, wt.n_in, h.data(), gopt(bits, gs, true));
      lowbit::RtnOptions r;
      r.bits = bits;
      r.group_size = gs;
      const QuantizedLinear q = lowbit::rtn_quantize(wt.w.data(), wt.n_out, wt.n_in, r);
      EXPECT_EQ(g.codes, q.codes) << bits << " " << gs;
      EXPECT_EQ(g.scales, q.scales) << bits << " " << gs;
      EXPECT_EQ(g.zeros, q.zeros) << bits << " " << gs;
    }
}

TEST(Gptq, ActOrderGidxAndStaticGroups) {
  const Problem p = make_problem(32, 256, 2048, 31);
  const int64_t K = p.n_in, gs = 32;
  std::vector<int64_t> perm(K);
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return p.h[a * K + a] > p.h[b * K + b]; });
  std::vector<int64_t> invperm(K);
  for (int64_t i = 0; i < K; ++i) invperm[perm[i]] = i;

  // desc_act: g_idx[k] = invperm[k] / gs; group g holds columns perm[g*gs .. (g+1)*gs).
  const QuantizedLinear a = lowbit::gptq_quantize(p.w.data(), p.n_out, K, p.h.data(), gopt(4, gs, true, true));
  algo_test::expect_well_formed(a, "desc_act");
  for (int64_t k = 0; k < K; ++k) ASSERT_EQ(a.g_idx[k], invperm[k] / gs) << k;
  // Its scales are what find_params gives on those (updated) columns: at least the first
  // group's params come from the untouched weights, so they equal RTN with the same g_idx.
  lowbit::RtnOptions r;
  r.bits = 4;
  r.group_size = gs;
  const QuantizedLinear rt = lowbit::rtn_quantize(p.w.data(), p.n_out, K, r, a.g_idx.data());
  for (int64_t o = 0; o < p.n_out; ++o) ASSERT_EQ(a.scales[o * a.n_groups()], rt.scales[o * rt.n_groups()]) << o;

  // static groups + desc_act: params from the original contiguous columns before anything
  // moves (= RTN), g_idx = k / gs again (gptq.md §1.5).
  const QuantizedLinear s = lowbit::gptq_quantize(p.w.data(), p.n_out, K, p.h.data(), gopt(4, gs, true, true, true));
  const QuantizedLinear rs = lowbit::rtn_quantize(p.w.data(), p.n_out, K, r);
  for (int64_t k = 0; k < K; ++k) ASSERT_EQ(s.g_idx[k], k / gs);
  EXPECT_EQ(s.scales, rs.scales);
  EXPECT_EQ(s.zeros, rs.zeros);
  // And without act-order the g_idx is the plain one.
  const QuantizedLinear n = lowbit::gptq_quantize(p.w.data(), p.n_out, K, p.h.data(), gopt(4, gs, true));
  for (int64_t k = 0; k < K; ++k) ASSERT_EQ(n.g_idx[k], k / gs);
  // Static groups still do error feedback: better than RTN on the Hessian error.
  EXPECT_LT(algo_test::hessian_error(p.w, s, p.h), algo_test::hessian_error(p.w, rs, p.h));
}

TEST(Gptq, BlockSizeOnlyChangesRounding) {
  // Lazy batching is an exact rewrite of the column-by-column update when groups align
  // with blocks; only fp32 summation order differs.
  const Problem p = make_problem(16, 256, 1024, 41);
  GptqOptions o = gopt(4, 128, false);
  const QuantizedLinear a = lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, p.h.data(), o);
  o.block_size = 1;
  const QuantizedLinear b = lowbit::gptq_quantize(p.w.data(), p.n_out, p.n_in, p.h.data(), o);
  size_t n_same = 0;
  for (size_t i = 0; i < a.codes.size(); ++i) n_same += a.codes[i] == b.codes[i];
  EXPECT_GE(n_same, a.codes.size() * 99 / 100);
}

TEST(Gptq, DeadColumnsAreZeroed) {
  Problem p = make_problem(8, 64, 512, 51);
  const int64_t K = p.n_in;
  for (int64_t k : {5, 40}) {
    for (int64_t j = 0; j < K; ++j) p.h[k * K + j] = p.h[j * K + k] = 0.0f;  // an input that is always 0
  }
  lowbit::GptqStats st;
  for (bool desc_act : {false, true}) {
    const QuantizedLinear q = lowbit::gptq_quantize(p.w.data(), p.n_out, K, p.h.data(), gopt(4, 32, false, desc_act), &st);
    EXPECT_EQ(st.n_dead, 2);
    for (int64_t o = 0; o < p.n_out; ++o) {
      EXPECT_EQ(q.dequant(o, 5), 0.0f);
      EXPECT_EQ(q.dequant(o, 40), 0.0f);
    }
  }
}

TEST(Gptq, NamedShapes) {
  for (const auto& wt : algo_test::named_weights()) {
    const std::vector<float> x = algo_test::correlated_activations(256, wt.n_in, 61);
    lowbit::GptqHessian hess(wt.n_in);
    hess.add_batch(x.data(), 256, 2);
    for (int bits : {2, 3, 4, 8})
      for (int gs : {-1, 32, 64, 128})
        for (bool sym : {true, false})
          for (bool desc_act : {false, true})
            for (bool static_groups : {false, true}) {
              const std::string ctx = wt.name + " b" + std::to_string(bits) + " g" + std::to_string(gs) +
                                      (sym ? " sym" : " asym") + (desc_act ? " act" : "") + (static_groups ? " static" : "");
              const QuantizedLinear q = lowbit::gptq_quantize(wt.w.data(), wt.n_out, wt.n_in, hess.matrix().data(),
                                                              gopt(bits, gs, sym, desc_act, static_groups));
              algo_test::expect_well_formed(q, ctx);
              if (wt.name == "zeros") {
                std::vector<float> dq(wt.w.size());
                q.dequantize(dq.data());
                for (float v : dq) ASSERT_EQ(v, 0.0f) << ctx;
              }
            }
  }
}

TEST(Gptq, RejectsBadInput) {
  const Problem p = make_problem(4, 32, 64, 71);
  GptqOptions o = gopt(4, 16, true);
  std::vector<float> h = p.h;
  h[3 * 32 + 3] = -1.0f;
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, h.data(), o), lowbit::Error);
  h = p.h;
  h[7] = INFINITY;
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, h.data(), o), lowbit::Error);
  // Indefinite: damping up to percdamp < 1 cannot rescue it.
  std::vector<float> indef(32 * 32, 0.0f);
  for (int k = 0; k < 32; ++k) indef[k * 32 + k] = 1.0f;
  indef[1] = indef[32] = 3.0f;
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, indef.data(), o), lowbit::Error);
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, nullptr, o), lowbit::Error);
  o.percdamp = 0.0f;
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, p.h.data(), o), lowbit::Error);
  o = gopt(4, 64, true);  // wider than the row: one group
  EXPECT_EQ(lowbit::gptq_quantize(p.w.data(), 4, 32, p.h.data(), o).n_groups(), 1);
  o.bits = 0;
  EXPECT_THROW(lowbit::gptq_quantize(p.w.data(), 4, 32, p.h.data(), o), lowbit::Error);
  std::vector<float> w = p.w;
  w[2] = std::nanf("");
  EXPECT_THROW(lowbit::gptq_quantize(w.data(), 4, 32, p.h.data(), gopt(4, 16, true)), lowbit::Error);
}

}  // namespace
