// IQ family checks until the registry-driven golden test exists: IQ4_NL / IQ4_XS quantize
// byte-for-byte against llama.cpp's output, every IQ type's dequantize bit-for-bit against
// llama.cpp's to_float (../shared/golden/quants, see its README), and refusal instead of a
// crash on NaN/Inf/huge input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/registry.h"
#include "test_util.h"

namespace lowbit {
namespace {

struct ManifestRow {
  std::string type, shape;
  int64_t n_rows = 0, n_cols = 0, row_bytes = 0;
  bool plain = false, with_imatrix = false;
};

std::string golden_dir() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/golden/quants";
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<float> read_f32(const std::string& path) {
  const auto bytes = read_file(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

bool is_iq_type(const std::string& t) { return t.rfind("IQ", 0) == 0; }

std::vector<ManifestRow> iq_manifest(const std::string& dir) {
  std::ifstream f(dir + "/manifest.tsv");
  std::vector<ManifestRow> rows;
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    ManifestRow r;
    int type_id = 0, plain = 0, imat = 0;
    ss >> r.type >> type_id >> r.shape >> r.n_rows >> r.n_cols >> r.row_bytes >> plain >> imat;
    r.plain = plain == 1;
    r.with_imatrix = imat == 1;
    if (ss && is_iq_type(r.type)) rows.push_back(r);
  }
  return rows;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

#define REQUIRE_GOLDENS(dir)                                                                         \
  const std::string dir = golden_dir();                                                              \
  if (dir.empty()) GTEST_SKIP() << "reference material not found (set LOWBIT_SHARED_DIR to ../shared)"

TEST(IQuants, RegistryEntries) {
  for (const char* name : {"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ1_S", "IQ1_M", "IQ4_NL", "IQ4_XS"}) {
    const FormatTraits* f = find_format(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_NE(f->dequantize, nullptr) << name;
  }
  EXPECT_EQ(format(FormatId::IQ4_NL).bits_per_weight(), 4.5);
  EXPECT_EQ(format(FormatId::IQ4_XS).bits_per_weight(), 4.25);
  EXPECT_EQ(format(FormatId::IQ2_XXS).bits_per_weight(), 2.0625);
  EXPECT_EQ(format(FormatId::IQ1_S).bits_per_weight(), 1.5625);
  EXPECT_EQ(format(FormatId::IQ1_M).bits_per_weight(), 1.75);
  EXPECT_TRUE(format(FormatId::IQ2_S).requires_importance);
  EXPECT_TRUE(format(FormatId::IQ1_M).requires_importance);
  EXPECT_FALSE(format(FormatId::IQ3_S).requires_importance);
  EXPECT_FALSE(format(FormatId::IQ4_XS).requires_importance);
}

TEST(IQuants, QuantizeMatchesLlamaCpp) {
  REQUIRE_GOLDENS(dir);
  int n_checked = 0;
  for (const auto& r : iq_manifest(dir)) {
    const FormatTraits* f = find_format(r.type);
    ASSERT_NE(f, nullptr) << r.type;
    if (!f->quantize) continue;
    ASSERT_EQ(static_cast<int64_t>(f->row_bytes(r.n_cols)), r.row_bytes) << r.type;
    const auto input = read_f32(dir + "/inputs/" + r.shape + ".f32");
    const auto imatrix = read_f32(dir + "/inputs/" + r.shape + ".imatrix.f32");
    ASSERT_EQ(static_cast<int64_t>(input.size()), r.n_rows * r.n_cols);
    for (bool with_imat : {false, true}) {
      if (with_imat ? !r.with_imatrix : !r.plain) continue;
      const auto golden = read_file(dir + "/" + r.type + "/" + r.shape + (with_imat ? ".imat.bin" : ".bin"));
      std::vector<uint8_t> out(golden.size());
      quantize_rows(f->id, input.data(), out.data(), r.n_rows, r.n_cols, with_imat ? imatrix.data() : nullptr);
      size_t first_diff = 0;
      while (first_diff < out.size() && out[first_diff] == golden[first_diff]) ++first_diff;
      EXPECT_EQ(first_diff, out.size()) << r.type << " " << r.shape << (with_imat ? " imat" : " plain")
                                        << ": first differing byte " << first_diff;
      ++n_checked;
    }
  }
  EXPECT_EQ(n_checked, 2 * 2 * 8);  // IQ4_NL, IQ4_XS x plain, imat x 8 shapes
}

TEST(IQuants, DequantizeMatchesLlamaCpp) {
  REQUIRE_GOLDENS(dir);
  int n_checked = 0;
  for (const auto& r : iq_manifest(dir)) {
    const FormatTraits* f = find_format(r.type);
    ASSERT_NE(f, nullptr) << r.type;
    // The README: .deq.f32 is to_float of .bin where it exists, else of .imat.bin.
    const auto blocks = read_file(dir + "/" + r.type + "/" + r.shape + (r.plain ? ".bin" : ".imat.bin"));
    const auto golden = read_f32(dir + "/" + r.type + "/" + r.shape + ".deq.f32");
    ASSERT_EQ(static_cast<int64_t>(blocks.size()), r.n_rows * r.row_bytes);
    ASSERT_EQ(static_cast<int64_t>(golden.size()), r.n_rows * r.n_cols);
    std::vector<float> out(golden.size());
    dequantize_rows(f->id, blocks.data(), out.data(), r.n_rows, r.n_cols);
    size_t n_diff = 0, first_diff = 0;
    for (size_t i = 0; i < out.size(); ++i)
      if (bits(out[i]) != bits(golden[i]) && n_diff++ == 0) first_diff = i;
    EXPECT_EQ(n_diff, 0u) << r.type << " " << r.shape << ": first at " << first_diff << " got " << out[first_diff]
                          << " want " << golden[first_diff];
    ++n_checked;
  }
  EXPECT_EQ(n_checked, 9 * 8);
}

// NaN and Inf are refused (quantize_rows throws Error); finite input always quantizes unless
// the fp16 scale overflows (huge values), which is refused too. Nothing may crash.
TEST(IQuants, NonFiniteAndHugeInputRefusedNotCrashing) {
  constexpr int64_t n_per_row = 512;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> base(n_per_row), imat(n_per_row, 1.f);
  for (auto& v : base) v = normal(rng);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (FormatId id : {FormatId::IQ4_NL, FormatId::IQ4_XS}) {
    const FormatTraits& f = format(id);
    std::vector<uint8_t> out(f.row_bytes(n_per_row));
    for (const float* importance : {static_cast<const float*>(nullptr), static_cast<const float*>(imat.data())}) {
      for (float bad : {nan, -nan, inf, -inf}) {
        auto x = base;
        x[100] = bad;
        EXPECT_THROW(quantize_rows(id, x.data(), out.data(), 1, n_per_row, importance), Error) << f.name;
      }
      // Huge values: the float sums or the fp16 scale would overflow.
      for (float huge_value : {3e38f, -1e30f, 1e12f, 3e9f}) {
        std::vector<float> huge(n_per_row, huge_value);
        EXPECT_THROW(quantize_rows(id, huge.data(), out.data(), 1, n_per_row, importance), Error)
            << f.name << " " << huge_value;
        auto one_huge = base;
        one_huge[200] = huge_value;
        EXPECT_THROW(quantize_rows(id, one_huge.data(), out.data(), 1, n_per_row, importance), Error)
            << f.name << " " << huge_value;
      }
      // Large but representable values quantize, and dequantize to finite values.
      auto big = base;
      for (auto& v : big) v *= 1e5f;
      quantize_rows(id, big.data(), out.data(), 1, n_per_row, importance);
      std::vector<float> y(n_per_row);
      dequantize_rows(id, out.data(), y.data(), 1, n_per_row);
      for (float v : y) ASSERT_TRUE(std::isfinite(v)) << f.name;
    }
    // Non-finite importance is refused too.
    auto bad_imat = imat;
    bad_imat[3] = nan;
    EXPECT_THROW(quantize_rows(id, base.data(), out.data(), 1, n_per_row, bad_imat.data()), Error) << f.name;
  }
}

// A 32-block with all-zero importance: ggml's scale is 0/0 there. lowbit stores scale 0 for
// it (ggml's own IQ4_XS result) and the other blocks are unaffected.
TEST(IQuants, ZeroImportanceBlockGetsZeroScale) {
  constexpr int64_t n_per_row = 256;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(n_per_row), imat(n_per_row, 1.f), y(n_per_row), y_ref(n_per_row);
  for (auto& v : x) v = normal(rng);
  for (int j = 64; j < 96; ++j) imat[j] = 0.f;  // the third 32-block
  for (FormatId id : {FormatId::IQ4_NL, FormatId::IQ4_XS}) {
    const FormatTraits& f = format(id);
    std::vector<uint8_t> q(f.row_bytes(n_per_row));
    quantize_rows(id, x.data(), q.data(), 1, n_per_row, imat.data());
    dequantize_rows(id, q.data(), y.data(), 1, n_per_row);
    for (int j = 64; j < 96; ++j) EXPECT_EQ(y[j], 0.f) << f.name << " " << j;
    // IQ4_NL blocks are independent: the others equal a run without the zeroed block.
    if (id == FormatId::IQ4_NL) {
      std::vector<float> ones(n_per_row, 1.f);
      quantize_rows(id, x.data(), q.data(), 1, n_per_row, ones.data());
      dequantize_rows(id, q.data(), y_ref.data(), 1, n_per_row);
      for (int j = 0; j < n_per_row; ++j)
        if (j < 64 || j >= 96) {
          EXPECT_EQ(y[j], y_ref[j]) << j;
        }
    }
    for (float v : y) ASSERT_TRUE(std::isfinite(v));
  }
}

// Garbage blocks decode without reading out of range (indices are masked to the tables).
TEST(IQuants, DequantizeArbitraryBytes) {
  std::mt19937 rng(11);
  for (const auto& f : all_formats()) {
    if (f.name.rfind("IQ", 0) != 0) continue;
    std::vector<uint8_t> blocks(8 * f.block_bytes);
    for (auto& b : blocks) b = static_cast<uint8_t>(rng());
    std::vector<float> y(8 * f.block_elems);
    dequantize_rows(f.id, blocks.data(), y.data(), 1, static_cast<int64_t>(y.size()));
  }
}

// Sanity of the registry's test_rel_rmse bound on N(0,1) rows.
TEST(IQuants, RoundTripError) {
  constexpr int64_t n_rows = 16, n_per_row = 1024;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(n_rows * n_per_row), y(x.size());
  for (auto& v : x) v = normal(rng);
  for (FormatId id : {FormatId::IQ4_NL, FormatId::IQ4_XS}) {
    const FormatTraits& f = format(id);
    std::vector<uint8_t> q(n_rows * f.row_bytes(n_per_row));
    quantize_rows(id, x.data(), q.data(), n_rows, n_per_row);
    dequantize_rows(id, q.data(), y.data(), n_rows, n_per_row);
    double err2 = 0, ref2 = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      err2 += (x[i] - y[i]) * double(x[i] - y[i]);
      ref2 += x[i] * double(x[i]);
    }
    const double rel_rmse = std::sqrt(err2 / ref2);
    EXPECT_LT(rel_rmse, f.test_rel_rmse) << f.name;
    EXPECT_GT(rel_rmse, 0.5 * f.test_rel_rmse) << f.name << ": bound is loose";
  }
}

}  // namespace
}  // namespace lowbit
