// GPTQ writer and loader without the goldens:
//  - what gptq_pack writes, decoded by the test's own spec implementation (gptq_spec.h, from
//    specs/gptq.md §1.1-1.3), gives the algorithm's codes, zeros and scales (v1 and v2, all
//    bit widths, partial last group, per-channel, act-order);
//  - fixtures built by that spec implementation in layouts lowbit did not write (odd group
//    counts, act-order g_idx, no g_idx, bf16/fp32 scales, int64 g_idx), stored in a real
//    safetensors file, load through gptq_unpack;
//  - bad tensors and bad configs are Errors; quantization_config round-trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/convert.h"
#include "core/error.h"
#include "io/checkpoints/gptq.h"
#include "io/safetensors.h"
#include "ckpt_test_util.h"
#include "gptq_spec.h"

namespace lowbit {
namespace {

using ckpt_test::find;
using ckpt_test::i32_of;

// A random QuantizedLinear; act_order scatters groups like GPTQ (g_idx = invperm[k] / gs).
QuantizedLinear random_linear(int bits, int64_t n_out, int64_t n_in, int group_size, bool act_order, bool sym,
                              uint64_t seed) {
  ckpt_test::Rng rng(seed);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = group_size;
  q.sym = sym;
  const int64_t n_groups = q.n_groups();
  const int max_code = (1 << bits) - 1;
  q.codes.resize(n_out * n_in);
  for (auto& c : q.codes) c = static_cast<uint8_t>(rng.below(max_code + 1));
  for (int64_t i = 0; i < n_out * n_groups; ++i) {
    q.scales.push_back(rng.uniform(1e-4f, 2e-2f));
    q.zeros.push_back(sym ? static_cast<float>(1 << (bits - 1)) : static_cast<float>(rng.below(max_code + 1)));
  }
  if (act_order) {
    std::vector<int64_t> perm(n_in);
    std::iota(perm.begin(), perm.end(), 0);
    for (int64_t i = n_in - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    q.g_idx.resize(n_in);
    for (int64_t pos = 0; pos < n_in; ++pos) q.g_idx[perm[pos]] = static_cast<int32_t>(pos / group_size);
  }
  return q;
}

float f16_round(float x) { return f16_to_f32(f32_to_f16(x)); }

struct WriterCase {
  int bits;
  int group_size;  // 0: per channel
  bool act_order;
  bool v2;
};

class GptqWriter : public ::testing::TestWithParam<WriterCase> {};

TEST_P(GptqWriter, SpecDecoderRecoversTheAlgorithmOutput) {
  const WriterCase w = GetParam();
  const int64_t n_out = 64, n_in = 96;
  const int gs = w.group_size ? w.group_size : static_cast<int>(n_in);
  QuantizedLinear q = random_linear(w.bits, n_out, n_in, gs, w.act_order, false, 7 + w.bits);
  q.zeros[0] = 0;  // the case v1 cannot store for every kernel
  GptqPackOptions o;
  o.format = w.v2 ? GptqCheckpointFormat::V2 : GptqCheckpointFormat::V1;
  std::vector<std::string> warnings;
  const auto ts = gptq_pack(q, o, &warnings);
  EXPECT_EQ(warnings.size(), w.v2 ? 0u : 1u);
  const int64_t G = q.n_groups();

  const NamedTensor* qweight = find(ts, "qweight");
  ASSERT_TRUE(qweight);
  EXPECT_EQ(qweight->dtype, DType::I32);
  EXPECT_EQ(qweight->shape, (std::vector<int64_t>{n_in * w.bits / 32, n_out}));
  EXPECT_EQ(gptq_spec::decode_qweight(i32_of(*qweight), n_in, n_out, w.bits), q.codes);

  const NamedTensor* qzeros = find(ts, "qzeros");
  ASSERT_TRUE(qzeros);
  EXPECT_EQ(qzeros->shape, (std::vector<int64_t>{G, n_out * w.bits / 32}));
  const auto z = gptq_spec::decode_qzeros(i32_of(*qzeros), G, n_out, w.bits, !w.v2);
  for (size_t i = 0; i < z.size(); ++i) ASSERT_EQ(z[i], q.zeros[i]) << i;

  const NamedTensor* scales = find(ts, "scales");
  ASSERT_TRUE(scales);
  EXPECT_EQ(scales->dtype, DType::F16);
  EXPECT_EQ(scales->shape, (std::vector<int64_t>{G, n_out}));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t n = 0; n < n_out; ++n) {
      uint16_t h;
      std::memcpy(&h, scales->bytes.data() + 2 * (g * n_out + n), 2);
      ASSERT_EQ(f16_to_f32(h), f16_round(q.scales[n * G + g]));
    }

  const NamedTensor* g_idx = find(ts, "g_idx");
  ASSERT_TRUE(g_idx);
  const auto gi = i32_of(*g_idx);
  for (int64_t k = 0; k < n_in; ++k) ASSERT_EQ(gi[k], q.group_of(k));
}

std::vector<WriterCase> writer_cases() {
  std::vector<WriterCase> cs;
  for (int bits : {2, 3, 4, 8})
    for (int gs : {32, 40, 0})
      for (bool act : {false, true})
        for (bool v2 : {false, true})
          if (!(act && gs == 0)) cs.push_back({bits, gs, act, v2});
  return cs;
}

INSTANTIATE_TEST_SUITE_P(Layouts, GptqWriter, ::testing::ValuesIn(writer_cases()),
                         [](const ::testing::TestParamInfo<WriterCase>& i) {
                           const auto& c = i.param;
                           return "b" + std::to_string(c.bits) + "_g" + std::to_string(c.group_size) +
                                  (c.act_order ? "_act" : "") + (c.v2 ? "_v2" : "_v1");
                         });

// A checkpoint built by the spec implementation, stored in a safetensors file, read back.
struct Fixture {
  QuantizedLinear q;
  std::vector<NamedTensor> tensors;
};

Fixture spec_fixture(int bits, int64_t n_out, int64_t n_in, int gs, bool act_order, bool v1, DType scale_dtype,
                     bool store_g_idx, DType g_idx_dtype) {
  Fixture f;
  f.q = random_linear(bits, n_out, n_in, gs, act_order, false, 1000 + bits);
  const QuantizedLinear& q = f.q;
  const int64_t G = q.n_groups();
  std::vector<uint8_t> z(q.zeros.begin(), q.zeros.end());
  f.tensors.push_back(make_i32_tensor("qweight", {n_in * bits / 32, n_out}, gptq_spec::encode_qweight(q.codes, n_in, n_out, bits)));
  f.tensors.push_back(make_i32_tensor("qzeros", {G, n_out * bits / 32}, gptq_spec::encode_qzeros(z, G, n_out, bits, v1)));
  std::vector<float> s_gn(G * n_out);
  for (int64_t n = 0; n < n_out; ++n)
    for (int64_t g = 0; g < G; ++g) s_gn[g * n_out + n] = q.scales[n * G + g];
  f.tensors.push_back(make_float_tensor("scales", scale_dtype, {G, n_out}, s_gn));
  if (store_g_idx) {
    std::vector<int64_t> gi(n_in);
    for (int64_t k = 0; k < n_in; ++k) gi[k] = q.group_of(k);
    if (g_idx_dtype == DType::I64) {
      f.tensors.push_back(make_tensor("g_idx", DType::I64, {n_in}, gi.data()));
    } else {
      f.tensors.push_back(make_i32_tensor("g_idx", {n_in}, std::vector<int32_t>(gi.begin(), gi.end())));
    }
  }
  // What the reader must return: scales as stored.
  for (auto& s : f.q.scales) {
    if (scale_dtype == DType::F16) s = f16_to_f32(f32_to_f16(s));
    if (scale_dtype == DType::BF16) s = bf16_to_f32(f32_to_bf16(s));
  }
  return f;
}

TEST(GptqFixtures, LayoutsLowbitDidNotWriteLoadFromSafetensors) {
  struct C {
    int bits;
    int64_t n_in;
    int gs;
    bool act;
    bool v1;
    DType scale_dtype;
    bool g_idx;
    DType g_idx_dtype;
  };
  const std::vector<C> cases = {
      {4, 160, 32, false, true, DType::F16, true, DType::I32},   // 5 groups
      {4, 168, 48, true, true, DType::BF16, true, DType::I32},   // 4 groups, last partial, act-order
      {3, 96, 32, true, false, DType::F32, true, DType::I64},    // 3 groups, act-order, v2
      {2, 112, 16, false, true, DType::F16, false, DType::I32},  // 7 groups, no g_idx stored
      {8, 36, 12, true, true, DType::F16, true, DType::I32},     // 3 groups of 12
  };
  test::TempDir dir("gptq-fixture");
  for (const C& c : cases) {
    SCOPED_TRACE("bits " + std::to_string(c.bits) + " n_in " + std::to_string(c.n_in));
    const int64_t n_out = c.bits == 3 ? 64 : 48;
    Fixture f = spec_fixture(c.bits, n_out, c.n_in, c.gs, c.act, c.v1, c.scale_dtype, c.g_idx, c.g_idx_dtype);
    SafetensorsWriter w;
    for (const auto& t : f.tensors)
      w.add(tensor_name("model.layers.0.mlp.up_proj", t.name), t.dtype, t.shape, t.bytes.data());
    const std::string path = dir.file("b" + std::to_string(c.bits) + ".safetensors");
    w.write_file(path);
    auto model = SafetensorsModel::open(path);
    SafetensorsTensorSource src(*model);
    GptqConfig cfg;
    cfg.bits = c.bits;
    cfg.group_size = c.gs;
    cfg.desc_act = c.act;
    cfg.sym = false;
    cfg.format = c.v1 ? GptqCheckpointFormat::V1 : GptqCheckpointFormat::V2;
    std::vector<std::string> warnings;
    const QuantizedLinear got = gptq_unpack(src, "model.layers.0.mlp.up_proj", cfg, &warnings);
    EXPECT_EQ(got.n_out, n_out);
    EXPECT_EQ(got.n_in, c.n_in);
    EXPECT_EQ(got.group_size, c.gs);
    EXPECT_EQ(got.codes, f.q.codes);
    EXPECT_EQ(got.zeros, f.q.zeros);
    EXPECT_EQ(got.scales, f.q.scales);
    EXPECT_EQ(got.g_idx, f.q.g_idx);
    for (int64_t k = 0; k < c.n_in; ++k) ASSERT_EQ(got.group_of(k), f.q.group_of(k));
  }
}

TEST(GptqFixtures, PerChannelConfigMeansOneGroup) {
  Fixture f = spec_fixture(4, 32, 64, 64, false, true, DType::F16, true, DType::I32);
  MemoryTensorSource src;
  src.add("x", f.tensors);
  GptqConfig cfg;
  cfg.bits = 4;
  cfg.group_size = -1;
  const QuantizedLinear got = gptq_unpack(src, "x", cfg);
  EXPECT_EQ(got.group_size, 64);
  EXPECT_EQ(got.n_groups(), 1);
  EXPECT_EQ(got.codes, f.q.codes);
}

TEST(GptqRoundTrip, PackThenUnpackIsIdentity) {
  for (int bits : {2, 3, 4, 8}) {
    const QuantizedLinear q = random_linear(bits, 64, 128, 32, true, bits == 4, 99);
    for (auto fmt : {GptqCheckpointFormat::V1, GptqCheckpointFormat::V2}) {
      GptqPackOptions o;
      o.format = fmt;
      o.scale_dtype = DType::F32;
      MemoryTensorSource src;
      src.add("l", gptq_pack(q, o));
      GptqConfig cfg;
      cfg.bits = bits;
      cfg.group_size = 32;
      cfg.sym = q.sym;
      cfg.format = fmt;
      const QuantizedLinear got = gptq_unpack(src, "l", cfg);
      EXPECT_EQ(got.codes, q.codes);
      EXPECT_EQ(got.zeros, q.zeros);
      EXPECT_EQ(got.scales, q.scales);
      EXPECT_EQ(got.g_idx, q.g_idx);
    }
  }
}

TEST(GptqErrors, PackRejectsWhatItCannotWrite) {
  QuantizedLinear q = random_linear(4, 32, 64, 32, false, false, 1);
  EXPECT_NO_THROW(gptq_pack(q));
  auto bad = q;
  bad.zeros[3] = 2.5f;
  EXPECT_THROW(gptq_pack(bad), Error);
  bad = q;
  bad.zeros[3] = 16;
  EXPECT_THROW(gptq_pack(bad), Error);
  bad = q;
  bad.codes[5] = 16;
  EXPECT_THROW(gptq_pack(bad), Error);
  bad = q;
  bad.bits = 5;
  EXPECT_THROW(gptq_pack(bad), Error);
  bad = q;
  bad.scales.pop_back();
  EXPECT_THROW(gptq_pack(bad), Error);
  bad = q;
  bad.g_idx.assign(64, 7);
  EXPECT_THROW(gptq_pack(bad), Error);
  QuantizedLinear odd = random_linear(3, 32, 48, 16, false, false, 2);  // 3-bit needs n_in % 32 == 0
  EXPECT_THROW(gptq_pack(odd), Error);
  odd = random_linear(4, 36, 64, 32, false, false, 2);  // n_out 36 does not fill qzeros words
  EXPECT_THROW(gptq_pack(odd), Error);
}

TEST(GptqErrors, UnpackRejectsBadTensors) {
  const QuantizedLinear q = random_linear(4, 32, 64, 32, false, false, 3);
  const auto good = gptq_pack(q);
  GptqConfig cfg;
  cfg.bits = 4;
  cfg.group_size = 32;
  auto with = [&](const std::string& name, NamedTensor t) {
    MemoryTensorSource src;
    src.add("m", good);
    t.name = name;
    src.add("m", t);
    return src;
  };
  {
    MemoryTensorSource src;
    src.add("m", good);
    src.remove("m.qzeros");
    EXPECT_THROW(gptq_unpack(src, "m", cfg), Error);
  }
  EXPECT_THROW(gptq_unpack(with("qweight", make_float_tensor("", DType::F32, {8, 32}, std::vector<float>(256))), "m", cfg), Error);
  EXPECT_THROW(gptq_unpack(with("scales", make_float_tensor("", DType::F16, {3, 32}, std::vector<float>(96))), "m", cfg), Error);
  EXPECT_THROW(gptq_unpack(with("qzeros", make_i32_tensor("", {2, 5}, std::vector<int32_t>(10))), "m", cfg), Error);
  EXPECT_THROW(gptq_unpack(with("g_idx", make_i32_tensor("", {64}, std::vector<int32_t>(64, 2))), "m", cfg), Error);
  EXPECT_THROW(gptq_unpack(with("g_idx", make_i32_tensor("", {63}, std::vector<int32_t>(63, 0))), "m", cfg), Error);
  EXPECT_THROW(gptq_unpack(with("g_idx", make_float_tensor("", DType::F32, {64}, std::vector<float>(64))), "m", cfg), Error);
  cfg.bits = 3;  // 8 qweight rows are not a 3-bit layout
  MemoryTensorSource src;
  src.add("m", good);
  EXPECT_THROW(gptq_unpack(src, "m", cfg), Error);
}

TEST(GptqConfigJson, RoundTripAndSynonyms) {
  GptqConfig c;
  c.bits = 3;
  c.group_size = 64;
  c.desc_act = true;
  c.sym = false;
  c.format = GptqCheckpointFormat::V2;
  const nlohmann::json j = gptq_config_to_json(c);
  EXPECT_EQ(j.at("quant_method"), "gptq");
  EXPECT_EQ(j.at("checkpoint_format"), "gptq_v2");
  EXPECT_EQ(j.at("format"), "gptq_v2");
  const GptqConfig back = gptq_config_from_json(j, "config.json");
  EXPECT_EQ(back.bits, 3);
  EXPECT_EQ(back.group_size, 64);
  EXPECT_TRUE(back.desc_act);
  EXPECT_FALSE(back.sym);
  EXPECT_EQ(back.format, GptqCheckpointFormat::V2);

  const GptqConfig syn = gptq_config_from_json(
      nlohmann::json::parse(R"({"w_bit": 4, "q_group_size": 128, "format": "gptq", "dynamic": {"-:.*lm_head": {}}})"),
      "quantize_config.json");
  EXPECT_EQ(syn.bits, 4);
  EXPECT_EQ(syn.group_size, 128);
  EXPECT_TRUE(syn.sym);
  EXPECT_EQ(syn.format, GptqCheckpointFormat::V1);
}

TEST(GptqConfigJson, RejectsWhatItCannotDecode) {
  for (const char* text : {
           R"({"quant_method": "awq", "bits": 4})",
           R"({"quant_method": "gptq"})",
           R"({"quant_method": "gptq", "bits": 5})",
           R"({"quant_method": "gptq", "bits": "4"})",
           R"({"quant_method": "gptq", "bits": 4, "desc_act": "yes"})",
           R"({"quant_method": "gptq", "bits": 4, "checkpoint_format": "marlin"})",
           R"({"quant_method": "gptq", "bits": 4, "is_marlin_format": true})",
           R"({"quant_method": "gptq", "bits": 4, "group_size": 0})",
           R"({"quant_method": "gptq", "bits": 4, "pack_dtype": "int16"})",
           R"({"quant_method": "gptq", "bits": 4, "dynamic": {"+:.*down_proj": {"bits": 8}}})",
           R"([1, 2])",
       }) {
    SCOPED_TRACE(text);
    EXPECT_THROW(gptq_config_from_json(nlohmann::json::parse(text), "config.json"), Error);
  }
}

}  // namespace
}  // namespace lowbit
