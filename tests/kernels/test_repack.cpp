// Row-interleaved repacking (kernels/repack.h): the repacked bytes decode to exactly the source
// rows; the scalar R16 kernel equals the per-row reference dot kernels bit for bit (same
// integer sums, same float order); every SIMD R16 kernel on this machine matches the scalar
// one on random and adversarial inputs, for decode (1 row) and prompt tiles (odd counts);
// matmul on a repacked matrix matches the unrepacked one; repacking releases the source.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "formats/registry.h"
#include "kernels/act_q8.h"
#include "kernels/cpu_features.h"
#include "kernels/dot.h"
#include "kernels/matmul.h"
#include "kernels/qmatrix.h"
#include "core/threads.h"
#include "kernels/repack.h"
#include "model/repack_weights.h"

namespace lowbit {
namespace {

std::vector<float> make(const std::string& kind, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::student_t_distribution<float> td(2.5f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (kind == "normal") v[i] = nd(rng);
    else if (kind == "zeros") v[i] = 0.0f;
    else if (kind == "constant") v[i] = -0.375f;
    else if (kind == "ramp") v[i] = -2.0f + 4.0f * static_cast<float>(i % 977) / 977.0f;
    else if (kind == "heavy") v[i] = 0.05f * td(rng);
    else v[i] = (i % 301 == 7) ? 3000.0f : 0.01f * nd(rng);  // one huge value per few blocks
  }
  return v;
}

QMatrix quantized(FormatId f, int64_t rows, int64_t cols, const std::vector<float>& w) {
  QMatrix m;
  m.format = f;
  m.n_rows = rows;
  m.n_cols = cols;
  m.row_bytes = format(f).row_bytes(cols);
  m.owned.resize(m.n_bytes());
  quantize_rows(f, w.data(), m.owned.data(), rows, cols);
  m.data = m.owned.data();
  return m;
}

const char* kKinds[] = {"normal", "zeros", "constant", "ramp", "heavy", "one_huge"};

class RepackTest : public ::testing::TestWithParam<FormatId> {};

TEST_P(RepackTest, DecodesToTheSourceRowsExactly) {
  const FormatId f = GetParam();
  for (const char* kind : kKinds) {
    const int64_t rows = 48, cols = 10 * find_repack(f)->block_elems;
    const QMatrix m = quantized(f, rows, cols, make(kind, rows * cols, 1));
    const auto r = repack(m);
    ASSERT_NE(r, nullptr);
    // Legacy blocks keep their size; Q4_K unpacks its 12 scale bytes to 16 (148 vs 144 per row).
    EXPECT_LE(r->bytes.size(), m.n_bytes() + m.n_bytes() / 32) << "about the size of the source";
    std::vector<float> want(cols), got(cols);
    for (int64_t i = 0; i < rows; ++i) {
      dequantize_rows(f, m.row(i), want.data(), 1, cols);
      repacked_row_f32(*r, i, got.data());
      ASSERT_EQ(got, want) << kind << " row " << i;
    }
  }
}

TEST_P(RepackTest, ScalarKernelEqualsPerRowReferenceDots) {
  const FormatId f = GetParam();
  const int64_t rows = 32, cols = 512;
  const QMatrix m = quantized(f, rows, cols, make("normal", rows * cols, 2));
  const auto r = repack(m);
  const DotKernel* dk = find_dot_kernel(f, Isa::Ref);
  ASSERT_TRUE(r && dk);
  for (const char* kind : kKinds) {
    const int64_t tokens = 3;
    const auto x = make(kind, tokens * cols, 3);
    ActQ8 a;
    quantize_act_q8(x.data(), tokens, cols, a);
    std::vector<float> y(tokens * rows);
    r->traits->ref(*r, a, 0, r->n_groups(), y.data(), rows);
    if (dk->act == FormatId::Q8_0) {
      // Same activation codes as the per-row kernel: the same integer sums, the same floats.
      std::vector<uint8_t> xq(format(FormatId::Q8_0).row_bytes(cols) * tokens);
      quantize_rows(FormatId::Q8_0, x.data(), xq.data(), tokens, cols);
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t i = 0; i < rows; ++i)
          ASSERT_EQ(y[t * rows + i], dk->fn(cols, m.row(i), xq.data() + t * xq.size() / tokens))
              << kind << " token " << t << " row " << i;
      continue;
    }
    // K-quants pair with Q8_K per-row; the repacked kernels use 32-element activation blocks.
    // Compare with the exact dot of the decoded weights and the decoded activations.
    std::vector<float> wrow(cols);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t i = 0; i < rows; ++i) {
        dequantize_rows(f, m.row(i), wrow.data(), 1, cols);
        double exact = 0, mag = 0;
        for (int64_t j = 0; j < cols; ++j) {
          const double av = static_cast<double>(a.row_qs(t)[j]) * a.row_d(t)[j / 32];
          exact += wrow[j] * av;
          mag += std::fabs(wrow[j] * av);
        }
        ASSERT_NEAR(y[t * rows + i], exact, 1e-4 * mag + 1e-6) << kind << " token " << t << " row " << i;
      }
  }
}

TEST_P(RepackTest, SimdKernelsMatchTheScalarOne) {
  const FormatId f = GetParam();
  const RepackTraits* t = find_repack(f);
  ASSERT_NE(t, nullptr);
  int n_checked = 0;
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa() || t->for_isa(isa) == t->ref) continue;
    for (const char* wk : kKinds)
      for (const char* ak : {"normal", "one_huge", "ramp", "zeros"})
        for (int64_t tokens : {1, 2, 3, 4, 5, 7, 67}) {
          const int64_t rows = 48, cols = 11 * t->block_elems;  // an odd block count
          const QMatrix m = quantized(f, rows, cols, make(wk, rows * cols, 4));
          const auto r = repack(m);
          const auto x = make(ak, tokens * cols, 5 + static_cast<uint32_t>(tokens));
          ActQ8 a;
          quantize_act_q8(x.data(), tokens, cols, a);
          std::vector<float> want(tokens * rows), got(tokens * rows, -1.0f);
          t->ref(*r, a, 0, r->n_groups(), want.data(), rows);
          t->for_isa(isa)(*r, a, 1, r->n_groups(), got.data(), rows);  // groups 1..2 only
          t->for_isa(isa)(*r, a, 0, 1, got.data(), rows);
          // Float rounding of the per-block terms: with an outlier in a block, Q4_K's scale and
          // min terms are large and nearly cancel, so the bound grows with max|w| * max|a|.
          std::vector<float> wd(static_cast<size_t>(rows * cols));
          dequantize_rows(f, m.data, wd.data(), rows, cols);
          float wmax = 0, amax = 0;
          for (float v : wd) wmax = std::max(wmax, std::fabs(v));
          for (float v : x) amax = std::max(amax, std::fabs(v));
          const double term_tol = f == FormatId::Q4_K || f == FormatId::Q6_K ? 1e-7 * wmax * amax * static_cast<double>(cols) : 0.0;
          for (int64_t i = 0; i < tokens * rows; ++i) {
            const double tol = 1e-5 * (std::fabs(want[i]) + 1.0) + 1e-3 * std::fabs(want[i]) + term_tol;
            ASSERT_NEAR(got[i], want[i], tol) << isa_name(isa) << " " << wk << "/" << ak << " tokens " << tokens
                                               << " at " << i;
          }
          ++n_checked;
        }
  }
  if (n_checked == 0) GTEST_SKIP() << "no SIMD R16 kernel on this machine";
}

TEST_P(RepackTest, MatmulOnARepackedMatrixMatchesTheSource) {
  const FormatId f = GetParam();
  const int64_t rows = 64, cols = 2 * std::max<int64_t>(256, find_repack(f)->block_elems);
  const auto wv = make("normal", rows * cols, 6);
  const QMatrix plain = quantized(f, rows, cols, wv);
  QMatrix packed = quantized(f, rows, cols, wv);
  ASSERT_TRUE(repack_matrix(packed));
  EXPECT_EQ(packed.data, nullptr) << "the source bytes are released";
  EXPECT_TRUE(packed.owned.empty());
  EXPECT_LE(packed.n_bytes(), plain.n_bytes() + plain.n_bytes() / 32);
  std::vector<float> bias(rows);
  for (int64_t i = 0; i < rows; ++i) bias[i] = 0.1f * static_cast<float>(i);
  for (int tokens : {1, 5, 33}) {
    const auto x = make("normal", tokens * cols, 7);
    std::vector<float> y0(tokens * rows), y1(tokens * rows);
    matmul(plain, x.data(), tokens, y0.data(), bias.data());
    matmul(packed, x.data(), tokens, y1.data(), bias.data());
    // Against the exact product of the decoded weights (both paths quantize activations to 8
    // bits, the unrepacked K-quant path per 256 and the repacked one per 32 elements: about 1%
    // of the row's magnitude).
    std::vector<float> wd(static_cast<size_t>(rows * cols));
    dequantize_rows(f, plain.data, wd.data(), rows, cols);
    for (int t = 0; t < tokens; ++t)
      for (int64_t i = 0; i < rows; ++i) {
        double exact = bias[i];
        for (int64_t j = 0; j < cols; ++j) exact += static_cast<double>(wd[i * cols + j]) * x[t * cols + j];
        const double tol = 0.02 * std::sqrt(static_cast<double>(cols)) + 1e-4;
        ASSERT_NEAR(y1[t * rows + i], exact, tol) << "repacked, tokens " << tokens;
        ASSERT_NEAR(y0[t * rows + i], exact, 2 * tol) << "source, tokens " << tokens;
      }
    std::vector<float> row(cols), want(cols);
    matrix_row_f32(packed, 17, row.data());
    matrix_row_f32(plain, 17, want.data());
    EXPECT_EQ(row, want);
  }
}

TEST(Repack, ShapesThatDoNotFitAreLeftAlone) {
  QMatrix m = quantized(FormatId::Q4_0, 40, 64, make("normal", 40 * 64, 8));  // 40 rows: not 16k
  EXPECT_EQ(repack(m), nullptr);
  EXPECT_FALSE(repack_matrix(m));
  EXPECT_NE(m.data, nullptr);
  QMatrix k = quantized(FormatId::Q5_K, 16, 256, make("normal", 16 * 256, 9));  // no R16 layout
  EXPECT_EQ(repack(k), nullptr);
}

INSTANTIATE_TEST_SUITE_P(R16, RepackTest, ::testing::Values(FormatId::Q4_0, FormatId::Q8_0, FormatId::Q4_K, FormatId::Q6_K),
                         [](const auto& info) { return std::string(format(info.param).name); });

}  // namespace
}  // namespace lowbit

namespace lowbit {
namespace {

// The activations are quantized once by the calling thread and read by the whole team: a
// second thread must see the same values (it once read its own, empty thread_local buffer).
TEST(Repack, TwoThreadsGiveTheOneThreadResult) {
  const int64_t rows = 256, cols = 512;
  QMatrix m = quantized(FormatId::Q4_0, rows, cols, make("normal", rows * cols, 10));
  ASSERT_TRUE(repack_matrix(m));
  const int tokens = 3;
  const auto x = make("normal", tokens * cols, 11);
  std::vector<float> y1(tokens * rows), y2(tokens * rows);
  const int before = num_threads();
  set_num_threads(1);
  matmul(m, x.data(), tokens, y1.data(), nullptr);
  set_num_threads(2);
  matmul(m, x.data(), tokens, y2.data(), nullptr);
  set_num_threads(before);
  EXPECT_EQ(y1, y2);
}

}  // namespace
}  // namespace lowbit
