// HQQ:
//  - goldens (../shared/golden/hf/hqq, hqq Quantizer.quantize, cases b{4,3,2}_g64_axis{0,1}):
//    hqq_pack of the peer's codes/scale/zero reproduces W_q byte for byte (both axes, 3-bit
//    padding rows included), and stores scale/zero as the fp16 HQQLinear keeps (bytes equal
//    scale_fp16/zero_fp16); hqq_unpack of the peer's W_q with fp32 meta dequantizes to
//    dequant_fp32 bit for bit, and with fp16 meta (fp16 arithmetic) to dequant_fp16;
//  - the writer's tensors decoded by the spec's own table (other-formats.md §1.2, written in
//    this test) give the codes; the metadata tensors are encoded as hqq/core/utils.py does;
//  - fixtures lowbit did not write (view_as_float, 1/8-bit, bf16 meta, 1.58-bit) and bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/convert.h"
#include "core/error.h"
#include "io/checkpoints/hqq.h"
#include "ckpt_test_util.h"

namespace lowbit {
namespace {

using ckpt_test::find;
using ckpt_test::same_tensor;

float f16r(float x) { return f16_to_f32(f32_to_f16(x)); }

// other-formats.md §1.2, from the text: packed [rows_p, C] -> grouped codes [R, C].
std::vector<uint8_t> spec_unpack(int nbits, const std::vector<uint8_t>& bytes, int64_t R, int64_t C) {
  std::vector<uint8_t> out(R * C);
  if (nbits == 3) {
    const int64_t step = (R + 9) / 10;
    for (int64_t r = 0; r < step; ++r)
      for (int64_t c = 0; c < C; ++c) {
        uint32_t w;
        std::memcpy(&w, bytes.data() + 4 * (r * C + c), 4);
        for (int i = 0; i < 10; ++i)  // slice i at bits 27-3i .. 29-3i
          if (r + i * step < R) out[(r + i * step) * C + c] = (w >> (27 - 3 * i)) & 7;
      }
    return out;
  }
  if (nbits == 8) return bytes;
  const int per = 8 / nbits;  // 4-bit: first half HIGH nibble; 2-bit: bits 7-6 first quarter; 1-bit: bit 7-i
  const int64_t step = R / per;
  for (int64_t r = 0; r < step; ++r)
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < per; ++i)
        out[(r + i * step) * C + c] = (bytes[r * C + c] >> (8 - nbits * (i + 1))) & ((1 << nbits) - 1);
  return out;
}

std::vector<uint8_t> spec_pack(int nbits, const std::vector<uint8_t>& codes, int64_t R, int64_t C) {
  if (nbits == 8) return codes;
  const int per = 8 / nbits;
  const int64_t step = R / per;
  std::vector<uint8_t> out(step * C, 0);
  for (int64_t r = 0; r < step; ++r)
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < per; ++i) out[r * C + c] |= codes[(r + i * step) * C + c] << (8 - nbits * (i + 1));
  return out;
}

struct Case {
  int nbits;
  int axis;
  std::string name() const { return "b" + std::to_string(nbits) + "_g64_axis" + std::to_string(axis); }
};

class HqqGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = ckpt_test::golden_dir("hqq");
    SKIP_WITHOUT_GOLDEN(dir_);
    c_ = GetParam();
    const std::string d = dir_ + "/" + c_.name() + "/";
    for (const char* f : {"W_q", "scale_fp32", "zero_fp32", "scale_fp16", "zero_fp16", "W_q_unpacked",
                          "dequant_fp32", "dequant_fp16"})
      npy_[f] = read_npy(d + f + ".npy");
    std::ifstream meta(d + "meta.json");
    meta_ = nlohmann::json::parse(meta);
    w_.n_out = 64;
    w_.n_in = 256;
    w_.nbits = c_.nbits;
    w_.group_size = 64;
    w_.axis = c_.axis;
    const auto unpacked = ckpt_test::u8_of(npy_["W_q_unpacked"]);  // 3-bit: includes padding rows
    w_.codes.assign(unpacked.begin(), unpacked.begin() + 64 * 256);
    w_.scale = npy_["scale_fp32"].to_f32();
    w_.zero = npy_["zero_fp32"].to_f32();
  }

  std::string dir_;
  Case c_;
  std::map<std::string, NpyArray> npy_;
  nlohmann::json meta_;
  HqqWeight w_;
};

TEST_P(HqqGolden, PackIsByteExact) {
  HqqPackOptions o;
  o.round_zero = c_.nbits == 4;
  const auto ts = hqq_pack(w_, o);
  EXPECT_TRUE(same_tensor(find(ts, "W_q"), npy_["W_q"]));
  EXPECT_TRUE(same_tensor(find(ts, "scale"), npy_["scale_fp16"]));
  EXPECT_TRUE(same_tensor(find(ts, "zero"), npy_["zero_fp16"]));
  const NamedTensor* packing = find(ts, "packing");
  ASSERT_TRUE(packing);
  EXPECT_EQ(std::string(packing->bytes.begin(), packing->bytes.end()), meta_["meta"]["packing"].get<std::string>());
  const NamedTensor* view = find(ts, "unpack_view_dtype");
  EXPECT_EQ(std::string(view->bytes.begin(), view->bytes.end()), meta_["meta"]["unpack_view_dtype"].get<std::string>());
}

TEST_P(HqqGolden, UnpackDequantizesLikeHqq) {
  HqqPackOptions o;
  o.compute_dtype = DType::F32;
  MemoryTensorSource src;
  src.add("m", hqq_pack(w_, o));
  src.add("m", ckpt_test::npy_tensor("W_q", npy_["W_q"]));  // the peer's own bytes
  const HqqWeight got = hqq_unpack_weight(src, "m");
  EXPECT_EQ(got.codes, w_.codes);
  EXPECT_EQ(got.axis, c_.axis);
  const QuantizedLinear q = hqq_unpack(src, "m");
  EXPECT_EQ(q.group_size, c_.axis == 1 ? 64 : 1);  // axis 0 has no row-group form
  std::vector<float> deq(64 * 256);
  q.dequantize(deq.data());
  const auto want = npy_["dequant_fp32"].to_f32();
  for (size_t i = 0; i < deq.size(); ++i) ASSERT_EQ(deq[i], want[i]) << i;

  // fp16 meta as HQQLinear stores it; Quantizer.dequantize in fp16 rounds after each op.
  MemoryTensorSource src16;
  src16.add("m", hqq_pack(w_, {}));
  const QuantizedLinear q16 = hqq_unpack(src16, "m");
  const auto want16 = npy_["dequant_fp16"].to_f32();
  for (int64_t o2 = 0; o2 < 64; ++o2)
    for (int64_t i = 0; i < 256; ++i) {
      const int64_t g = o2 * q16.n_groups() + q16.group_of(i);
      const float v = f16r(f16r(static_cast<float>(q16.codes[o2 * 256 + i]) - q16.zeros[g]) * q16.scales[g]);
      ASSERT_EQ(v, want16[o2 * 256 + i]) << o2 << "," << i;
    }
}

TEST_P(HqqGolden, QuantizedLinearFormRoundTrips) {
  const QuantizedLinear q = hqq_to_quantized_linear(w_);
  const HqqWeight back = hqq_from_quantized_linear(q, c_.axis, 64);
  EXPECT_EQ(back.codes, w_.codes);
  EXPECT_EQ(back.scale, w_.scale);
  EXPECT_EQ(back.zero, w_.zero);
}

INSTANTIATE_TEST_SUITE_P(Peers, HqqGolden,
                         ::testing::Values(Case{4, 0}, Case{4, 1}, Case{3, 0}, Case{3, 1}, Case{2, 0}, Case{2, 1}),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name(); });

HqqWeight random_hqq(int nbits, int64_t n_out, int64_t n_in, int64_t gs, int axis, uint64_t seed) {
  ckpt_test::Rng rng(seed);
  HqqWeight w;
  w.n_out = n_out;
  w.n_in = n_in;
  w.nbits = nbits;
  w.group_size = gs;
  w.axis = axis;
  w.codes.resize(n_out * n_in);
  for (auto& c : w.codes) c = static_cast<uint8_t>(rng.below(1 << nbits));
  for (int64_t g = 0; g < w.n_groups(); ++g) {
    w.scale.push_back(rng.uniform(1e-3f, 1e-2f));
    w.zero.push_back(rng.uniform(0.0f, static_cast<float>((1 << nbits) - 1)));
  }
  return w;
}

TEST(HqqWriter, SpecDecoderAndMetadata) {
  for (int nbits : {1, 2, 3, 4, 8})
    for (int axis : {0, 1}) {
      SCOPED_TRACE(std::to_string(nbits) + " bits, axis " + std::to_string(axis));
      const HqqWeight w = random_hqq(nbits, 16, 96, 32, axis, nbits * 10 + axis);
      const auto ts = hqq_pack(w);
      const int64_t R = axis == 1 ? w.n_groups() : 32, C = axis == 1 ? 32 : w.n_groups();
      const NamedTensor* wq = find(ts, "W_q");
      ASSERT_TRUE(wq);
      EXPECT_EQ(wq->dtype, nbits == 3 ? DType::I32 : DType::U8);
      EXPECT_EQ(spec_unpack(nbits, wq->bytes, R, C), w.codes);  // grouped [R, C] is the flat weight
      const NamedTensor* nb = find(ts, "nbits");
      ASSERT_TRUE(nb);
      EXPECT_EQ(nb->dtype, DType::I32);
      EXPECT_TRUE(nb->shape.empty());
      const NamedTensor* shape = find(ts, "shape");
      ASSERT_TRUE(shape);
      EXPECT_EQ(shape->dtype, DType::I64);
      const NamedTensor* scale = find(ts, "scale");
      EXPECT_EQ(scale->shape, axis == 1 ? (std::vector<int64_t>{48, 1}) : (std::vector<int64_t>{1, 48}));
      const NamedTensor* cd = find(ts, "compute_dtype");
      EXPECT_EQ(std::string(cd->bytes.begin(), cd->bytes.end()), "torch.float16");
      for (const char* k : {"view_as_float", "quant_scale", "quant_zero", "offload_meta", "encoded_state_dict",
                            "stores_quant_config", "channel_wise", "optimize", "round_zero", "group_size", "axis",
                            "unpack_view_dtype"})
        EXPECT_TRUE(find(ts, k)) << k;
    }
}

TEST(HqqFixtures, LayoutsLowbitDidNotWrite) {
  // view_as_float W_q (uint8 bytes viewed as fp16), bf16 meta, 4-bit axis 1, built by hand.
  const HqqWeight w = random_hqq(4, 8, 64, 16, 1, 5);
  const int64_t R = w.n_groups(), C = 16;
  const std::vector<uint8_t> packed = spec_pack(4, w.codes, R, C);
  MemoryTensorSource src;
  const std::string m = "model.layers.1.mlp.down_proj";
  src.add(m, make_tensor("W_q", DType::F16, {R / 2, C / 2}, packed.data()));
  src.add(m, make_float_tensor("scale", DType::BF16, {R, 1}, w.scale));
  src.add(m, make_float_tensor("zero", DType::BF16, {R, 1}, w.zero));
  const int64_t shape[2] = {8, 64};
  src.add(m, make_tensor("shape", DType::I64, {2}, shape));
  const int32_t four = 4, gs = 16, axis = 1;
  const uint8_t yes = 1;
  src.add(m, make_tensor("nbits", DType::I32, {}, &four));
  src.add(m, make_tensor("group_size", DType::I32, {}, &gs));
  src.add(m, make_tensor("axis", DType::I32, {}, &axis));
  src.add(m, make_tensor("view_as_float", DType::U8, {}, &yes));
  const std::string packing = "4bit_u8";
  src.add(m, make_tensor("packing", DType::U8, {7}, packing.data()));
  const HqqWeight got = hqq_unpack_weight(src, m);
  EXPECT_EQ(got.codes, w.codes);
  for (size_t i = 0; i < w.scale.size(); ++i) EXPECT_EQ(got.scale[i], bf16_to_f32(f32_to_bf16(w.scale[i])));

  // 1.58-bit: nbits stored as a float, codes 0..2 in 2bit_u8.
  HqqWeight t = random_hqq(2, 4, 64, 64, 1, 6);
  for (auto& c : t.codes) c %= 3;
  MemoryTensorSource src2;
  auto ts = hqq_pack(t);
  for (auto& x : ts)
    if (x.name == "nbits") {
      const float nb = 1.58f;
      x = make_tensor("nbits", DType::F32, {}, &nb);
    }
  src2.add("l", ts);
  const QuantizedLinear q = hqq_unpack(src2, "l");
  EXPECT_EQ(q.bits, 2);
  EXPECT_EQ(q.codes, t.codes);
}

TEST(HqqErrors, BadInputs) {
  const HqqWeight w = random_hqq(4, 8, 64, 16, 1, 9);
  auto replaced = [&](const std::string& name, NamedTensor t) {
    MemoryTensorSource src;
    src.add("m", hqq_pack(w));
    t.name = name;
    src.add("m", t);
    return src;
  };
  const int32_t bad_gs = 24, bad_bits = 7, bad_axis = 2;
  const uint8_t yes = 1;
  EXPECT_THROW(hqq_unpack(replaced("group_size", make_tensor("", DType::I32, {}, &bad_gs)), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("nbits", make_tensor("", DType::I32, {}, &bad_bits)), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("axis", make_tensor("", DType::I32, {}, &bad_axis)), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("quant_zero", make_tensor("", DType::U8, {}, &yes)), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("W_q", make_tensor("", DType::U8, {3, 16}, std::vector<uint8_t>(48).data())), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("scale", make_float_tensor("", DType::F16, {1, 32}, std::vector<float>(32))), "m"), Error);
  EXPECT_THROW(hqq_unpack(replaced("packing", make_tensor("", DType::U8, {7}, "3bit_32")), "m"), Error);
  const int64_t big[2] = {int64_t{1} << 40, 2};
  EXPECT_THROW(hqq_unpack(replaced("shape", make_tensor("", DType::I64, {2}, big)), "m"), Error);
  MemoryTensorSource missing;
  missing.add("m", hqq_pack(w));
  missing.remove("m.zero");
  EXPECT_THROW(hqq_unpack(missing, "m"), Error);

  HqqWeight odd = random_hqq(4, 3, 64, 64, 1, 1);  // 3 grouped rows: 4bit_u8 needs an even count
  EXPECT_THROW(hqq_pack(odd), Error);
  // A QuantizedLinear whose groups are not HQQ groups cannot be written as axis 0.
  QuantizedLinear q = hqq_to_quantized_linear(random_hqq(4, 8, 64, 16, 1, 2));
  EXPECT_THROW(hqq_from_quantized_linear(q, 0, 16), Error);
}

TEST(HqqConfigJson, RoundTrip) {
  HqqConfig c;
  c.params.nbits = 3;
  c.params.axis = 0;
  c.params.round_zero = false;
  const auto j = hqq_config_to_json(c);
  EXPECT_EQ(j.at("quant_method"), "hqq");
  EXPECT_TRUE(j.at("quant_config").at("scale_quant_params").is_null());
  const HqqConfig back = hqq_config_from_json(j, "config.json");
  EXPECT_EQ(back.params.nbits, 3);
  EXPECT_EQ(back.params.axis, 0);
  EXPECT_EQ(back.skip_modules, std::vector<std::string>{"lm_head"});
  const auto dyn = hqq_config_from_json(nlohmann::json::parse(R"({"quant_method": "hqq", "skip_modules": [],
      "quant_config": {"self_attn.q_proj": {"weight_quant_params": {"nbits": 4, "group_size": 64}},
                       "mlp.down_proj": {"weight_quant_params": {"nbits": 2, "group_size": 32, "axis": 1}}}})"),
                                        "config.json");
  EXPECT_EQ(dyn.per_module_tag.size(), 2u);
  EXPECT_EQ(dyn.per_module_tag.at("mlp.down_proj").nbits, 2);
  for (const char* text : {R"({"quant_method": "hqq"})", R"({"quant_method": "awq", "quant_config": {}})",
                           R"({"quant_config": {"weight_quant_params": {"nbits": 7}}})",
                           R"({"quant_config": {"weight_quant_params": {"nbits": 4}, "scale_quant_params": {"nbits": 8}}})"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(hqq_config_from_json(nlohmann::json::parse(text), "config.json"), Error);
  }
}

}  // namespace
}  // namespace lowbit
