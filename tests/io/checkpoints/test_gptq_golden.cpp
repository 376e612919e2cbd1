// GPTQ against the peers' own packers (../shared/golden/hf/gptq, README.md §1 there): for
// each of the 24 cases b{2,3,4,8}_{sym,asym}_{descF,descT,edge} (N=64, K=256, group 32),
//  - gptq_pack of the given codes/scales/zeros/g_idx reproduces AutoGPTQ's qweight, qzeros,
//    scales and g_idx byte for byte (v1, AutoGPTQ zero layout), GPTQModel's exported v1
//    qzeros (GPTQModel layout) and its internal v2 qzeros (gptq_v2);
//  - the default field-wise v1 layout equals both peers wherever no zero point is 0;
//  - gptq_unpack of the peers' tensors gives back the codes, fp16 scales and g_idx exactly,
//    v2 zeros exactly, and v1 zeros exactly except the fields the peers corrupted (as many as
//    the peers' own spec decoder counted, spec_check.json), with a warning.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/convert.h"
#include "io/checkpoints/gptq.h"
#include "ckpt_test_util.h"
#include "gptq_spec.h"

namespace lowbit {
namespace {

using ckpt_test::find;
using ckpt_test::same_tensor;

struct Case {
  std::string name;
  int bits;
  bool sym;
  std::string kind;  // descF, descT, edge
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (int bits : {2, 3, 4, 8})
    for (bool sym : {true, false})
      for (const char* kind : {"descF", "descT", "edge"})
      {
        std::string name = "b";  // built by append: GCC 12 misreports operator+ chains (-Wrestrict)
        name += std::to_string(bits);
        name += sym ? "_sym_" : "_asym_";
        name += kind;
        cases.push_back({name, bits, sym, kind});
      }
  return cases;
}

class GptqGolden : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    dir_ = ckpt_test::golden_dir("gptq");
    SKIP_WITHOUT_GOLDEN(dir_);
    c_ = GetParam();
    const std::string d = dir_ + "/" + c_.name + "/";
    for (const char* f : {"in_codes", "in_scales", "in_zeros", "autogptq_qweight", "autogptq_qzeros",
                          "autogptq_scales", "autogptq_g_idx", "gptqmodel_v1_qzeros", "gptqmodel_v2_qzeros"})
      npy_[f] = read_npy(d + f + ".npy");
    q_.n_out = 64;
    q_.n_in = 256;
    q_.bits = c_.bits;
    q_.group_size = 32;
    q_.sym = c_.sym;
    q_.codes = ckpt_test::u8_of(npy_["in_codes"]);
    q_.scales = npy_["in_scales"].to_f32();
    q_.zeros = npy_["in_zeros"].to_f32();
    if (c_.kind == "descT") {
      for (int64_t g : npy_["autogptq_g_idx"].to_i64()) q_.g_idx.push_back(static_cast<int32_t>(g));
    }
  }

  GptqConfig config(GptqCheckpointFormat format) const {
    GptqConfig c;
    c.bits = c_.bits;
    c.group_size = 32;
    c.sym = c_.sym;
    c.desc_act = c_.kind == "descT";
    c.format = format;
    return c;
  }

  // The golden tensors of one writer under module "m".
  MemoryTensorSource source(const std::string& qzeros_file) {
    MemoryTensorSource src;
    src.add("m", ckpt_test::npy_tensor("qweight", npy_["autogptq_qweight"]));
    src.add("m", ckpt_test::npy_tensor("qzeros", npy_[qzeros_file]));
    src.add("m", ckpt_test::npy_tensor("scales", npy_["autogptq_scales"]));
    src.add("m", ckpt_test::npy_tensor("g_idx", npy_["autogptq_g_idx"]));
    return src;
  }

  bool has_zero_point_0() const {
    for (float z : q_.zeros)
      if (z == 0.0f) return true;
    return false;
  }

  int64_t n_zero_mismatches(const QuantizedLinear& got) const {
    int64_t n = 0;
    for (size_t i = 0; i < q_.zeros.size(); ++i) n += got.zeros[i] != q_.zeros[i];
    return n;
  }

  std::string dir_;
  Case c_;
  std::map<std::string, NpyArray> npy_;
  QuantizedLinear q_;
};

TEST_P(GptqGolden, PackAutoGptqV1IsByteExact) {
  GptqPackOptions o;
  o.v1_zeros = GptqV1Zeros::AutoGptq;
  std::vector<std::string> warnings;
  const auto ts = gptq_pack(q_, o, &warnings);
  EXPECT_TRUE(same_tensor(find(ts, "qweight"), npy_["autogptq_qweight"]));
  EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["autogptq_qzeros"]));
  EXPECT_TRUE(same_tensor(find(ts, "scales"), npy_["autogptq_scales"]));
  EXPECT_TRUE(same_tensor(find(ts, "g_idx"), npy_["autogptq_g_idx"]));
  EXPECT_EQ(warnings.size(), has_zero_point_0() ? 1u : 0u);
}

TEST_P(GptqGolden, PackGptqModelV1AndV2AreByteExact) {
  GptqPackOptions o;
  o.v1_zeros = GptqV1Zeros::GptqModel;
  std::vector<std::string> warnings;
  auto ts = gptq_pack(q_, o, &warnings);
  EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["gptqmodel_v1_qzeros"]));
  EXPECT_TRUE(same_tensor(find(ts, "qweight"), npy_["autogptq_qweight"]));
  o.format = GptqCheckpointFormat::V2;
  warnings.clear();
  ts = gptq_pack(q_, o, &warnings);
  EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["gptqmodel_v2_qzeros"]));
  EXPECT_TRUE(warnings.empty());  // v2 represents z = 0
}

TEST_P(GptqGolden, FieldWiseV1MatchesPeersUnlessAZeroIs0) {
  std::vector<std::string> warnings;
  const auto ts = gptq_pack(q_, {}, &warnings);
  if (!has_zero_point_0()) {
    EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["autogptq_qzeros"]));
    EXPECT_TRUE(same_tensor(find(ts, "qzeros"), npy_["gptqmodel_v1_qzeros"]));
  }
  // Whatever the zeros, the spec decode ((field+1) & mask) gives them all back.
  const auto z = gptq_spec::decode_qzeros(ckpt_test::i32_of(*find(ts, "qzeros")), 8, 64, c_.bits, true);
  for (size_t i = 0; i < z.size(); ++i) ASSERT_EQ(z[i], q_.zeros[i]) << i;
}

TEST_P(GptqGolden, UnpackAutoGptqV1) {
  std::vector<std::string> warnings;
  const QuantizedLinear got = gptq_unpack(source("autogptq_qzeros"), "m", config(GptqCheckpointFormat::V1), &warnings);
  ASSERT_EQ(got.n_out, 64);
  ASSERT_EQ(got.n_in, 256);
  EXPECT_EQ(got.codes, q_.codes);
  EXPECT_EQ(got.g_idx, q_.g_idx);  // descF/edge: trivial g_idx comes back empty
  const auto want_scales = npy_["autogptq_scales"].to_f32();  // [G, N] fp16
  for (int64_t n = 0; n < 64; ++n)
    for (int64_t g = 0; g < 8; ++g) ASSERT_EQ(got.scales[n * 8 + g], want_scales[g * 64 + n]);
  // spec_check.json n_bad_zero_fields_autogptq: the fields AutoGPTQ's uint32 overflow corrupted.
  const std::map<int, int64_t> bad = {{2, 27}, {3, 16}, {4, 11}, {8, 3}};
  const bool corrupted = c_.kind == "edge" && !c_.sym;
  EXPECT_EQ(n_zero_mismatches(got), corrupted ? bad.at(c_.bits) : 0);
  EXPECT_EQ(warnings.size(), has_zero_point_0() ? 1u : 0u);
}

TEST_P(GptqGolden, UnpackGptqModelV1AndV2) {
  std::vector<std::string> warnings;
  QuantizedLinear got = gptq_unpack(source("gptqmodel_v1_qzeros"), "m", config(GptqCheckpointFormat::V1), &warnings);
  const std::map<int, int64_t> bad = {{2, 5}, {3, 0}, {4, 2}, {8, 1}};  // n_bad_zero_fields_gptqmodel
  EXPECT_EQ(n_zero_mismatches(got), c_.kind == "edge" && !c_.sym ? bad.at(c_.bits) : 0);
  warnings.clear();
  got = gptq_unpack(source("gptqmodel_v2_qzeros"), "m", config(GptqCheckpointFormat::V2), &warnings);
  EXPECT_EQ(n_zero_mismatches(got), 0);
  EXPECT_EQ(got.codes, q_.codes);
  EXPECT_TRUE(warnings.empty());
}

TEST_P(GptqGolden, SpecDecoderReadsThePeersTensors) {
  // Cross-check of the test's own spec decoder (gptq_spec.h) on the peers' bytes.
  std::vector<int32_t> words;
  for (int64_t x : npy_["autogptq_qweight"].to_i64()) words.push_back(static_cast<int32_t>(x));
  const auto codes = gptq_spec::decode_qweight(words, 256, 64, c_.bits);
  EXPECT_EQ(codes, q_.codes);
}

INSTANTIATE_TEST_SUITE_P(Peers, GptqGolden, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
}  // namespace lowbit
