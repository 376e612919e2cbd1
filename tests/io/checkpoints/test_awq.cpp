// AWQ GEMM:
//  - goldens (../shared/golden/hf/awq, AutoAWQ WQLinear_GEMM.from_linear): awq_pack of the
//    codes behind in_W_hat reproduces qweight, qzeros and scales byte for byte; awq_unpack of
//    the peer's tensors dequantizes to dequantize_gemm.npy bit for bit (fp16); the AWQ->GPTQ
//    repack (awq_unpack then gptq_pack v1 with GPTQModel's word layout) reproduces
//    packing_utils.unpack_reorder_pack (exllama_qweight / exllama_qzeros);
//  - the writer's tensors decoded by the spec's own unpacking rule (specs/awq.md §2:
//    u[REVERSE[j]], REVERSE = [0,4,1,5,2,6,3,7]) give the codes and zeros;
//  - hand-built fixtures (odd group counts, per-channel) and bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/convert.h"
#include "core/error.h"
#include "io/checkpoints/awq.h"
#include "io/checkpoints/gptq.h"
#include "ckpt_test_util.h"

namespace lowbit {
namespace {

using ckpt_test::find;
using ckpt_test::i32_of;
using ckpt_test::same_tensor;

// specs/awq.md §2 unpacking, written from the text: column 8c + j is u[REVERSE[j]].
std::vector<uint8_t> spec_unpack(const std::vector<int32_t>& words, int64_t rows, int64_t n_cols) {
  static const int kReverse[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  std::vector<uint8_t> out(rows * n_cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_cols / 8; ++c) {
      uint8_t u[8];
      for (int i = 0; i < 8; ++i) u[i] = (static_cast<uint32_t>(words[r * (n_cols / 8) + c]) >> (4 * i)) & 0xF;
      for (int j = 0; j < 8; ++j) out[r * n_cols + 8 * c + j] = u[kReverse[j]];
    }
  return out;
}

// The inverse of spec_unpack, for fixtures: u[REVERSE[j]] = column 8c + j.
std::vector<int32_t> spec_pack(const std::vector<uint8_t>& vals, int64_t rows, int64_t n_cols) {
  static const int kReverse[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  std::vector<int32_t> out(rows * (n_cols / 8));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_cols / 8; ++c) {
      uint32_t w = 0;
      for (int j = 0; j < 8; ++j) w |= static_cast<uint32_t>(vals[r * n_cols + 8 * c + j]) << (4 * kReverse[j]);
      out[r * (n_cols / 8) + c] = static_cast<int32_t>(w);
    }
  return out;
}

class AwqGolden : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = ckpt_test::golden_dir("awq");
    SKIP_WITHOUT_GOLDEN(dir_);
    gs_ = GetParam();
    const std::string d = dir_ + "/w4_g" + std::to_string(gs_) + "/";
    for (const char* f : {"in_W_hat", "in_scales_GN", "in_zeros_GN", "qweight", "qzeros", "scales",
                          "dequantize_gemm", "exllama_qweight", "exllama_qzeros"})
      npy_[f] = read_npy(d + f + ".npy");
    // The codes behind W_hat = fp16((q - z) * s): q = round(W_hat / s) + z (|W_hat/s - (q-z)| < 0.01).
    const int64_t N = 64, K = 256, G = K / gs_;
    const auto w_hat = npy_["in_W_hat"].to_f32();
    const auto s = npy_["in_scales_GN"].to_f32();
    const auto z = npy_["in_zeros_GN"].to_f32();
    q_.n_out = N;
    q_.n_in = K;
    q_.bits = 4;
    q_.group_size = gs_;
    q_.codes.resize(N * K);
    q_.scales.resize(N * G);
    q_.zeros.resize(N * G);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < G; ++g) {
        q_.scales[n * G + g] = s[g * N + n];
        q_.zeros[n * G + g] = z[g * N + n];
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t g = k / gs_;
        const float code = std::nearbyint(w_hat[n * K + k] / q_.scales[n * G + g]) + q_.zeros[n * G + g];
        ASSERT_GE(code, 0.0f);
        ASSERT_LE(code, 15.0f);
        q_.codes[n * K + k] = static_cast<uint8_t>(code);
      }
  }

  MemoryTensorSource peer_source() {
    MemoryTensorSource src;
    for (const char* f : {"qweight", "qzeros", "scales"}) src.add("m", ckpt_test::npy_tensor(f, npy_[f]));
    return src;
  }

  AwqConfig config() const {
    AwqConfig c;
    c.group_size = gs_;
    return c;
  }

  std::string dir_;
  int gs_ = 128;
  std::map<std::string, NpyArray> npy_;
  QuantizedLinear q_;
};

TEST_P(AwqGolden, PackIsByteExact) {
  const auto ts = awq_pack(q_);
  EXPECT_TRUE(same_tensor(find(ts, "qweight"), npy_["qweight"]));
  EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["qzeros"]));
  EXPECT_TRUE(same_tensor(find(ts, "scales"), npy_["scales"]));
}

TEST_P(AwqGolden, UnpackDequantizesLikeAutoAwq) {
  const QuantizedLinear got = awq_unpack(peer_source(), "m", config());
  EXPECT_EQ(got.codes, q_.codes);
  EXPECT_EQ(got.zeros, q_.zeros);
  EXPECT_EQ(got.scales, q_.scales);
  // dequantize_gemm: (iweight - izeros) * scales in fp16, [K, N].
  const auto want = npy_["dequantize_gemm"].to_f32();
  for (int64_t n = 0; n < 64; ++n)
    for (int64_t k = 0; k < 256; ++k) {
      const float w = f16_to_f32(f32_to_f16(got.dequant(n, k)));
      ASSERT_EQ(w, want[k * 64 + n]) << n << "," << k;
    }
}

TEST_P(AwqGolden, RepackToGptqMatchesUnpackReorderPack) {
  // unpack_reorder_pack stores zeros - 1 by int64 arithmetic over the whole word, i.e.
  // GPTQModel's v1 layout (a z = 0 borrows from the next field; group 64 has one).
  const QuantizedLinear got = awq_unpack(peer_source(), "m", config());
  GptqPackOptions o;
  o.v1_zeros = GptqV1Zeros::GptqModel;
  std::vector<std::string> warnings;
  const auto ts = gptq_pack(got, o, &warnings);
  EXPECT_TRUE(same_tensor(find(ts, "qweight"), npy_["exllama_qweight"]));
  EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["exllama_qzeros"]));
  const bool has_zero_0 = std::find(got.zeros.begin(), got.zeros.end(), 0.0f) != got.zeros.end();
  EXPECT_EQ(warnings.size(), has_zero_0 ? 1u : 0u);
  if (gs_ == 64) {
    EXPECT_TRUE(has_zero_0);  // row 0, cols 0-63 are all >= 0
  }
}

TEST_P(AwqGolden, SpecDecoderReadsThePeersTensors) {
  std::vector<int32_t> words;
  for (int64_t x : npy_["qweight"].to_i64()) words.push_back(static_cast<int32_t>(x));
  const auto codes_kn = spec_unpack(words, 256, 64);
  for (int64_t n = 0; n < 64; ++n)
    for (int64_t k = 0; k < 256; ++k) ASSERT_EQ(codes_kn[k * 64 + n], q_.codes[n * 256 + k]);
}

INSTANTIATE_TEST_SUITE_P(Peers, AwqGolden, ::testing::Values(128, 64),
                         [](const ::testing::TestParamInfo<int>& i) { return "w4_g" + std::to_string(i.param); });

QuantizedLinear random_awq(int64_t n_out, int64_t n_in, int gs, uint64_t seed) {
  ckpt_test::Rng rng(seed);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = 4;
  q.group_size = gs;
  q.codes.resize(n_out * n_in);
  for (auto& c : q.codes) c = static_cast<uint8_t>(rng.below(16));
  for (int64_t i = 0; i < n_out * q.n_groups(); ++i) {
    q.scales.push_back(rng.uniform(1e-4f, 1e-2f));
    q.zeros.push_back(static_cast<float>(rng.below(16)));
  }
  return q;
}

TEST(AwqWriter, SpecDecoderRecoversTheAlgorithmOutput) {
  for (int gs : {16, 48, 144}) {
    const QuantizedLinear q = random_awq(40, 144, gs, gs);
    const auto ts = awq_pack(q);
    const NamedTensor* qw = find(ts, "qweight");
    ASSERT_TRUE(qw);
    EXPECT_EQ(qw->shape, (std::vector<int64_t>{144, 5}));
    const auto codes_kn = spec_unpack(i32_of(*qw), 144, 40);
    for (int64_t n = 0; n < 40; ++n)
      for (int64_t k = 0; k < 144; ++k) ASSERT_EQ(codes_kn[k * 40 + n], q.codes[n * 144 + k]);
    const int64_t G = q.n_groups();
    const auto z_gn = spec_unpack(i32_of(*find(ts, "qzeros")), G, 40);
    for (int64_t n = 0; n < 40; ++n)
      for (int64_t g = 0; g < G; ++g) ASSERT_EQ(z_gn[g * 40 + n], q.zeros[n * G + g]);
    EXPECT_EQ(find(ts, "scales")->shape, (std::vector<int64_t>{G, 40}));
  }
}

TEST(AwqFixtures, LayoutsLowbitDidNotWrite) {
  // 3 groups of 48 (odd count), and per-channel (group_size -1 in the config), fp32 scales.
  for (int gs : {48, -1}) {
    const int64_t N = 24, K = 144;
    const int eff = gs > 0 ? gs : static_cast<int>(K);
    QuantizedLinear q = random_awq(N, K, eff, 77);
    const int64_t G = q.n_groups();
    std::vector<uint8_t> codes_kn(K * N), z_gn(G * N);
    std::vector<float> s_gn(G * N);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) codes_kn[k * N + n] = q.codes[n * K + k];
      for (int64_t g = 0; g < G; ++g) {
        z_gn[g * N + n] = static_cast<uint8_t>(q.zeros[n * G + g]);
        s_gn[g * N + n] = q.scales[n * G + g];
      }
    }
    MemoryTensorSource src;
    src.add("model.layers.3.self_attn.o_proj", make_i32_tensor("qweight", {K, N / 8}, spec_pack(codes_kn, K, N)));
    src.add("model.layers.3.self_attn.o_proj", make_i32_tensor("qzeros", {G, N / 8}, spec_pack(z_gn, G, N)));
    src.add("model.layers.3.self_attn.o_proj", make_float_tensor("scales", DType::F32, {G, N}, s_gn));
    AwqConfig cfg;
    cfg.group_size = gs;
    const QuantizedLinear got = awq_unpack(src, "model.layers.3.self_attn.o_proj", cfg);
    EXPECT_EQ(got.group_size, eff);
    EXPECT_EQ(got.codes, q.codes);
    EXPECT_EQ(got.zeros, q.zeros);
    EXPECT_EQ(got.scales, q.scales);
  }
}

TEST(AwqErrors, BadInputs) {
  QuantizedLinear q = random_awq(16, 64, 32, 5);
  EXPECT_NO_THROW(awq_pack(q));
  auto bad = q;
  bad.bits = 3;
  EXPECT_THROW(awq_pack(bad), Error);
  bad = q;
  bad.g_idx.assign(64, 0);
  bad.g_idx[63] = 1;
  EXPECT_THROW(awq_pack(bad), Error);
  bad = random_awq(12, 64, 32, 5);  // n_out not a multiple of 8
  EXPECT_THROW(awq_pack(bad), Error);
  bad = random_awq(16, 48, 32, 5);  // partial group
  EXPECT_THROW(awq_pack(bad), Error);

  AwqConfig cfg;
  cfg.group_size = 32;
  MemoryTensorSource src;
  src.add("m", awq_pack(q));
  EXPECT_NO_THROW(awq_unpack(src, "m", cfg));
  cfg.group_size = 48;  // 64 % 48 != 0
  EXPECT_THROW(awq_unpack(src, "m", cfg), Error);
  cfg.group_size = 16;  // qzeros has 2 rows, not 4
  EXPECT_THROW(awq_unpack(src, "m", cfg), Error);
  cfg.group_size = 32;
  src.remove("m.scales");
  EXPECT_THROW(awq_unpack(src, "m", cfg), Error);
}

TEST(AwqConfigJson, RoundTripAndRejects) {
  AwqConfig c;
  c.group_size = 64;
  c.modules_to_not_convert = {"lm_head"};
  const auto j = awq_config_to_json(c);
  EXPECT_EQ(j.at("quant_method"), "awq");
  EXPECT_EQ(j.at("version"), "gemm");
  const AwqConfig back = awq_config_from_json(j, "config.json");
  EXPECT_EQ(back.group_size, 64);
  EXPECT_EQ(back.modules_to_not_convert, std::vector<std::string>{"lm_head"});
  const AwqConfig autoawq = awq_config_from_json(
      nlohmann::json::parse(R"({"w_bit": 4, "q_group_size": 128, "zero_point": true, "version": "GEMM"})"), "quant_config.json");
  EXPECT_EQ(autoawq.group_size, 128);
  EXPECT_EQ(autoawq.version, "gemm");
  for (const char* text : {R"({"quant_method": "awq", "bits": 8})", R"({"quant_method": "awq", "version": "gemv"})",
                           R"({"quant_method": "awq", "zero_point": false})",
                           R"({"quant_method": "awq", "backend": "llm-awq"})", R"({"quant_method": "gptq"})"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(awq_config_from_json(nlohmann::json::parse(text), "config.json"), Error);
  }
}

}  // namespace
}  // namespace lowbit
