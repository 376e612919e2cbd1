// The runtime repack of quantized linears (quant/repack_linear.h): for every bit width, group
// size, per-channel and act-order layout, the packed QMatrix decodes to exactly the values
// QuantizedLinear::dequantize gives, and matmul on it matches the f32 product; linears with no
// exact packed layout fall back to f32 and say why. The peers' GPTQ goldens (act-order
// included) go through the same checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/convert.h"
#include "formats/registry.h"
#include "io/checkpoints/gptq.h"
#include "kernels/matmul.h"
#include "quant/repack_linear.h"
#include "../io/checkpoints/ckpt_test_util.h"

namespace lowbit {
namespace {

float fp16_round(float v) { return f16_to_f32(f32_to_f16(v)); }

// A random linear with fp16 scales; integer zeros (GPTQ/AWQ) or fractional fp16 zeros (HQQ).
QuantizedLinear random_linear(int64_t n_out, int64_t n_in, int bits, int group, bool fractional_zeros, uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = group;
  q.codes.resize(static_cast<size_t>(n_out * n_in));
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  for (auto& c : q.codes) c = static_cast<uint8_t>(code(rng));
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const int64_t n = n_out * q.n_groups();
  for (int64_t i = 0; i < n; ++i) {
    q.scales.push_back(fp16_round(0.001f + 0.05f * u(rng)));
    q.zeros.push_back(fractional_zeros ? fp16_round(((1 << bits) - 1) * u(rng)) : static_cast<float>(code(rng)));
  }
  return q;
}

// The packed matrix decoded row by row into the original column order.
std::vector<float> decode(const QMatrix& m) {
  std::vector<float> out(static_cast<size_t>(m.n_rows * m.n_cols));
  for (int64_t r = 0; r < m.n_rows; ++r) matrix_row_f32(m, r, &out[static_cast<size_t>(r * m.n_cols)]);
  return out;
}

void expect_exact_and_matmul(const QuantizedLinear& q, FormatId expected) {
  std::string why;
  const QMatrix m = repack_linear(q, &why);
  EXPECT_EQ(m.format, expected) << format(m.format).name << " (" << why << ")";
  EXPECT_TRUE(why.empty()) << why;
  std::vector<float> want(static_cast<size_t>(q.n_out * q.n_in));
  q.dequantize(want.data());
  const std::vector<float> got = decode(m);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << "repack is not exact";
  // matmul through the integer kernel (m <= 8) and the tile path (m > 8) against f32.
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int rows : {1, 3, 12}) {
    std::vector<float> x(static_cast<size_t>(rows * q.n_in)), y(static_cast<size_t>(rows * q.n_out));
    for (float& v : x) v = nd(rng);
    matmul(m, x.data(), rows, y.data(), nullptr);
    for (int i = 0; i < rows; ++i)
      for (int64_t o = 0; o < q.n_out; ++o) {
        double exact = 0, mag = 0;
        for (int64_t j = 0; j < q.n_in; ++j) {
          const double p = static_cast<double>(want[o * q.n_in + j]) * x[i * q.n_in + j];
          exact += p;
          mag += std::fabs(p);
        }
        // 8-bit activation quantization in the integer path: about 1% of the magnitude.
        EXPECT_NEAR(y[i * q.n_out + o], exact, 0.02 * mag + 1e-6) << "rows " << rows << " out " << o;
      }
  }
}

TEST(RepackLinear, EveryWidthAndGroupIsExact) {
  for (int bits = 1; bits <= 8; ++bits) {
    const int cbits = bits <= 2 ? 2 : bits == 3 ? 3 : bits == 4 ? 4 : 8;
    for (int group : {32, 64, 128}) {
      SCOPED_TRACE("bits " + std::to_string(bits) + " group " + std::to_string(group));
      expect_exact_and_matmul(random_linear(24, 256, bits, group, false, bits * 100 + group), group_int_format(cbits, group));
      expect_exact_and_matmul(random_linear(8, 384, bits, group, true, bits * 7 + group), group_int_format(cbits, group));
    }
  }
}

TEST(RepackLinear, PerChannelAndOddGroupsUseTheLargestFittingBlock) {
  // Per-channel (one group of n_in = 768 = 6 x 128) -> blocks of 128 repeating the scale.
  expect_exact_and_matmul(random_linear(16, 768, 4, 768, false, 1), FormatId::GQ4_128);
  // n_in = 96: a group of 96 columns is 3 blocks of 32.
  expect_exact_and_matmul(random_linear(16, 96, 4, 96, false, 2), FormatId::GQ4_32);
  // group 128 with n_in = 320: the last group is partial, so blocks of 64.
  expect_exact_and_matmul(random_linear(16, 320, 8, 128, false, 3), FormatId::GQ8_64);
}

TEST(RepackLinear, ActOrderReordersColumnsAndGathersActivations) {
  for (int bits : {3, 4}) {
    QuantizedLinear q = random_linear(24, 256, bits, 32, false, 11);
    std::vector<int32_t> perm(256);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(3));
    q.g_idx.assign(256, 0);
    for (int i = 0; i < 256; ++i) q.g_idx[perm[i]] = i / 32;  // GPTQ's desc_act g_idx
    const QMatrix m = repack_linear(q);
    EXPECT_EQ(m.col_perm.size(), 256u);
    expect_exact_and_matmul(q, group_int_format(bits, 32));
  }
}

TEST(RepackLinear, FallsBackToF32AndSaysWhy) {
  struct Case {
    const char* what;
    QuantizedLinear q;
    const char* reason;
  };
  std::vector<Case> cases;
  {
    QuantizedLinear q = random_linear(4, 64, 4, 32, false, 1);
    q.scales[3] = 0.1f;  // not fp16-exact (a bf16 or f32 scale)
    cases.push_back({"f32 scale", q, "fp16"});
  }
  cases.push_back({"n_in 48", random_linear(4, 48, 4, 48, false, 2), "multiples of 32"});
  {
    QuantizedLinear q = random_linear(4, 64, 4, 1, true, 3);  // HQQ axis 0
    cases.push_back({"axis 0", q, "axis 0"});
  }
  {
    QuantizedLinear q = random_linear(4, 64, 4, 32, false, 4);
    q.g_idx.assign(64, 0);
    q.g_idx[63] = 1;  // groups of 63 and 1 columns
    cases.push_back({"irregular g_idx", q, "g_idx"});
  }
  for (const Case& c : cases) {
    std::string why;
    const QMatrix m = repack_linear(c.q, &why);
    EXPECT_EQ(m.format, FormatId::F32) << c.what;
    EXPECT_NE(why.find(c.reason), std::string::npos) << c.what << ": " << why;
    std::vector<float> want(static_cast<size_t>(c.q.n_out * c.q.n_in));
    c.q.dequantize(want.data());
    EXPECT_EQ(decode(m), want) << c.what;
  }
}

// The peers' GPTQ tensors (AutoGPTQ qweight, GPTQModel v2 qzeros; act-order and edge cases):
// decoded by lowbit's unpacker, repacked, and decoded again, equal the spec decode.
TEST(RepackLinear, PeerGptqGoldensRepackExactly) {
  const std::string dir = ckpt_test::golden_dir("gptq");
  SKIP_WITHOUT_GOLDEN(dir);
  int n_cases = 0;
  for (int bits : {2, 3, 4, 8})
    for (const char* sym : {"_sym_", "_asym_"})
      for (const char* kind : {"descF", "descT", "edge"}) {
        std::string name = "b";
        name += std::to_string(bits);
        name += sym;
        name += kind;
        SCOPED_TRACE(name);
        const std::string d = dir + "/" + name + "/";
        MemoryTensorSource src;
        src.add("m", ckpt_test::npy_tensor("qweight", read_npy(d + "autogptq_qweight.npy")));
        src.add("m", ckpt_test::npy_tensor("qzeros", read_npy(d + "gptqmodel_v2_qzeros.npy")));
        src.add("m", ckpt_test::npy_tensor("scales", read_npy(d + "autogptq_scales.npy")));
        src.add("m", ckpt_test::npy_tensor("g_idx", read_npy(d + "autogptq_g_idx.npy")));
        GptqConfig c;
        c.bits = bits;
        c.group_size = 32;
        c.sym = std::string(sym) == "_sym_";
        c.desc_act = std::string(kind) == "descT";
        c.format = GptqCheckpointFormat::V2;
        const QuantizedLinear q = gptq_unpack(src, "m", c, nullptr);
        expect_exact_and_matmul(q, group_int_format(bits, 32));
        ++n_cases;
      }
  EXPECT_EQ(n_cases, 24);
}

}  // namespace
}  // namespace lowbit
