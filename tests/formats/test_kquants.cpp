// K-quants (Q2_K..Q6_K, Q8_K): byte-exact against llama.cpp's goldens
// (../shared/golden/quants, README there), plus hand-made blocks that pin down the layouts of
// ../shared/specs/gguf.md §4 (Q4_K's 12-byte scale packing, Q3_K's high-bit mask) and the
// refusal of non-finite input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/convert.h"
#include "core/error.h"
#include "formats/blocks_k.h"
#include "formats/k_quants_impl.h"
#include "formats/registry.h"
#include "test_util.h"

namespace {

using lowbit::FormatId;

constexpr int64_t kRows = 8;
constexpr int64_t kCols = 512;
const char* const kShapes[] = {"normal", "heavy_tail", "ramp", "constant", "zeros", "one_huge", "tiny", "mixed_rows"};

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<float> as_floats(const std::vector<uint8_t>& bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

// "" if equal, else where the first difference is (row, block, byte within the block).
std::string first_diff(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want, size_t row_bytes,
                       size_t block_bytes) {
  if (got.size() != want.size())
    return "size " + std::to_string(got.size()) + " != " + std::to_string(want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      int n_diff = 0;
      for (size_t k = i; k < got.size(); ++k) n_diff += got[k] != want[k];
      return "first diff at row " + std::to_string(i / row_bytes) + " block " +
             std::to_string((i % row_bytes) / block_bytes) + " byte " + std::to_string(i % block_bytes) + ": got " +
             std::to_string(got[i]) + " want " + std::to_string(want[i]) + " (" + std::to_string(n_diff) +
             " bytes differ)";
    }
  }
  return "";
}

struct GoldenCase {
  FormatId id;
  std::string shape;
};

class KQuantGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(KQuantGolden, MatchesLlamaCppByteForByte) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "reference material (../shared) not found: set LOWBIT_SHARED_DIR";
  const auto& fmt = lowbit::format(GetParam().id);
  const std::string shape = GetParam().shape;
  const std::string qdir = shared + "/golden/quants/";
  const std::vector<float> x = as_floats(read_all(qdir + "inputs/" + shape + ".f32"));
  const std::vector<float> imat = as_floats(read_all(qdir + "inputs/" + shape + ".imatrix.f32"));
  ASSERT_EQ(x.size(), static_cast<size_t>(kRows * kCols)) << "missing input " << shape;
  ASSERT_EQ(imat.size(), static_cast<size_t>(kCols));
  const std::string base = qdir + std::string(fmt.name) + "/" + shape;
  const size_t row_bytes = fmt.row_bytes(kCols);

  // Plain: ggml_quantize_chunk with imatrix NULL = quantize_row_qX_K_ref.
  std::vector<uint8_t> q(row_bytes * kRows);
  lowbit::quantize_rows(fmt.id, x.data(), q.data(), kRows, kCols);
  const auto want = read_all(base + ".bin");
  ASSERT_FALSE(want.empty()) << base << ".bin missing";
  EXPECT_EQ(first_diff(q, want, row_bytes, fmt.block_bytes), "") << fmt.name << " " << shape << " plain";

  // With importance: quantize_row_qX_K_impl.
  std::vector<uint8_t> qi(row_bytes * kRows);
  lowbit::quantize_rows(fmt.id, x.data(), qi.data(), kRows, kCols, imat.data());
  const auto want_i = read_all(base + ".imat.bin");
  ASSERT_FALSE(want_i.empty()) << base << ".imat.bin missing";
  EXPECT_EQ(first_diff(qi, want_i, row_bytes, fmt.block_bytes), "") << fmt.name << " " << shape << " imatrix";

  // Dequantize the golden .bin (not ours) and compare bit for bit with ggml's to_float.
  const auto want_deq = read_all(base + ".deq.f32");
  ASSERT_EQ(want_deq.size(), static_cast<size_t>(kRows * kCols * 4));
  std::vector<float> y(kRows * kCols);
  lowbit::dequantize_rows(fmt.id, want.data(), y.data(), kRows, kCols);
  std::vector<uint8_t> y_bytes(y.size() * 4);
  std::memcpy(y_bytes.data(), y.data(), y_bytes.size());
  EXPECT_EQ(first_diff(y_bytes, want_deq, kCols * 4, 4), "") << fmt.name << " " << shape << " dequantize";
}

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> v;
  for (FormatId id : {FormatId::Q2_K, FormatId::Q3_K, FormatId::Q4_K, FormatId::Q5_K, FormatId::Q6_K})
    for (const char* s : kShapes) v.push_back({id, s});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Golden, KQuantGolden, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return std::string(lowbit::format(info.param.id).name) + "_" + info.param.shape;
                         });

TEST(KQuants, RegistryEntriesHaveGgmlSizes) {
  struct Want {
    FormatId id;
    int block_bytes;
  };
  for (Want w : {Want{FormatId::Q2_K, 84}, Want{FormatId::Q3_K, 110}, Want{FormatId::Q4_K, 144},
                 Want{FormatId::Q5_K, 176}, Want{FormatId::Q6_K, 210}, Want{FormatId::Q8_K, 292}}) {
    const auto& f = lowbit::format(w.id);
    EXPECT_EQ(f.block_elems, 256) << f.name;
    EXPECT_EQ(f.block_bytes, w.block_bytes) << f.name;
    EXPECT_NE(f.quantize, nullptr) << f.name;
    EXPECT_FALSE(f.requires_importance) << f.name;
    EXPECT_EQ(f.uses_importance, w.id != FormatId::Q8_K) << f.name;
  }
  EXPECT_EQ(lowbit::find_format("q4_k"), &lowbit::format(FormatId::Q4_K));
}

// Q4_K's 12 scale bytes (spec §4): bytes 0-3 hold sc0..3 plus the top 2 bits of sc4..7 in bits
// 6-7; bytes 4-7 the same for the mins; bytes 8-11 the low nibbles of sc4..7 (low) and mn4..7.
TEST(KQuants, Q4KScalePackingByHand) {
  const uint8_t sc[8] = {1, 17, 33, 63, 5, 42, 60, 31};
  const uint8_t mn[8] = {62, 0, 9, 48, 16, 63, 2, 35};
  uint8_t packed[12] = {};
  lowbit::kq::pack_scale_min_k4(sc, mn, packed);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(packed[j], sc[j] | ((sc[j + 4] >> 4) << 6)) << j;
    EXPECT_EQ(packed[j + 4], mn[j] | ((mn[j + 4] >> 4) << 6)) << j;
    EXPECT_EQ(packed[j + 8], (sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4)) << j;
  }
  for (int j = 0; j < 8; ++j) {
    uint8_t d, m;
    lowbit::kq::get_scale_min_k4(j, packed, &d, &m);
    EXPECT_EQ(d, sc[j]) << j;
    EXPECT_EQ(m, mn[j]) << j;
  }

  // A whole block: d = 0.5, dmin = 0.25; element e of chunk c = e/64 sits in the low nibble of
  // qs[32c + e%64] for e%64 < 32 (sub-block 2c), else the high nibble (sub-block 2c+1).
  lowbit::kq::BlockQ4K b{};
  b.d = lowbit::f32_to_f16(0.5f);
  b.dmin = lowbit::f32_to_f16(0.25f);
  std::memcpy(b.scales, packed, 12);
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i * 7 + 3) & 0xFF);
  std::vector<float> y(256);
  lowbit::dequantize_rows(FormatId::Q4_K, &b, y.data(), 1, 256);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, r = e % 64;
    const int k = 2 * c + (r >= 32);
    const int q = r < 32 ? b.qs[32 * c + r] & 0xF : b.qs[32 * c + r - 32] >> 4;
    EXPECT_EQ(y[e], 0.5f * sc[k] * q - 0.25f * mn[k]) << e;
  }
}

// Q3_K: a set hmask bit means "no -4" (spec §4); scale codes are 6-bit with offset 32.
TEST(KQuants, Q3KHighBitMaskByHand) {
  lowbit::kq::BlockQ3K b{};
  b.d = lowbit::f32_to_f16(1.0f);
  // Every scale code 33 (signed scale +1): low nibble 1, high bits 2 (0b10) for all 16.
  for (int j = 0; j < 8; ++j) b.scales[j] = 0x11;
  for (int j = 8; j < 12; ++j) b.scales[j] = 0xAA;
  for (int j = 0; j < 16; ++j) EXPECT_EQ(lowbit::kq::q3k_scale_code(b.scales, j), 33);
  b.qs[0] = 0x03;      // element 0: q2 = 3
  b.hmask[0] = 0x01;   // element 0 has its high bit: 3 - 0 = 3
  b.qs[1] = 0x02;      // element 1: q2 = 2, no high bit: 2 - 4 = -2
  b.hmask[5] = 0x02;   // element 32 + 5 (bit 1 of hmask[5]); qs[5] bits 2-3 are 0: 0 - 0 = 0
  std::vector<float> y(256);
  lowbit::dequantize_rows(FormatId::Q3_K, &b, y.data(), 1, 256);
  EXPECT_EQ(y[0], 3.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[37], 0.0f);
  EXPECT_EQ(y[2], -4.0f);
}

TEST(KQuants, Q8KRoundTripAndBlockSums) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> x(512);
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> q(2 * 292);
  lowbit::quantize_rows(FormatId::Q8_K, x.data(), q.data(), 1, 512);
  for (int blk = 0; blk < 2; ++blk) {
    lowbit::kq::BlockQ8K b;
    std::memcpy(&b, q.data() + blk * 292, 292);
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += b.qs[16 * j + i];
      EXPECT_EQ(b.bsums[j], sum);
    }
  }
  std::vector<float> y(512);
  lowbit::dequantize_rows(FormatId::Q8_K, q.data(), y.data(), 1, 512);
  for (int i = 0; i < 512; ++i) EXPECT_NEAR(y[i], x[i], 0.02f) << i;
}

// Relative RMS error on N(0,1) rows stays under each entry's test_rel_rmse, with and without
// importance (the registry-driven tests check the same bound).
TEST(KQuants, ErrorWithinRegistryBound) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 1.f);
  const int64_t rows = 16, cols = 1024;
  std::vector<float> x(rows * cols), imp(cols, 1.0f);
  for (auto& v : x) v = dist(rng);
  for (FormatId id : {FormatId::Q2_K, FormatId::Q3_K, FormatId::Q4_K, FormatId::Q5_K, FormatId::Q6_K,
                      FormatId::Q8_K}) {
    const auto& f = lowbit::format(id);
    for (const float* importance : {static_cast<const float*>(nullptr), static_cast<const float*>(imp.data())}) {
      std::vector<uint8_t> q(f.row_bytes(cols) * rows);
      lowbit::quantize_rows(id, x.data(), q.data(), rows, cols, importance);
      std::vector<float> y(x.size());
      lowbit::dequantize_rows(id, q.data(), y.data(), rows, cols);
      double err = 0, ref = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        err += (double(y[i]) - x[i]) * (double(y[i]) - x[i]);
        ref += double(x[i]) * x[i];
      }
      EXPECT_LT(std::sqrt(err / ref), f.test_rel_rmse) << f.name << (importance ? " imatrix" : "");
    }
  }
}

TEST(KQuants, NonFiniteInputIsRefused) {
  std::vector<float> x(256, 0.5f);
  std::vector<float> imp(256, 1.0f);
  std::vector<uint8_t> q(292);
  for (FormatId id : {FormatId::Q2_K, FormatId::Q3_K, FormatId::Q4_K, FormatId::Q5_K, FormatId::Q6_K,
                      FormatId::Q8_K}) {
    x[17] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(lowbit::quantize_rows(id, x.data(), q.data(), 1, 256), lowbit::Error);
    x[17] = -std::numeric_limits<float>::infinity();
    EXPECT_THROW(lowbit::quantize_rows(id, x.data(), q.data(), 1, 256), lowbit::Error);
    x[17] = 0.5f;
    EXPECT_NO_THROW(lowbit::quantize_rows(id, x.data(), q.data(), 1, 256, imp.data()));
    if (lowbit::format(id).uses_importance) {
      imp[3] = std::numeric_limits<float>::infinity();
      EXPECT_THROW(lowbit::quantize_rows(id, x.data(), q.data(), 1, 256, imp.data()), lowbit::Error);
      imp[3] = 1.0f;
    }
    EXPECT_THROW(lowbit::quantize_rows(id, x.data(), q.data(), 1, 100), lowbit::Error);  // not a multiple of 256
  }
}

// Huge finite values overflow x^2 inside the searches; the result is whatever ggml computes
// (no crash, no refusal) and is deterministic.
TEST(KQuants, HugeFiniteValuesDoNotCrash) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[i] = (i % 2 ? 1.0f : -1.0f) * 3e38f * (static_cast<float>(i + 1) / 256);
  std::vector<float> imp(256, 2.0f);
  for (FormatId id : {FormatId::Q2_K, FormatId::Q3_K, FormatId::Q4_K, FormatId::Q5_K, FormatId::Q6_K,
                      FormatId::Q8_K}) {
    std::vector<uint8_t> a(292), b(292);
    lowbit::quantize_rows(id, x.data(), a.data(), 1, 256, imp.data());
    lowbit::quantize_rows(id, x.data(), b.data(), 1, 256, imp.data());
    EXPECT_EQ(a, b) << lowbit::format(id).name;
    lowbit::quantize_rows(id, x.data(), a.data(), 1, 256);
    std::vector<float> y(256);
    lowbit::dequantize_rows(id, a.data(), y.data(), 1, 256);
  }
}

}  // namespace
