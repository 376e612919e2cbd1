// Registry-driven checks: every entry of all_formats() gets the same tests, parameterized by its
// name (Registry/FormatTest.<Check>/<NAME>), so a format added to any family file is covered
// with no new test code. Exactness against llama.cpp is test_golden_quants.cpp's job; here:
//  - layout: block size/bytes consistent, and equal to ggml's for known ids (gguf.md §3);
//  - quantize -> dequantize error on N(0,1) rows <= test_rel_rmse, and on adversarial rows;
//  - NaN/Inf/extreme input never crashes: quantize_rows quantizes or throws lowbit::Error;
//  - formats that require importance refuse to run without; partial blocks are refused;
//  - threaded quantize_rows equals row-by-row.
#include <gtest/gtest.h>

#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/registry.h"

namespace lowbit {
namespace {

constexpr int64_t kCols = 512;  // a multiple of every block size (1, 32, 256)
constexpr int64_t kRows = 8;
// Heavy tails and sign patterns concentrate error in few blocks; llama.cpp's own outputs on such
// rows (golden/quants) are up to ~1.5x their N(0,1) error, so adversarial rows get this slack.
constexpr double kAdversarialSlack = 2.0;
// Formats with fp16 scales cannot resolve values much below 2^-24 (~6e-8): a row of ~1e-7
// values may come back as zeros or a few ulps of fp16. Errors below this are always accepted.
constexpr double kAbsErrorFloor = 1e-6;

// ggml's type table (../shared/specs/gguf.md §3; IQ sizes from ggml-common.h's static_asserts).
struct GgmlType {
  FormatId id;
  const char* name;
  int block_elems;
  int block_bytes;
};
constexpr GgmlType kGgmlTypes[] = {
    {FormatId::F32, "F32", 1, 4},           {FormatId::F16, "F16", 1, 2},
    {FormatId::Q4_0, "Q4_0", 32, 18},       {FormatId::Q4_1, "Q4_1", 32, 20},
    {FormatId::Q5_0, "Q5_0", 32, 22},       {FormatId::Q5_1, "Q5_1", 32, 24},
    {FormatId::Q8_0, "Q8_0", 32, 34},       {FormatId::Q8_1, "Q8_1", 32, 36},
    {FormatId::Q2_K, "Q2_K", 256, 84},      {FormatId::Q3_K, "Q3_K", 256, 110},
    {FormatId::Q4_K, "Q4_K", 256, 144},     {FormatId::Q5_K, "Q5_K", 256, 176},
    {FormatId::Q6_K, "Q6_K", 256, 210},     {FormatId::Q8_K, "Q8_K", 256, 292},
    {FormatId::IQ2_XXS, "IQ2_XXS", 256, 66}, {FormatId::IQ2_XS, "IQ2_XS", 256, 74},
    {FormatId::IQ3_XXS, "IQ3_XXS", 256, 98}, {FormatId::IQ1_S, "IQ1_S", 256, 50},
    {FormatId::IQ4_NL, "IQ4_NL", 32, 18},   {FormatId::IQ3_S, "IQ3_S", 256, 110},
    {FormatId::IQ2_S, "IQ2_S", 256, 82},    {FormatId::IQ4_XS, "IQ4_XS", 256, 136},
    {FormatId::I8, "I8", 1, 1},             {FormatId::I16, "I16", 1, 2},
    {FormatId::I32, "I32", 1, 4},           {FormatId::I64, "I64", 1, 8},
    {FormatId::F64, "F64", 1, 8},           {FormatId::IQ1_M, "IQ1_M", 256, 56},
    {FormatId::BF16, "BF16", 1, 2},         {FormatId::TQ1_0, "TQ1_0", 256, 54},
    {FormatId::TQ2_0, "TQ2_0", 256, 66},    {FormatId::MXFP4, "MXFP4", 32, 17},
};

std::vector<float> gaussian(int64_t n_elems, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(static_cast<size_t>(n_elems));
  for (auto& x : v) x = dist(rng);
  return v;
}

// Log-normal per-column weights, like a real imatrix (mean squared activations).
std::vector<float> importance(uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(kCols);
  for (auto& x : v) x = dist(rng);
  return v;
}

double rms(const float* x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return n ? std::sqrt(s / static_cast<double>(n)) : 0.0;
}
double rms_error(const float* x, const float* y, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
  return n ? std::sqrt(s / static_cast<double>(n)) : 0.0;
}

std::vector<std::string> format_names() {
  std::vector<std::string> names;
  for (const auto& f : all_formats()) names.emplace_back(f.name);
  if (names.empty()) names.emplace_back("");
  return names;
}

class FormatTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam().empty()) GTEST_SKIP() << "the registry is empty";
    f_ = find_format(GetParam());
    ASSERT_NE(f_, nullptr);
  }
  // The importance a plain round trip passes: none, unless the format insists.
  const float* default_importance() const { return f_->requires_importance ? imatrix_.data() : nullptr; }

  std::vector<uint8_t> quantize(const std::vector<float>& x, int64_t n_rows, const float* imp) const {
    std::vector<uint8_t> q(f_->row_bytes(kCols) * static_cast<size_t>(n_rows));
    quantize_rows(f_->id, x.data(), q.data(), n_rows, kCols, imp);
    return q;
  }
  std::vector<float> round_trip(const std::vector<float>& x, int64_t n_rows, const float* imp) const {
    const auto q = quantize(x, n_rows, imp);
    std::vector<float> y(x.size());
    dequantize_rows(f_->id, q.data(), y.data(), n_rows, kCols);
    return y;
  }

  const FormatTraits* f_ = nullptr;
  const std::vector<float> imatrix_ = importance(7);
};

// Checks that need a quantizer skip dequantize-only entries (a macro: GTEST_SKIP returns from
// the function it is written in).
#define REQUIRE_QUANTIZER() \
  if (!f_->quantize) GTEST_SKIP() << f_->name << " is dequantize-only"

std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.empty() ? "None" : info.param;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

TEST(FormatRegistry, IdsAndNamesAreUniqueAndFindable) {
  std::set<uint32_t> ids;
  std::set<std::string> names;
  for (const auto& f : all_formats()) {
    EXPECT_TRUE(ids.insert(static_cast<uint32_t>(f.id)).second) << "duplicate id of " << f.name;
    EXPECT_TRUE(names.insert(std::string(f.name)).second) << "duplicate name " << f.name;
    EXPECT_EQ(find_format(f.id), &f);
    EXPECT_EQ(&format(f.id), &f);
    std::string lower(f.name);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_EQ(find_format(lower), &f) << "lookup by name is case-insensitive";
  }
  EXPECT_EQ(find_format("NOT_A_FORMAT"), nullptr);
  EXPECT_EQ(find_format(static_cast<FormatId>(9999)), nullptr);
  EXPECT_THROW(format(static_cast<FormatId>(9999)), Error);
}

TEST_P(FormatTest, LayoutIsConsistent) {
  EXPECT_GT(f_->block_elems, 0);
  EXPECT_GT(f_->block_bytes, 0);
  EXPECT_NE(f_->dequantize, nullptr);
  EXPECT_EQ(kCols % f_->block_elems, 0) << "tests assume rows of " << kCols;
  EXPECT_EQ(f_->row_bytes(3 * f_->block_elems), 3u * static_cast<size_t>(f_->block_bytes));
  EXPECT_DOUBLE_EQ(f_->bits_per_weight(), 8.0 * f_->block_bytes / f_->block_elems);
  if (f_->requires_importance) {
    EXPECT_TRUE(f_->uses_importance) << "requiring importance implies using it";
  }
  if (f_->quantize) {
    EXPECT_GT(f_->test_rel_rmse, 0.0f);
    EXPECT_LE(f_->test_rel_rmse, 1.0f) << "a bound above 1 accepts all-zero output";
  }
  for (const auto& t : kGgmlTypes) {
    if (t.id != f_->id) continue;
    EXPECT_EQ(f_->name, t.name) << "name must be llama.cpp's";
    EXPECT_EQ(f_->block_elems, t.block_elems) << "elements per block differ from ggml's";
    EXPECT_EQ(f_->block_bytes, t.block_bytes) << "bytes per block differ from ggml's";
  }
}

TEST_P(FormatTest, RoundTripGaussianWithinBound) {
  REQUIRE_QUANTIZER();
  for (uint32_t seed : {1u, 2u}) {
    const auto x = gaussian(kRows * kCols, seed);
    const auto y = round_trip(x, kRows, default_importance());
    const double rel = rms_error(x.data(), y.data(), kRows * kCols) / rms(x.data(), kRows * kCols);
    EXPECT_LE(rel, f_->test_rel_rmse) << f_->name << " relative RMSE on N(0,1) rows, seed " << seed;
  }
}

// With importance: formats that ignore it must give the same bytes; the others stay within the
// bound (importance trades unweighted error for weighted error, hence the slack).
TEST_P(FormatTest, ImportanceIsUsedOrIgnoredAsDeclared) {
  REQUIRE_QUANTIZER();
  const auto x = gaussian(kRows * kCols, 3);
  if (!f_->uses_importance) {
    EXPECT_EQ(quantize(x, kRows, imatrix_.data()), quantize(x, kRows, nullptr))
        << f_->name << " declares uses_importance=false but its output depends on it";
    return;
  }
  const auto y = round_trip(x, kRows, imatrix_.data());
  const double rel = rms_error(x.data(), y.data(), kRows * kCols) / rms(x.data(), kRows * kCols);
  EXPECT_LE(rel, 1.25 * f_->test_rel_rmse) << f_->name << " relative RMSE with an imatrix";
  // Uniform importance must also work (a plausible imatrix for an unused column set).
  const std::vector<float> ones(kCols, 1.0f);
  EXPECT_NO_THROW(round_trip(x, kRows, ones.data()));
}

TEST_P(FormatTest, ImportanceRequirementIsEnforced) {
  REQUIRE_QUANTIZER();
  const auto x = gaussian(kCols, 4);
  std::vector<uint8_t> q(f_->row_bytes(kCols));
  if (f_->requires_importance) {
    EXPECT_THROW(quantize_rows(f_->id, x.data(), q.data(), 1, kCols, nullptr), Error);
    EXPECT_NO_THROW(quantize_rows(f_->id, x.data(), q.data(), 1, kCols, imatrix_.data()));
  } else {
    EXPECT_NO_THROW(quantize_rows(f_->id, x.data(), q.data(), 1, kCols, nullptr));
  }
}

struct Adversarial {
  const char* name;
  std::vector<float> x;  // kCols values
  int64_t outlier = -1;  // element whose block is left out of the error bound
};

std::vector<Adversarial> adversarial_rows() {
  std::vector<Adversarial> rows;
  rows.push_back({"zeros", std::vector<float>(kCols, 0.0f)});
  rows.push_back({"constant", std::vector<float>(kCols, 0.75f)});
  rows.push_back({"negative_constant", std::vector<float>(kCols, -3.0f)});
  std::vector<float> ramp(kCols);
  for (int64_t i = 0; i < kCols; ++i) ramp[i] = -1.0f + 2.0f * static_cast<float>(i) / (kCols - 1);
  rows.push_back({"ramp", ramp});
  // Student-t, 3 degrees of freedom: normal / sqrt(chi2_3 / 3).
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::chi_squared_distribution<float> chi2(3.0f);
  std::vector<float> heavy(kCols);
  for (auto& v : heavy) v = normal(rng) / std::sqrt(chi2(rng) / 3.0f);
  rows.push_back({"heavy_tail", heavy});
  auto huge = gaussian(kCols, 12, 0.02f);
  huge[77] = 1e4f;
  rows.push_back({"one_huge", huge, 77});
  rows.push_back({"tiny", gaussian(kCols, 13, 1e-7f)});
  // Mixed signs and scales: all-positive and all-negative stretches, alternating signs, and
  // magnitudes from 1e-3 to 1e3 across the row.
  auto mixed = gaussian(kCols, 14);
  for (int64_t i = 0; i < kCols; ++i) {
    const float mag = std::fabs(mixed[i]) * std::pow(10.0f, static_cast<float>(i / 64 % 7) - 3.0f);
    const int64_t pattern = (i / 48) % 3;  // 0: positive, 1: negative, 2: alternating
    mixed[i] = pattern == 0 ? mag : pattern == 1 ? -mag : (i % 2 ? -mag : mag);
  }
  rows.push_back({"mixed_signs", mixed});
  return rows;
}

TEST_P(FormatTest, RoundTripAdversarialWithinBound) {
  REQUIRE_QUANTIZER();
  for (const auto& row : adversarial_rows()) {
    SCOPED_TRACE(std::string(f_->name) + " on row '" + row.name + "'");
    const auto y = round_trip(row.x, 1, default_importance());
    bool finite = true;
    for (float v : y) finite = finite && std::isfinite(v);
    EXPECT_TRUE(finite) << "finite input must dequantize to finite values";
    // Error over the row, leaving out the block of a planted outlier (grid formats without a
    // zero code cannot represent small values next to a huge one; that block is checked
    // only for finiteness).
    double err2 = 0, ref2 = 0;
    for (int64_t i = 0; i < kCols; ++i) {
      if (row.outlier >= 0 && i / f_->block_elems == row.outlier / f_->block_elems) continue;
      err2 += (static_cast<double>(row.x[i]) - y[i]) * (static_cast<double>(row.x[i]) - y[i]);
      ref2 += static_cast<double>(row.x[i]) * row.x[i];
    }
    const double err = std::sqrt(err2 / kCols), ref = std::sqrt(ref2 / kCols);
    EXPECT_LE(err, kAdversarialSlack * f_->test_rel_rmse * ref + kAbsErrorFloor)
        << "relative RMSE " << (ref > 0 ? err / ref : err);
    if (std::string(row.name) == "zeros") {
      EXPECT_EQ(err, 0.0) << "zeros must round-trip exactly";
    }
  }
}

// Rows that a careless quantizer would crash on (UB float->int casts, division by zero,
// asserts): each either quantizes or throws lowbit::Error, and a quantized row dequantizes.
TEST_P(FormatTest, NonFiniteAndExtremeInputNeverCrash) {
  REQUIRE_QUANTIZER();
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  struct Case {
    const char* name;
    std::vector<float> x;
    bool has_non_finite;
  };
  std::vector<Case> cases;
  auto with = [&](const char* name, std::initializer_list<std::pair<int64_t, float>> edits, bool non_finite) {
    auto x = gaussian(kCols, 21);
    for (auto [i, v] : edits) x[i] = v;
    cases.push_back({name, x, non_finite});
  };
  with("nan_first", {{0, nan}}, true);
  with("nan_middle", {{300, nan}}, true);
  with("pos_inf", {{5, inf}}, true);
  with("neg_inf", {{511, -inf}}, true);
  with("nan_and_inf", {{1, nan}, {2, inf}, {3, -inf}}, true);
  cases.push_back({"all_nan", std::vector<float>(kCols, nan), true});
  cases.push_back({"all_inf", std::vector<float>(kCols, inf), true});
  with("float_max", {{10, FLT_MAX}, {11, -FLT_MAX}}, false);
  cases.push_back({"huge_constant", std::vector<float>(kCols, 3e38f), false});
  cases.push_back({"subnormal", gaussian(kCols, 22, 1e-40f), false});
  cases.push_back({"min_normal", std::vector<float>(kCols, FLT_MIN), false});
  with("fp16_overflow", {{40, 1e6f}, {41, -7e5f}}, false);

  const std::vector<float> nan_imp(kCols, nan), zero_imp(kCols, 0.0f), neg_imp(kCols, -1.0f);
  std::vector<const float*> imps = {default_importance()};
  if (f_->uses_importance) imps.insert(imps.end(), {imatrix_.data(), nan_imp.data(), zero_imp.data(), neg_imp.data()});

  for (const auto& c : cases) {
    for (const float* imp : imps) {
      SCOPED_TRACE(std::string(f_->name) + " on row '" + c.name + "'" + (imp ? " with importance" : ""));
      std::vector<uint8_t> q(f_->row_bytes(kCols));
      bool quantized = false;
      try {
        quantize_rows(f_->id, c.x.data(), q.data(), 1, kCols, imp);
        quantized = true;
      } catch (const Error&) {
        // refusing is allowed
      }
      if (!quantized) continue;
      std::vector<float> y(kCols);
      dequantize_rows(f_->id, q.data(), y.data(), 1, kCols);
      // Blocks are independent without importance (with it, row statistics mix them), so a
      // block of finite values must come back finite even if another block held a NaN.
      if (!c.has_non_finite || imp) continue;
      for (int64_t b = 0; b < kCols / f_->block_elems; ++b) {
        bool block_finite = true, out_finite = true;
        for (int64_t i = b * f_->block_elems; i < (b + 1) * f_->block_elems; ++i) {
          block_finite = block_finite && std::isfinite(c.x[i]);
          out_finite = out_finite && std::isfinite(y[i]);
        }
        EXPECT_TRUE(!block_finite || out_finite) << "block " << b << " was finite but dequantized to non-finite";
      }
    }
  }
}

TEST_P(FormatTest, PartialBlocksAreRefused) {
  if (f_->block_elems == 1) GTEST_SKIP() << f_->name << " has 1-element blocks: every row length is whole blocks";
  const int64_t bad_cols = f_->block_elems + f_->block_elems / 2;
  std::vector<float> x(static_cast<size_t>(2 * bad_cols), 0.5f), y(x.size());
  std::vector<uint8_t> q(2 * f_->row_bytes(2 * f_->block_elems));
  EXPECT_THROW(quantize_rows(f_->id, x.data(), q.data(), 2, bad_cols, default_importance()), Error);
  EXPECT_THROW(dequantize_rows(f_->id, q.data(), y.data(), 2, bad_cols), Error);
}

TEST_P(FormatTest, ThreadedMatchesRowByRow) {
  REQUIRE_QUANTIZER();
  constexpr int64_t kManyRows = 160;  // 160 x 512 elements: over registry.cpp's threading threshold
  const auto x = gaussian(kManyRows * kCols, 31);
  const auto all = quantize(x, kManyRows, default_importance());
  const size_t row_bytes = f_->row_bytes(kCols);
  std::vector<uint8_t> one(row_bytes);
  for (int64_t r = 0; r < kManyRows; ++r) {
    quantize_rows(f_->id, x.data() + r * kCols, one.data(), 1, kCols, default_importance());
    ASSERT_EQ(std::memcmp(one.data(), all.data() + r * row_bytes, row_bytes), 0) << "row " << r;
  }
  std::vector<float> y_all(x.size()), y_one(kCols);
  dequantize_rows(f_->id, all.data(), y_all.data(), kManyRows, kCols);
  for (int64_t r = 0; r < kManyRows; r += 37) {
    dequantize_rows(f_->id, all.data() + r * row_bytes, y_one.data(), 1, kCols);
    ASSERT_EQ(std::memcmp(y_one.data(), y_all.data() + r * kCols, kCols * sizeof(float)), 0) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, FormatTest, testing::ValuesIn(format_names()), param_name);

}  // namespace
}  // namespace lowbit
