// compressed-tensors pack-quantized:
//  - goldens (../shared/golden/hf/compressed_tensors, pack_to_int32 of given int8 [16, 40]):
//    ct_pack_int32 reproduces packed_dim1 and packed_dim0 byte for byte for 2/3/4/8 bits and
//    ct_unpack_int32 inverts them; a module whose weight_packed and weight_zero_point ARE the
//    peer's bytes unpacks to the peer's values;
//  - the writer's tensors decoded by the spec rule written here (§2.1: q = ((w >> b*j) & mask)
//    - 2^(b-1), zero points along dim 0) give the codes and zeros (W4A16 group sym/asym with a
//    partial group, act-order, W8A16 channel);
//  - config round trip, scheme matching (ignore, re:, class, exact), bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/compressed_tensors.h"
#include "ckpt_test_util.h"

namespace lowbit {
namespace {

using ckpt_test::find;
using ckpt_test::i32_of;
using ckpt_test::same_tensor;

// §2.1 from the text: element j of a word at bits [b*j, b*j+b), minus 2^(b-1).
int spec_field(const std::vector<int32_t>& words, int64_t word, int64_t j, int bits) {
  return static_cast<int>((static_cast<uint32_t>(words[word]) >> (bits * j)) & ((1u << bits) - 1)) - (1 << (bits - 1));
}

class CtGolden : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = ckpt_test::golden_dir("compressed_tensors");
    SKIP_WITHOUT_GOLDEN(dir_);
    bits_ = GetParam();
    const std::string d = dir_ + "/b" + std::to_string(bits_) + "/";
    for (const char* f : {"value_int8", "packed_dim1", "packed_dim0"}) npy_[f] = read_npy(d + f + ".npy");
    for (int64_t v : npy_["value_int8"].to_i64()) values_.push_back(static_cast<int8_t>(v));
  }
  std::string dir_;
  int bits_ = 4;
  std::map<std::string, NpyArray> npy_;
  std::vector<int8_t> values_;
};

TEST_P(CtGolden, PackToInt32IsByteExact) {
  const int64_t pf = 32 / bits_;
  const auto dim1 = ct_pack_int32(values_.data(), 16, 40, bits_, 1);
  const NamedTensor t1 = make_i32_tensor("p1", {16, (40 + pf - 1) / pf}, dim1);
  EXPECT_TRUE(same_tensor(&t1, npy_["packed_dim1"]));
  const auto dim0 = ct_pack_int32(values_.data(), 16, 40, bits_, 0);
  const NamedTensor t0 = make_i32_tensor("p0", {(16 + pf - 1) / pf, 40}, dim0);
  EXPECT_TRUE(same_tensor(&t0, npy_["packed_dim0"]));
  EXPECT_EQ(ct_unpack_int32(dim1.data(), 16, 40, bits_, 1), values_);
  EXPECT_EQ(ct_unpack_int32(dim0.data(), 16, 40, bits_, 0), values_);
}

TEST_P(CtGolden, ModuleMadeOfThePeersBytesUnpacks) {
  // weight [16, 40] = value_int8, group_size 1 so the zero points [16, 40] are value_int8 too.
  MemoryTensorSource src;
  src.add("m", ckpt_test::npy_tensor("weight_packed", npy_["packed_dim1"]));
  src.add("m", ckpt_test::npy_tensor("weight_zero_point", npy_["packed_dim0"]));
  src.add("m", make_float_tensor("weight_scale", DType::F16, {16, 40}, std::vector<float>(640, 0.5f)));
  const int64_t shape[2] = {16, 40};
  src.add("m", make_tensor("weight_shape", DType::I64, {2}, shape));
  CtQuantArgs a;
  a.num_bits = bits_;
  a.symmetric = false;
  a.strategy = CtStrategy::Group;
  a.group_size = 1;
  const QuantizedLinear q = ct_unpack(src, "m", a);
  const int offset = 1 << (bits_ - 1);
  for (size_t i = 0; i < values_.size(); ++i) {
    ASSERT_EQ(q.codes[i], values_[i] + offset);
    ASSERT_EQ(q.zeros[i], values_[i] + offset);
  }
}

INSTANTIATE_TEST_SUITE_P(Peers, CtGolden, ::testing::Values(2, 3, 4, 8),
                         [](const ::testing::TestParamInfo<int>& i) { return "b" + std::to_string(i.param); });

QuantizedLinear random_ct(int bits, int64_t n_out, int64_t n_in, int gs, bool sym, bool act, uint64_t seed) {
  ckpt_test::Rng rng(seed);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = gs;
  q.sym = sym;
  q.codes.resize(n_out * n_in);
  for (auto& c : q.codes) c = static_cast<uint8_t>(rng.below(1 << bits));
  for (int64_t i = 0; i < n_out * q.n_groups(); ++i) {
    q.scales.push_back(rng.uniform(1e-3f, 1e-2f));
    q.zeros.push_back(sym ? static_cast<float>(1 << (bits - 1)) : static_cast<float>(rng.below(1 << bits)));
  }
  if (act) {
    q.g_idx.resize(n_in);
    for (int64_t k = 0; k < n_in; ++k) q.g_idx[k] = static_cast<int32_t>(rng.below(q.n_groups()));
  }
  return q;
}

TEST(CtWriter, SpecDecoderRecoversTheAlgorithmOutput) {
  struct C {
    int bits, gs;
    bool sym, act;
  };
  for (const C& c : {C{4, 64, true, false}, C{4, 64, false, false}, C{4, 64, false, true}, C{8, 200, true, false},
                     C{8, 200, false, false}, C{2, 32, false, false}, C{3, 64, true, false}}) {
    SCOPED_TRACE("bits " + std::to_string(c.bits) + " gs " + std::to_string(c.gs));
    const int64_t N = 20, K = 200;  // N, K not multiples of the pack factor; 200/64: partial group
    const QuantizedLinear q = random_ct(c.bits, N, K, c.gs, c.sym, c.act, c.bits * 7 + c.gs);
    const CtQuantArgs args = ct_weight_args_for(q);
    EXPECT_EQ(args.strategy, c.gs >= K ? CtStrategy::Channel : CtStrategy::Group);
    const auto ts = ct_pack(q, args);
    const int64_t pf = 32 / c.bits, G = q.n_groups(), off = 1 << (c.bits - 1);
    const NamedTensor* packed = find(ts, "weight_packed");
    ASSERT_TRUE(packed);
    ASSERT_EQ(packed->shape, (std::vector<int64_t>{N, (K + pf - 1) / pf}));
    const auto words = i32_of(*packed);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        ASSERT_EQ(spec_field(words, n * packed->shape[1] + k / pf, k % pf, c.bits) + off, q.codes[n * K + k]);
    EXPECT_EQ(find(ts, "weight_scale")->shape, (std::vector<int64_t>{N, G}));
    const NamedTensor* shape = find(ts, "weight_shape");
    ASSERT_TRUE(shape);
    EXPECT_EQ(shape->dtype, DType::I64);
    const NamedTensor* zp = find(ts, "weight_zero_point");
    EXPECT_EQ(zp != nullptr, !c.sym);
    if (zp) {
      ASSERT_EQ(zp->shape, (std::vector<int64_t>{(N + pf - 1) / pf, G}));
      const auto zw = i32_of(*zp);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t g = 0; g < G; ++g)
          ASSERT_EQ(spec_field(zw, (n / pf) * G + g, n % pf, c.bits) + off, q.zeros[n * G + g]);
    }
    const NamedTensor* g_idx = find(ts, "weight_g_idx");
    EXPECT_EQ(g_idx != nullptr, c.act);
    if (g_idx) {
      EXPECT_EQ(i32_of(*g_idx), q.g_idx);
    }
    // And the loader reads it back.
    MemoryTensorSource src;
    src.add("model.layers.0.mlp.gate_proj", ts);
    const QuantizedLinear back = ct_unpack(src, "model.layers.0.mlp.gate_proj", args);
    EXPECT_EQ(back.codes, q.codes);
    EXPECT_EQ(back.zeros, q.zeros);
    EXPECT_EQ(back.g_idx, q.g_idx);
  }
}

TEST(CtFixtures, TensorStrategyAndInt32Shape) {
  // A layout lowbit does not write: one scale for the tensor, int8 zero point, weight_shape int32.
  const int64_t N = 8, K = 16;
  std::vector<int8_t> vals(N * K);
  for (int64_t i = 0; i < N * K; ++i) vals[i] = static_cast<int8_t>((i % 16) - 8);
  MemoryTensorSource src;
  src.add("x", make_i32_tensor("weight_packed", {N, 2}, ct_pack_int32(vals.data(), N, K, 4, 1)));
  src.add("x", make_float_tensor("weight_scale", DType::BF16, {1}, {0.25f}));
  const int8_t zp = -3;
  src.add("x", make_tensor("weight_zero_point", DType::I8, {1}, &zp));
  src.add("x", make_i32_tensor("weight_shape", {2}, {8, 16}));
  CtQuantArgs a;
  a.num_bits = 4;
  a.symmetric = false;
  a.strategy = CtStrategy::Tensor;
  const QuantizedLinear q = ct_unpack(src, "x", a);
  EXPECT_EQ(q.n_groups(), 1);
  for (int64_t i = 0; i < N * K; ++i) EXPECT_FLOAT_EQ(q.dequant(i / K, i % K), 0.25f * (vals[i] - zp));
}

TEST(CtErrors, BadInputs) {
  const QuantizedLinear q = random_ct(4, 16, 64, 32, false, false, 3);
  const CtQuantArgs args = ct_weight_args_for(q);
  {
    auto sym_args = args;
    sym_args.symmetric = true;  // zeros are not 8
    EXPECT_THROW(ct_pack(q, sym_args), Error);
    auto g = q;
    g.g_idx.assign(64, 1);
    EXPECT_THROW(ct_pack(g, args), Error);  // g_idx without actorder
    auto bits = args;
    bits.num_bits = 8;
    EXPECT_THROW(ct_pack(q, bits), Error);
  }
  auto with = [&](NamedTensor t) {
    MemoryTensorSource src;
    src.add("m", ct_pack(q, args));
    src.add("m", std::move(t));
    return src;
  };
  EXPECT_THROW(ct_unpack(with(make_i32_tensor("weight_shape", {2}, {16, 72})), "m", args), Error);
  EXPECT_THROW(ct_unpack(with(make_i32_tensor("weight_shape", {2}, {-1, 64})), "m", args), Error);
  EXPECT_THROW(ct_unpack(with(make_float_tensor("weight_scale", DType::F16, {16, 3}, std::vector<float>(48))), "m", args), Error);
  EXPECT_THROW(ct_unpack(with(make_i32_tensor("weight_zero_point", {1, 2}, {0, 0})), "m", args), Error);
  EXPECT_THROW(ct_unpack(with(make_i32_tensor("weight_g_idx", {64}, std::vector<int32_t>(64, 9))), "m", args), Error);
  MemoryTensorSource missing;
  missing.add("m", ct_pack(q, args));
  missing.remove("m.weight_zero_point");
  EXPECT_THROW(ct_unpack(missing, "m", args), Error);
}

TEST(CtConfigJson, RoundTripAndMatching) {
  CtConfig c;
  c.config_groups.emplace_back("group_0", ct_scheme_w4a16(128));
  CtScheme down = ct_scheme_w8a16(false);
  down.targets = {"re:.*down_proj$", "model.layers.0.self_attn.o_proj"};
  c.config_groups.emplace_back("group_1", down);
  c.ignore = {"lm_head", "re:model\\.layers\\.3\\."};
  const nlohmann::json j = ct_config_to_json(c);
  EXPECT_EQ(j.at("quant_method"), "compressed-tensors");
  EXPECT_EQ(j.at("format"), "pack-quantized");
  EXPECT_EQ(j.at("config_groups").at("group_0").at("weights").at("group_size"), 128);
  EXPECT_EQ(j.at("config_groups").at("group_1").at("weights").at("strategy"), "channel");
  const CtConfig back = ct_config_from_json(j, "config.json");
  ASSERT_EQ(back.config_groups.size(), 2u);

  const CtScheme* s = ct_scheme_for(back, "model.layers.0.mlp.up_proj");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->weights->num_bits, 4);
  s = ct_scheme_for(back, "model.layers.0.mlp.down_proj");  // regex beats class name
  ASSERT_TRUE(s);
  EXPECT_EQ(s->weights->num_bits, 8);
  s = ct_scheme_for(back, "model.layers.0.self_attn.o_proj");  // exact name
  ASSERT_TRUE(s);
  EXPECT_EQ(s->weights->num_bits, 8);
  EXPECT_EQ(ct_scheme_for(back, "lm_head"), nullptr);
  EXPECT_EQ(ct_scheme_for(back, "model.layers.3.mlp.up_proj"), nullptr);
  EXPECT_EQ(ct_scheme_for(back, "model.embed_tokens", "Embedding"), nullptr);
  EXPECT_EQ(ct_format_for(back, *s), "pack-quantized");

  // Inferred strategies and actorder aliases, as quant_args.py validates them.
  const CtConfig inferred = ct_config_from_json(nlohmann::json::parse(R"({"quant_method": "compressed-tensors",
      "format": "pack-quantized", "config_groups": {"g": {"targets": ["Linear"],
      "weights": {"num_bits": 4, "group_size": 64, "actorder": true, "symmetric": false}}}})"), "config.json");
  const CtQuantArgs& w = *inferred.config_groups[0].second.weights;
  EXPECT_EQ(w.strategy, CtStrategy::Group);
  EXPECT_EQ(w.actorder, "group");
  for (const char* text : {R"({"quant_method": "gptq"})", R"({"config_groups": {"g": {"weights": {"strategy": "rows"}}}})",
                           R"({"config_groups": {"g": {"weights": {"num_bits": "4"}}}})", R"({"config_groups": [1]})",
                           R"({"config_groups": {"g": {"weights": {"actorder": "sometimes"}}}})"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(ct_config_from_json(nlohmann::json::parse(text), "config.json"), Error);
  }
}

}  // namespace
}  // namespace lowbit
