// quant/gguf_exact.h on hand-made QuantizedLinears: which GGUF type holds a linear exactly,
// why not when none does, and that the packed blocks decode (registry dequantize) to the
// checkpoint's scale * (code - zero) for every element.
#include <gtest/gtest.h>

#include <random>

#include "core/convert.h"
#include "formats/registry.h"
#include "quant/gguf_exact.h"

namespace lowbit {
namespace {

float as_f16(float x) { return f16_to_f32(f32_to_f16(x)); }

// Random codes, fp16 scales, zeros = 2^(bits-1) (symmetric) unless zero >= 0 is given.
QuantizedLinear make_linear(int64_t n_out, int64_t n_in, int bits, int group_size, float zero = -1,
                            unsigned seed = 1) {
  std::mt19937 rng(seed);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = group_size;
  q.sym = zero < 0;
  q.codes.resize(static_cast<size_t>(n_out * n_in));
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  for (uint8_t& c : q.codes) c = static_cast<uint8_t>(code(rng));
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  const size_t n_groups = static_cast<size_t>(n_out * q.n_groups());
  for (size_t i = 0; i < n_groups; ++i) {
    q.scales.push_back(as_f16(scale(rng)));
    q.zeros.push_back(zero < 0 ? static_cast<float>(1 << (bits - 1)) : zero);
  }
  return q;
}

// Packs, decodes with the registry and compares with QuantizedLinear::dequantize.
void expect_packs_exactly(const QuantizedLinear& q, FormatId type) {
  const std::vector<uint8_t> bytes = pack_exact_gguf(q, type);
  ASSERT_EQ(bytes.size(), format(type).row_bytes(q.n_in) * static_cast<size_t>(q.n_out));
  std::vector<float> got(static_cast<size_t>(q.n_out * q.n_in)), want(got.size());
  dequantize_rows(type, bytes.data(), got.data(), q.n_out, q.n_in);
  q.dequantize(want.data());
  size_t n_diff = 0;
  for (size_t i = 0; i < got.size(); ++i) n_diff += got[i] != want[i];
  EXPECT_EQ(n_diff, 0u) << format(type).name;
}

TEST(GgufExact, SymmetricMapsToQ4_0Q5_0Q8_0BitExact) {
  struct Case {
    int bits;
    FormatId type;
  };
  for (const Case c : {Case{4, FormatId::Q4_0}, Case{5, FormatId::Q5_0}, Case{8, FormatId::Q8_0}})
    for (const int group : {32, 64, 128, 96}) {  // 96 = n_in: per channel
      SCOPED_TRACE(testing::Message() << c.bits << "-bit group " << group);
      const QuantizedLinear q = make_linear(6, 96 + (group == 128 ? 160 : 0), c.bits, group);
      const ExactGgufType e = exact_gguf_type(q);
      ASSERT_TRUE(e.exact) << e.why_not;
      EXPECT_EQ(e.type, c.type);
      expect_packs_exactly(q, e.type);
    }
}

TEST(GgufExact, AsymmetricIsQ4_1OnlyWhenTheMinIsAnFp16Value) {
  // Ordinary fp16 scales times an integer zero need more than fp16's 11 significant bits.
  QuantizedLinear q = make_linear(4, 64, 4, 32, 7);
  ExactGgufType e = exact_gguf_type(q);
  EXPECT_FALSE(e.exact);
  EXPECT_NE(e.why_not.find("zero point 7"), std::string::npos) << e.why_not;
  EXPECT_NE(e.why_not.find("Q4_1"), std::string::npos) << e.why_not;
  // Power-of-two scales make -scale * zero an fp16 value: then Q4_1 (and Q5_1) hold it exactly.
  for (const int bits : {4, 5}) {
    q = make_linear(4, 64, bits, 32, 3);
    for (size_t i = 0; i < q.scales.size(); ++i) q.scales[i] = 1.0f / static_cast<float>(64 << (i % 5));
    e = exact_gguf_type(q);
    ASSERT_TRUE(e.exact) << e.why_not;
    EXPECT_EQ(e.type, bits == 4 ? FormatId::Q4_1 : FormatId::Q5_1);
    expect_packs_exactly(q, e.type);
  }
  // HQQ's real-valued zeros: scale * (q - zero) rounds where d * q + m does not.
  q = make_linear(4, 64, 4, 32, 7.3f);
  for (float& s : q.scales) s = 1.0f / 64;
  e = exact_gguf_type(q);
  EXPECT_FALSE(e.exact);
  EXPECT_NE(e.why_not.find("Q4_1"), std::string::npos) << e.why_not;
  // 8 bits: no GGUF type has a min.
  e = exact_gguf_type(make_linear(4, 64, 8, 32, 127));
  EXPECT_FALSE(e.exact);
  EXPECT_NE(e.why_not.find("Q8_0 has no zero point"), std::string::npos) << e.why_not;
}

TEST(GgufExact, RefusesWhatNoBlockHolds) {
  auto why = [](const QuantizedLinear& q) {
    const ExactGgufType e = exact_gguf_type(q);
    EXPECT_FALSE(e.exact);
    return e.why_not;
  };
  EXPECT_NE(why(make_linear(4, 64, 3, 32)).find("3-bit codes: GGUF's 32-column types hold 4, 5 or 8 bits"),
            std::string::npos);
  EXPECT_NE(why(make_linear(4, 64, 2, 32)).find("2-bit"), std::string::npos);
  EXPECT_NE(why(make_linear(4, 48, 4, 48)).find("n_in 48 is not a multiple of 32"), std::string::npos);
  EXPECT_NE(why(make_linear(4, 96, 4, 48)).find("group size 48"), std::string::npos);
  QuantizedLinear bf16 = make_linear(4, 64, 4, 32);
  bf16.scales[5] = 0.1f;  // a bf16 / f32 scale with bits fp16 drops
  EXPECT_NE(why(bf16).find("scale 0.1 (row 2, group 1) is not an fp16 value"), std::string::npos) << why(bf16);
  // Act-order: g_idx mixes groups inside a 32-column block.
  QuantizedLinear act = make_linear(4, 64, 4, 32);
  for (int64_t i = 0; i < 64; ++i) act.g_idx.push_back(static_cast<int32_t>(i % 2));
  EXPECT_NE(why(act).find("act-order g_idx"), std::string::npos);
  EXPECT_EQ(describe_quantized_linear(act), "4-bit sym g32 act-order");
}

TEST(GgufExact, IntegerZerosWidenExactly) {
  struct Case {
    int bits;
    float zero;  // < 0: symmetric
    FormatId wide;
  };
  const Case cases[] = {{2, -1, FormatId::Q4_0}, {3, -1, FormatId::Q4_0}, {3, 2, FormatId::Q4_0},
                        {4, 7, FormatId::Q5_0},  {5, 3, FormatId::Q8_0},  {6, -1, FormatId::Q8_0},
                        {7, 100, FormatId::Q8_0}};
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << c.bits << "-bit zero " << c.zero);
    const QuantizedLinear q = make_linear(5, 64, c.bits, 32, c.zero);
    const ExactGgufType e = exact_gguf_type(q);
    EXPECT_FALSE(e.exact);
    ASSERT_TRUE(e.widens) << e.why_not_wide;
    EXPECT_EQ(e.wide_type, c.wide);
    expect_packs_exactly(q, e.wide_type);
  }
  // 8-bit codes 0..255 minus zero 127 reach 128, one past Q8_0's int8.
  ExactGgufType e = exact_gguf_type(make_linear(4, 64, 8, 32, 127));
  EXPECT_FALSE(e.widens);
  EXPECT_NE(e.why_not_wide.find("spans -127..128"), std::string::npos) << e.why_not_wide;
  e = exact_gguf_type(make_linear(4, 64, 4, 32, 7.5f));  // HQQ
  EXPECT_FALSE(e.widens);
  EXPECT_NE(e.why_not_wide.find("zero point 7.5 (row 0, group 0) is not an integer"), std::string::npos);
  e = exact_gguf_type(make_linear(4, 48, 4, 48, 7));  // what no block holds, no width fixes
  EXPECT_FALSE(e.widens);
  EXPECT_EQ(e.why_not_wide, e.why_not);
}

TEST(GgufExact, GidxThatKeepsBlocksWholeIsExact) {
  // Groups in another order, but each 32-column block in one group: still one scale a block.
  QuantizedLinear q = make_linear(3, 128, 4, 64);
  for (int64_t i = 0; i < 128; ++i) q.g_idx.push_back(i < 32 || i >= 96 ? 1 : 0);
  const ExactGgufType e = exact_gguf_type(q);
  ASSERT_TRUE(e.exact) << e.why_not;
  expect_packs_exactly(q, e.type);
}

TEST(GgufExact, DescribesAndSuggests) {
  EXPECT_EQ(describe_quantized_linear(make_linear(2, 256, 4, 128)), "4-bit sym g128");
  EXPECT_EQ(describe_quantized_linear(make_linear(2, 64, 8, 64)), "8-bit sym per-channel");
  EXPECT_EQ(describe_quantized_linear(make_linear(2, 64, 4, 32, 7)), "4-bit asym g32");
  EXPECT_EQ(describe_quantized_linear(make_linear(2, 64, 4, 32, 7.5f)), "4-bit asym g32 float-zeros");
  EXPECT_EQ(suggested_requantize_type(make_linear(2, 256, 4, 128)), "Q4_K");
  EXPECT_EQ(suggested_requantize_type(make_linear(2, 256, 3, 128)), "Q3_K");
  EXPECT_EQ(suggested_requantize_type(make_linear(2, 64, 4, 32)), "Q4_1");
  EXPECT_EQ(suggested_requantize_type(make_linear(2, 64, 8, 32)), "Q8_0");
  EXPECT_EQ(suggested_requantize_type(make_linear(2, 40, 4, 40)), "F16");
  QuantizedLinear nan = make_linear(2, 64, 4, 32);
  EXPECT_EQ(non_finite_parameter(nan), "");
  nan.scales[1] = std::nanf("");
  EXPECT_NE(non_finite_parameter(nan).find("row 0, group 1"), std::string::npos);
}

}  // namespace
}  // namespace lowbit
