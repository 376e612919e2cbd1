// Bit-exactness against llama.cpp (../shared/golden/quants, README.md there): for every
// (type, shape) of golden/quants/manifest.tsv whose type is in the registry,
//   GoldenPlain/<TYPE>_<shape>    quantize_rows(input)             == <TYPE>/<shape>.bin
//   GoldenImatrix/<TYPE>_<shape>  quantize_rows(input, imatrix)    == <TYPE>/<shape>.imat.bin
//   GoldenDequant/<TYPE>_<shape>  dequantize_rows(golden bytes)    == <TYPE>/<shape>.deq.f32 (bit for bit)
// The goldens were made by ggml_quantize_chunk(type, input, 0, 8, 512, imatrix) at llama.cpp
// 16cc3c60. Types the registry does not know yet are left out (one summary line says which), so
// a new registry entry is checked here with no new test code.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/registry.h"
#include "test_util.h"

namespace lowbit {
namespace {

struct GoldenCase {
  std::string type;   // as in the manifest ("Q4_K"); empty: no goldens on this machine
  std::string shape;  // "normal", "heavy_tail", ...
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  size_t row_bytes = 0;
  bool plain = false;      // <shape>.bin exists
  bool with_imat = false;  // <shape>.imat.bin exists
};

std::string quants_dir() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/golden/quants";
}

// manifest.tsv: type, type_id, shape, rows, cols, bytes_per_row, plain, with_imatrix.
std::vector<GoldenCase> manifest() {
  std::vector<GoldenCase> cases;
  const std::string dir = quants_dir();
  if (dir.empty()) return cases;
  std::ifstream f(dir + "/manifest.tsv");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    GoldenCase c;
    int type_id = 0, plain = 0, imat = 0;
    if (ss >> c.type >> type_id >> c.shape >> c.n_rows >> c.n_cols >> c.row_bytes >> plain >> imat) {
      c.plain = plain != 0;
      c.with_imat = imat != 0;
      cases.push_back(c);
    }
  }
  return cases;
}

enum class Check { kPlain, kImatrix, kDequant };

// The registered cases a check applies to; one placeholder (skipped) if there are none.
std::vector<GoldenCase> cases_for(Check check) {
  std::vector<GoldenCase> out;
  for (const auto& c : manifest()) {
    const FormatTraits* f = find_format(c.type);
    if (!f) continue;
    const bool ok = check == Check::kPlain     ? f->quantize && c.plain
                    : check == Check::kImatrix ? f->quantize && c.with_imat
                                               : c.plain || c.with_imat;
    if (ok) out.push_back(c);
  }
  if (out.empty()) out.push_back(GoldenCase{});
  return out;
}

std::string case_name(const testing::TestParamInfo<GoldenCase>& info) {
  if (info.param.type.empty()) return "NoGoldens";
  std::string name = info.param.type + "_" + info.param.shape;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
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

// Where two quantized buffers first differ, in row/block terms, so a failure says which
// block to look at; empty if equal.
std::string first_difference(const std::vector<uint8_t>& want, const std::vector<uint8_t>& got,
                             const FormatTraits& f, size_t row_bytes) {
  if (want.size() != got.size())
    return "size " + std::to_string(got.size()) + " != golden " + std::to_string(want.size());
  size_t first = want.size(), n_blocks_differ = 0;
  const size_t block_bytes = static_cast<size_t>(f.block_bytes);
  for (size_t b = 0; b < want.size() / block_bytes; ++b) {
    const size_t at = b * block_bytes;
    if (std::memcmp(want.data() + at, got.data() + at, block_bytes) == 0) continue;
    ++n_blocks_differ;
    if (first == want.size())
      for (size_t k = at; k < at + block_bytes; ++k)
        if (want[k] != got[k]) {
          first = k;
          break;
        }
  }
  if (first == want.size()) return "";
  char msg[256];
  std::snprintf(msg, sizeof msg,
                "first differing byte at offset %zu (row %zu, block %zu of the row, byte %zu of the block): "
                "golden 0x%02x, got 0x%02x; %zu of %zu blocks differ",
                first, first / row_bytes, (first % row_bytes) / block_bytes, first % block_bytes, want[first],
                got[first], n_blocks_differ, want.size() / block_bytes);
  return msg;
}

class GoldenTest : public testing::TestWithParam<GoldenCase> {
 protected:
  void SetUp() override {
    if (GetParam().type.empty()) GTEST_SKIP() << "no golden quants: ../shared/golden/quants is absent "
                                                 "(set LOWBIT_SHARED_DIR to the reference material)";
    f_ = find_format(GetParam().type);
    ASSERT_NE(f_, nullptr);
    ASSERT_EQ(f_->row_bytes(GetParam().n_cols), GetParam().row_bytes)
        << "registry block size/bytes disagree with llama.cpp's bytes per row";
  }
  std::string file(const std::string& suffix) const {
    return quants_dir() + "/" + GetParam().type + "/" + GetParam().shape + suffix;
  }
  std::vector<float> input(const std::string& suffix) const {
    return read_f32(quants_dir() + "/inputs/" + GetParam().shape + suffix);
  }
  void expect_quantize_matches(const std::string& suffix, const float* importance) const {
    const GoldenCase& c = GetParam();
    const auto x = input(".f32");
    ASSERT_EQ(x.size(), static_cast<size_t>(c.n_rows * c.n_cols));
    const auto want = read_file(file(suffix));
    std::vector<uint8_t> got(c.row_bytes * static_cast<size_t>(c.n_rows));
    quantize_rows(f_->id, x.data(), got.data(), c.n_rows, c.n_cols, importance);
    const std::string diff = first_difference(want, got, *f_, c.row_bytes);
    if (!diff.empty()) ADD_FAILURE() << c.type << "/" << c.shape << suffix << " is not byte-exact: " << diff;
  }
  const FormatTraits* f_ = nullptr;
};

class GoldenPlain : public GoldenTest {};
class GoldenImatrix : public GoldenTest {};
class GoldenDequant : public GoldenTest {};

TEST_P(GoldenPlain, QuantizeIsByteExact) { expect_quantize_matches(".bin", nullptr); }

TEST_P(GoldenImatrix, QuantizeIsByteExact) {
  const auto imatrix = input(".imatrix.f32");
  ASSERT_EQ(imatrix.size(), static_cast<size_t>(GetParam().n_cols));
  expect_quantize_matches(".imat.bin", imatrix.data());
}

TEST_P(GoldenDequant, DequantizeIsBitExact) {
  const GoldenCase& c = GetParam();
  const auto bytes = read_file(file(c.plain ? ".bin" : ".imat.bin"));
  const auto want = read_f32(file(".deq.f32"));
  ASSERT_EQ(bytes.size(), c.row_bytes * static_cast<size_t>(c.n_rows));
  ASSERT_EQ(want.size(), static_cast<size_t>(c.n_rows * c.n_cols));
  std::vector<float> got(want.size());
  dequantize_rows(f_->id, bytes.data(), got.data(), c.n_rows, c.n_cols);
  size_t n_differ = 0, first = want.size();
  for (size_t i = 0; i < want.size(); ++i)
    if (std::memcmp(&want[i], &got[i], sizeof(float)) != 0) {
      if (!n_differ) first = i;
      ++n_differ;
    }
  EXPECT_EQ(n_differ, 0u) << c.type << "/" << c.shape << ": first differing element " << first << " (row "
                          << first / c.n_cols << ", block " << (first % c.n_cols) / f_->block_elems
                          << "): golden " << (n_differ ? want[first] : 0.f) << ", got "
                          << (n_differ ? got[first] : 0.f) << "; " << n_differ << " elements differ";
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenPlain, testing::ValuesIn(cases_for(Check::kPlain)), case_name);
INSTANTIATE_TEST_SUITE_P(Golden, GoldenImatrix, testing::ValuesIn(cases_for(Check::kImatrix)), case_name);
INSTANTIATE_TEST_SUITE_P(Golden, GoldenDequant, testing::ValuesIn(cases_for(Check::kDequant)), case_name);

// One line naming the golden types the registry does not have yet (they are skipped above).
TEST(GoldenCoverage, ListsTypesNotInRegistry) {
  const auto all = manifest();
  if (all.empty()) GTEST_SKIP() << "no golden quants: ../shared/golden/quants is absent";
  std::set<std::string> missing;
  for (const auto& c : all)
    if (!find_format(c.type)) missing.insert(c.type);
  std::string list;
  for (const auto& t : missing) list += " " + t;
  std::printf("[ golden   ] types with goldens but not in the registry yet (skipped):%s\n",
              missing.empty() ? " none" : list.c_str());
}

}  // namespace
}  // namespace lowbit
