// Every format through a real safetensors file: pack several modules of each kind, write them
// with SafetensorsWriter (add_to_writer), map the file, unpack through SafetensorsTensorSource,
// and compare with what was packed (HQQ's 0-d metadata tensors included).
#include <gtest/gtest.h>

#include "io/checkpoints/awq.h"
#include "io/checkpoints/compressed_tensors.h"
#include "io/checkpoints/gptq.h"
#include "io/checkpoints/hqq.h"
#include "io/safetensors.h"
#include "ckpt_test_util.h"

namespace lowbit {
namespace {

QuantizedLinear random_q(int bits, int64_t n_out, int64_t n_in, int gs, bool sym, uint64_t seed) {
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
    // fp16-exact scales so the round trip is exact
    q.scales.push_back(static_cast<float>(1 + rng.below(1000)) / 65536.0f);
    q.zeros.push_back(sym ? static_cast<float>(1 << (bits - 1)) : static_cast<float>(rng.below(1 << bits)));
  }
  return q;
}

void expect_same(const QuantizedLinear& a, const QuantizedLinear& b) {
  EXPECT_EQ(a.n_out, b.n_out);
  EXPECT_EQ(a.n_in, b.n_in);
  EXPECT_EQ(a.bits, b.bits);
  EXPECT_EQ(a.group_size, b.group_size);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeros, b.zeros);
  EXPECT_EQ(a.g_idx, b.g_idx);
}

TEST(CheckpointFiles, AllFormatsRoundTripThroughSafetensors) {
  const QuantizedLinear g4 = random_q(4, 64, 128, 32, false, 1), g3 = random_q(3, 32, 96, 32, true, 2);
  const QuantizedLinear a4 = random_q(4, 48, 128, 64, false, 3);
  const QuantizedLinear h4 = random_q(4, 16, 128, 64, false, 4);
  const QuantizedLinear c4 = random_q(4, 24, 200, 64, true, 5), c8 = random_q(8, 24, 200, 200, false, 6);
  GptqPackOptions v2;
  v2.format = GptqCheckpointFormat::V2;
  // Kept alive until write(): the writer copies at write time.
  const auto t_g4 = gptq_pack(g4, v2), t_g3 = gptq_pack(g3), t_a4 = awq_pack(a4), t_h4 = hqq_pack(h4);
  const auto t_c4 = ct_pack(c4, ct_weight_args_for(c4)), t_c8 = ct_pack(c8, ct_weight_args_for(c8));
  SafetensorsWriter w;
  add_to_writer(w, "gptq.l0", t_g4);
  add_to_writer(w, "gptq.l1", t_g3);
  add_to_writer(w, "awq.l0", t_a4);
  add_to_writer(w, "hqq.l0", t_h4);
  add_to_writer(w, "ct.l0", t_c4);
  add_to_writer(w, "ct.l1", t_c8);
  test::TempDir dir("ckpt-files");
  w.write_file(dir.file("model.safetensors"));
  auto model = SafetensorsModel::open(dir.file("model.safetensors"));
  SafetensorsTensorSource src(*model);

  GptqConfig cg;
  cg.group_size = 32;
  cg.format = GptqCheckpointFormat::V2;
  expect_same(gptq_unpack(src, "gptq.l0", cg), g4);
  cg.bits = 3;
  cg.format = GptqCheckpointFormat::V1;
  expect_same(gptq_unpack(src, "gptq.l1", cg), g3);
  AwqConfig ca;
  ca.group_size = 64;
  expect_same(awq_unpack(src, "awq.l0", ca), a4);
  expect_same(hqq_unpack(src, "hqq.l0"), h4);
  expect_same(ct_unpack(src, "ct.l0", ct_weight_args_for(c4)), c4);
  expect_same(ct_unpack(src, "ct.l1", ct_weight_args_for(c8)), c8);
  EXPECT_TRUE(model->find("hqq.l0.nbits")->shape.empty());  // 0-d, as HQQ writes it
}

}  // namespace
}  // namespace lowbit
