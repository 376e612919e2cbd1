// bitsandbytes decoders against ../shared/golden/hf/bnb (bitsandbytes' own default-backend
// kernels): NF4/FP4 with and without double quant dequantize to dequant.npy bit for bit (fp32
// maths, then fp16); LLM.int8 CB/SCB decode within half a step of the input weight; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/convert.h"
#include "core/error.h"
#include "io/checkpoints/bnb.h"
#include "ckpt_test_util.h"

namespace lowbit {
namespace {

class Bnb4Golden : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ckpt_test::golden_dir("bnb");
    SKIP_WITHOUT_GOLDEN(dir_);
    name_ = GetParam();
    const std::string d = dir_ + "/" + name_ + "/";
    type_ = name_.substr(0, 3);
    dq_ = name_.find("_dq_") != std::string::npos;
    const std::string w = "model.layers.0.mlp.up_proj.weight";
    src_.add("", ckpt_test::npy_tensor(w, read_npy(d + "weight.npy")));
    src_.add("", ckpt_test::npy_tensor(w + ".absmax", read_npy(d + "absmax.npy")));
    src_.add("", ckpt_test::npy_tensor(w + ".quant_map", read_npy(d + "quant_map.npy")));
    src_.add("", ckpt_test::npy_tensor(w + ".quant_state.bitsandbytes__" + type_,
                                       read_npy(d + "quant_state.bitsandbytes__" + type_ + ".npy")));
    if (dq_) {
      src_.add("", ckpt_test::npy_tensor(w + ".nested_absmax", read_npy(d + "nested_absmax.npy")));
      src_.add("", ckpt_test::npy_tensor(w + ".nested_quant_map", read_npy(d + "nested_quant_map.npy")));
    }
    want_ = read_npy(d + "dequant.npy").to_f32();
  }
  std::string dir_, name_, type_;
  bool dq_ = false;
  MemoryTensorSource src_;
  std::vector<float> want_;
};

TEST_P(Bnb4Golden, DequantizesLikeBitsandbytes) {
  const Bnb4bitWeight w = bnb4_unpack(src_, "model.layers.0.mlp.up_proj");
  EXPECT_EQ(w.quant_type, type_);
  EXPECT_EQ(w.blocksize, 64);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{64, 256}));
  EXPECT_EQ(w.dtype, DType::F16);
  std::vector<float> out(w.n_elems());
  w.dequantize(out.data());
  ASSERT_EQ(out.size(), want_.size());
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(f16_to_f32(f32_to_f16(out[i])), want_[i]) << i;
}

INSTANTIATE_TEST_SUITE_P(Peers, Bnb4Golden,
                         ::testing::Values("nf4_nodq_bs64", "nf4_dq_bs64", "fp4_nodq_bs64", "fp4_dq_bs64"));

TEST(BnbInt8Golden, DecodesCbAndScb) {
  const std::string dir = ckpt_test::golden_dir("bnb");
  SKIP_WITHOUT_GOLDEN(dir);
  MemoryTensorSource src;
  src.add("m", ckpt_test::npy_tensor("weight", read_npy(dir + "/int8/CB.npy")));
  src.add("m", ckpt_test::npy_tensor("SCB", read_npy(dir + "/int8/SCB.npy")));
  const uint8_t row = 0;
  src.add("m", make_tensor("weight_format", DType::U8, {}, &row));
  const BnbInt8Weight w = bnb_int8_unpack(src, "m");
  ASSERT_EQ(w.n_out, 64);
  ASSERT_EQ(w.n_in, 256);
  const std::vector<float> W = read_npy(dir + "/inputs/W.npy").to_f32();
  std::vector<float> deq(64 * 256);
  w.dequantize(deq.data());
  const QuantizedLinear q = w.to_quantized_linear();
  for (int64_t r = 0; r < 64; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < 256; ++c) amax = std::max(amax, std::fabs(W[r * 256 + c]));
    EXPECT_EQ(w.scb[r], amax);  // SCB is the row absmax (spec §2.1)
    for (int64_t c = 0; c < 256; ++c) {
      const float x = deq[r * 256 + c];
      ASSERT_LE(std::fabs(x - W[r * 256 + c]), amax / 254.0f * 1.0001f) << r << "," << c;
      ASSERT_NEAR(q.dequant(r, c), x, std::fabs(x) * 1e-6f + 1e-12f);
    }
  }
}

TEST(BnbErrors, BadInput) {
  const std::string w = "m.weight";
  auto base = [&](const std::string& json) {
    MemoryTensorSource src;
    src.add("", make_tensor(w, DType::U8, {8, 1}, std::vector<uint8_t>(8, 0x12).data()));
    src.add("", make_float_tensor(w + ".absmax", DType::F32, {1}, {1.0f}));
    src.add("", make_float_tensor(w + ".quant_map", DType::F32, {16}, std::vector<float>(16, 0.5f)));
    src.add("", make_tensor(w + ".quant_state.bitsandbytes__nf4", DType::U8, {static_cast<int64_t>(json.size())}, json.data()));
    return src;
  };
  EXPECT_NO_THROW(bnb4_unpack(base(R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [4, 4]})"), "m"));
  for (const char* bad : {R"({"quant_type": "fp4", "blocksize": 64, "dtype": "float16", "shape": [4, 4]})",
                          R"({"quant_type": "nf4", "blocksize": 0, "dtype": "float16", "shape": [4, 4]})",
                          R"({"quant_type": "nf4", "blocksize": 64, "dtype": "int8", "shape": [4, 4]})",
                          R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [4, 8]})",
                          R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [-4, 4]})",
                          R"({"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [4, 4], "nested_blocksize": 256})",
                          R"(not json)"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(bnb4_unpack(base(bad), "m"), Error);
  }
  MemoryTensorSource none;
  EXPECT_THROW(bnb4_unpack(none, "m"), Error);
  MemoryTensorSource i8;
  i8.add("m", make_tensor("weight", DType::I8, {2, 2}, std::vector<int8_t>(4).data()));
  i8.add("m", make_float_tensor("SCB", DType::F32, {2}, {1.0f, 1.0f}));
  const uint8_t col32 = 1;
  i8.add("m", make_tensor("weight_format", DType::U8, {}, &col32));
  EXPECT_THROW(bnb_int8_unpack(i8, "m"), Error);
}

}  // namespace
}  // namespace lowbit
