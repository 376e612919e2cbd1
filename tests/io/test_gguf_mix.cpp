// llama-quantize's per-tensor rules on synthetic models (no files): more-bits layers, tied
// embeddings, GQA / 70B / MoE cases, what is never quantized, fallbacks, overrides, order.
// (The golden files check the same rules on real models in test_gguf_quantize.cpp.)
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf_mix.h"

namespace lowbit {
namespace {

// A llama model with n_layer layers, hidden h, FFN f (ne[0] of ffn_down).
std::vector<MixTensor> llama_tensors(int n_layer, int64_t h, int64_t f, bool tied = false) {
  std::vector<MixTensor> t{{"token_embd.weight", {h, 1000}, FormatId::F32},
                           {"output_norm.weight", {h}, FormatId::F32}};
  if (!tied) t.push_back({"output.weight", {h, 1000}, FormatId::F32});
  for (int l = 0; l < n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output"}) t.push_back({p + n + ".weight", {h, h}, FormatId::F32});
    t.push_back({p + "attn_norm.weight", {h}, FormatId::F32});
    t.push_back({p + "ffn_norm.weight", {h}, FormatId::F32});
    t.push_back({p + "ffn_gate.weight", {h, f}, FormatId::F32});
    t.push_back({p + "ffn_up.weight", {h, f}, FormatId::F32});
    t.push_back({p + "ffn_down.weight", {f, h}, FormatId::F32});
  }
  return t;
}

MixModel llama(int n_layer, int n_head = 32, int n_head_kv = 32, int n_expert = 0) {
  return MixModel{"llama", n_layer, n_head, n_head_kv, n_expert};
}

std::map<std::string, FormatId> types(const char* mix, const MixModel& m, std::vector<MixTensor> t,
                                      MixOptions o = {}) {
  const GgufMix* x = find_gguf_mix(mix);
  EXPECT_NE(x, nullptr) << mix;
  std::map<std::string, FormatId> out;
  for (const TensorPlan& p : plan_gguf_mix(*x, m, std::move(t), o)) out[p.name] = p.type;
  return out;
}

TEST(GgufMix, NamesAliasesAndFileTypes) {
  EXPECT_EQ(find_gguf_mix("q4_k_m")->file_type, LlamaFileType::Q4_K_M);
  EXPECT_EQ(find_gguf_mix("Q4_K")->name, "Q4_K_M");
  EXPECT_EQ(find_gguf_mix("mxfp4")->file_type, LlamaFileType::MXFP4_MOE);
  EXPECT_EQ(static_cast<uint32_t>(find_gguf_mix("MXFP4_MOE")->file_type), 38u);
  EXPECT_EQ(find_gguf_mix("IQ2_S")->default_type, FormatId::IQ2_XS);  // llama.cpp's default, sic
  EXPECT_EQ(find_gguf_mix("IQ2_M")->default_type, FormatId::IQ2_S);
  EXPECT_EQ(find_gguf_mix("Q5_9"), nullptr);
  for (const char* m : {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "Q5_0", "Q5_1",
                        "Q5_K_S", "Q5_K_M", "Q6_K", "Q8_0", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS",
                        "IQ3_S", "IQ3_M", "IQ4_NL", "IQ4_XS", "IQ1_S", "IQ1_M", "TQ1_0", "TQ2_0", "MXFP4_MOE", "F16",
                        "BF16", "F32"})
    EXPECT_NE(find_gguf_mix(m), nullptr) << m;
  EXPECT_FALSE(find_gguf_mix("F16")->is_quantized());
}

TEST(GgufMix, LlamaCppTensorOrder) {
  std::vector<MixTensor> t{{"blk.10.attn_q.weight", {32, 32}, FormatId::F32},
                           {"blk.2.ffn_up.weight", {32, 32}, FormatId::F32},
                           {"token_embd.weight", {32, 32}, FormatId::F32},
                           {"blk.2.attn_q.weight", {32, 32}, FormatId::F32},
                           {"output.weight", {32, 32}, FormatId::F32}};
  std::vector<std::string> names;
  for (const TensorPlan& p : plan_gguf_mix(*find_gguf_mix("F16"), llama(11), t, {})) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"output.weight", "token_embd.weight", "blk.2.attn_q.weight",
                                             "blk.2.ffn_up.weight", "blk.10.attn_q.weight"}));
}

TEST(GgufMix, Q4KMMoreBitsLayers) {
  // use_more_bits(i, 8): i < 1 || i >= 7 || (i - 1) % 3 == 2  ->  layers 0, 3, 6, 7
  auto ty = types("Q4_K_M", llama(8), llama_tensors(8, 256, 512));
  for (int l = 0; l < 8; ++l) {
    const bool more = l == 0 || l == 3 || l == 6 || l == 7;
    const std::string p = "blk." + std::to_string(l) + ".";
    EXPECT_EQ(ty[p + "attn_v.weight"], more ? FormatId::Q6_K : FormatId::Q4_K) << l;
    EXPECT_EQ(ty[p + "ffn_down.weight"], more ? FormatId::Q6_K : FormatId::Q4_K) << l;
    EXPECT_EQ(ty[p + "attn_q.weight"], FormatId::Q4_K);
    EXPECT_EQ(ty[p + "attn_norm.weight"], FormatId::F32);
  }
  EXPECT_EQ(ty["output.weight"], FormatId::Q6_K);
  EXPECT_EQ(ty["token_embd.weight"], FormatId::Q4_K);
  EXPECT_EQ(ty["output_norm.weight"], FormatId::F32);
}

TEST(GgufMix, TiedEmbeddingsAreTreatedAsTheOutput) {
  auto ty = types("Q4_K_M", llama(2), llama_tensors(2, 256, 512, /*tied=*/true));
  EXPECT_EQ(ty["token_embd.weight"], FormatId::Q6_K);
  ty = types("IQ2_XXS", llama(2), llama_tensors(2, 256, 512, true), MixOptions{true, {}});
  EXPECT_EQ(ty["token_embd.weight"], FormatId::Q5_K);
  ty = types("IQ2_XXS", llama(2), llama_tensors(2, 256, 512, false), MixOptions{true, {}});
  EXPECT_EQ(ty["token_embd.weight"], FormatId::Q2_K);
  EXPECT_EQ(ty["output.weight"], FormatId::Q5_K);
}

TEST(GgufMix, GqaSeventyBAndExperts) {
  auto ty = types("Q2_K", llama(4, 32, 8), llama_tensors(4, 256, 512));  // n_gqa 4
  EXPECT_EQ(ty["blk.0.attn_v.weight"], FormatId::Q4_K);
  ty = types("Q2_K", llama(4, 32, 16), llama_tensors(4, 256, 512));  // n_gqa 2
  EXPECT_EQ(ty["blk.0.attn_v.weight"], FormatId::Q3_K);
  EXPECT_EQ(ty["blk.0.attn_output.weight"], FormatId::Q3_K);
  EXPECT_EQ(ty["blk.0.ffn_down.weight"], FormatId::Q3_K);
  // 70B (llama, 80 layers, GQA): attn_v Q3_K/Q4_K become Q5_K.
  ty = types("Q4_K_S", llama(80, 64, 8), llama_tensors(80, 256, 512));
  EXPECT_EQ(ty["blk.0.attn_v.weight"], FormatId::Q5_K);
  EXPECT_EQ(ty["blk.40.attn_v.weight"], FormatId::Q5_K);
  ty = types("Q4_K_S", llama(80, 64, 64), llama_tensors(80, 256, 512));  // 65B: no
  EXPECT_EQ(ty["blk.40.attn_v.weight"], FormatId::Q4_K);
  EXPECT_EQ(ty["blk.3.attn_v.weight"], FormatId::Q5_K);  // Q4_K_S: first 4 attn_v
  EXPECT_EQ(ty["blk.9.ffn_down.weight"], FormatId::Q5_K);  // Q4_K_S: i < n/8
  EXPECT_EQ(ty["blk.10.ffn_down.weight"], FormatId::Q4_K);
  // 8 experts: attn_v and attn_k Q8_0; MXFP4_MOE: stacked experts MXFP4, the rest Q8_0.
  std::vector<MixTensor> moe = llama_tensors(2, 256, 512);
  moe.push_back({"blk.0.ffn_up_exps.weight", {256, 512, 8}, FormatId::F32});
  moe.push_back({"blk.0.ffn_gate_inp.weight", {256, 8}, FormatId::F32});
  ty = types("Q4_K_M", llama(2, 32, 8, 8), moe);
  EXPECT_EQ(ty["blk.1.attn_v.weight"], FormatId::Q8_0);
  EXPECT_EQ(ty["blk.1.attn_k.weight"], FormatId::Q8_0);
  EXPECT_EQ(ty["blk.0.ffn_gate_inp.weight"], FormatId::F32);  // routers are never quantized
  ty = types("MXFP4_MOE", llama(2, 32, 8, 8), moe);
  EXPECT_EQ(ty["blk.0.ffn_up_exps.weight"], FormatId::MXFP4);
  EXPECT_EQ(ty["blk.0.attn_q.weight"], FormatId::Q8_0);
  EXPECT_EQ(ty["token_embd.weight"], FormatId::Q8_0);
  EXPECT_EQ(ty["output.weight"], FormatId::Q8_0);
}

TEST(GgufMix, IqMixes) {
  const MixOptions imat{true, {}};
  auto ty = types("IQ3_XS", llama(8), llama_tensors(8, 256, 512), imat);
  EXPECT_EQ(ty["blk.0.attn_q.weight"], FormatId::IQ3_XXS);
  EXPECT_EQ(ty["blk.0.ffn_up.weight"], FormatId::IQ3_S);   // i < n/8
  EXPECT_EQ(ty["blk.1.ffn_up.weight"], FormatId::IQ3_XXS);
  EXPECT_EQ(ty["blk.7.ffn_gate.weight"], FormatId::IQ3_S);  // i >= 7n/8
  ty = types("IQ3_XXS", llama(8), llama_tensors(8, 256, 512));  // without imatrix
  EXPECT_EQ(ty["blk.0.attn_v.weight"], FormatId::IQ3_S);
  EXPECT_EQ(ty["blk.0.ffn_down.weight"], FormatId::Q4_K);
  EXPECT_EQ(ty["blk.1.ffn_down.weight"], FormatId::Q3_K);
  ty = types("IQ1_M", llama(16), llama_tensors(16, 256, 512), imat);
  EXPECT_EQ(ty["blk.0.ffn_down.weight"], FormatId::Q2_K);  // i_ffn_down < n/8
  EXPECT_EQ(ty["blk.2.ffn_down.weight"], FormatId::IQ1_M);
  EXPECT_EQ(ty["blk.2.attn_output.weight"], FormatId::IQ2_XXS);
  ty = types("IQ4_NL", llama(16), llama_tensors(16, 256, 512));
  EXPECT_EQ(ty["blk.1.ffn_down.weight"], FormatId::Q5_K);  // IQ4 without imatrix: first n/8 ffn_down
  EXPECT_EQ(ty["blk.2.ffn_down.weight"], FormatId::IQ4_NL);
  ty = types("Q4_0", llama(16), llama_tensors(16, 256, 512), imat);
  EXPECT_EQ(ty["blk.1.ffn_down.weight"], FormatId::Q4_1);  // with imatrix only
}

TEST(GgufMix, FallbacksForRowLengths) {
  std::map<std::string, TensorPlan> p;
  auto plan = [&](const char* mix, int64_t h, int64_t f) {
    p.clear();
    for (TensorPlan& x : plan_gguf_mix(*find_gguf_mix(mix), llama(2), llama_tensors(2, h, f), {}))
      p[x.name] = std::move(x);
  };
  plan("Q2_K", 64, 172);
  EXPECT_EQ(p["blk.0.attn_q.weight"].type, FormatId::IQ4_NL);   // Q2_K -> IQ4_NL
  EXPECT_EQ(p["blk.0.ffn_down.weight"].type, FormatId::F16);     // Q3_K -> IQ4_NL -> F16
  EXPECT_FALSE(p["blk.0.ffn_down.weight"].lowbit_fallback);       // llama.cpp does the same
  EXPECT_EQ(p["output.weight"].type, FormatId::Q8_0);             // ne[0] % 256 != 0: Q8_0
  plan("Q5_K_S", 64, 172);
  EXPECT_EQ(p["blk.0.attn_q.weight"].type, FormatId::Q5_1);
  EXPECT_NE(p["blk.0.attn_q.weight"].fallback.find("Q5_K -> Q5_1"), std::string::npos) << p["blk.0.attn_q.weight"].fallback;
  plan("TQ2_0", 64, 172);
  EXPECT_EQ(p["blk.0.attn_q.weight"].type, FormatId::Q4_0);
  EXPECT_EQ(p["token_embd.weight"].type, FormatId::Q5_0);  // TQ -> Q4_K (embeddings) -> Q5_0
  plan("Q8_0", 64, 172);  // llama.cpp: "Unsupported tensor size"; lowbit: F16
  EXPECT_EQ(p["blk.1.ffn_down.weight"].type, FormatId::F16);
  EXPECT_TRUE(p["blk.1.ffn_down.weight"].lowbit_fallback);
  EXPECT_EQ(p["blk.1.ffn_up.weight"].type, FormatId::Q8_0);
  plan("BF16", 64, 172);  // not a quantized mix: no fallback needed
  EXPECT_EQ(p["blk.1.ffn_down.weight"].type, FormatId::BF16);
  EXPECT_TRUE(p["blk.1.ffn_down.weight"].fallback.empty());
}

TEST(GgufMix, ImatrixRequirement) {
  std::map<std::string, TensorPlan> p;
  for (TensorPlan& x : plan_gguf_mix(*find_gguf_mix("Q2_K_S"), llama(8), llama_tensors(8, 256, 512), {}))
    p[x.name] = std::move(x);
  EXPECT_TRUE(p["blk.1.attn_q.weight"].requires_imatrix);
  EXPECT_FALSE(p["token_embd.weight"].requires_imatrix);
  EXPECT_FALSE(p["blk.0.ffn_down.weight"].requires_imatrix);  // Q4_K
  p.clear();
  for (TensorPlan& x : plan_gguf_mix(*find_gguf_mix("Q2_K"), llama(8), llama_tensors(8, 256, 512), {}))
    p[x.name] = std::move(x);
  EXPECT_FALSE(p["blk.1.attn_q.weight"].requires_imatrix);
}

TEST(GgufMix, Overrides) {
  MixOptions o;
  o.overrides = {parse_type_override("attn_(q|k)=q8_0"), parse_type_override("blk\\.1\\.attn_q=F16"),
                 parse_type_override("ffn_down=q4_k")};
  std::map<std::string, TensorPlan> p;
  for (TensorPlan& x : plan_gguf_mix(*find_gguf_mix("Q4_K_M"), llama(2), llama_tensors(2, 256, 172), o))
    p[x.name] = std::move(x);
  EXPECT_EQ(p["blk.0.attn_q.weight"].type, FormatId::Q8_0);
  EXPECT_TRUE(p["blk.0.attn_q.weight"].overridden);
  EXPECT_EQ(p["blk.1.attn_q.weight"].type, FormatId::F16);  // the last match wins
  EXPECT_EQ(p["blk.0.attn_k.weight"].type, FormatId::Q8_0);
  EXPECT_EQ(p["blk.0.attn_v.weight"].type, FormatId::Q4_K);  // untouched: use_more_bits(0, 2) is false
  EXPECT_EQ(p["blk.1.attn_v.weight"].type, FormatId::Q6_K);  // and (1, 2) true
  EXPECT_EQ(p["blk.0.ffn_down.weight"].type, FormatId::F16);  // Q4_K on 172 -> Q5_0 -> F16
  EXPECT_EQ(p["blk.0.attn_norm.weight"].type, FormatId::F32); // never quantized
  // Overrides apply to the float mixes too.
  p.clear();
  o.overrides = {parse_type_override("ffn_up=Q8_0")};
  for (TensorPlan& x : plan_gguf_mix(*find_gguf_mix("F16"), llama(1), llama_tensors(1, 256, 256), o))
    p[x.name] = std::move(x);
  EXPECT_EQ(p["blk.0.ffn_up.weight"].type, FormatId::Q8_0);
  EXPECT_EQ(p["blk.0.ffn_gate.weight"].type, FormatId::F16);
  EXPECT_EQ(p["output.weight"].type, FormatId::F16);

  for (const char* bad : {"", "=q8_0", "attn_q=", "attn_q", "attn_q=Q9_0", "[=Q8_0"})
    EXPECT_THROW(parse_type_override(bad), Error) << bad;
}

TEST(GgufMix, ModelFromMetadata) {
  std::vector<GgufKv> md{{"general.architecture", GgufValue::string("llama")},
                         {"llama.block_count", GgufValue::scalar<uint32_t>(32)},
                         {"llama.attention.head_count", GgufValue::scalar<uint32_t>(32)},
                         {"llama.attention.head_count_kv", GgufValue::array(std::vector<int32_t>{8, 8})}};
  const MixModel m = mix_model_from_metadata(md, "x.gguf");
  EXPECT_EQ(m.n_layer, 32);
  EXPECT_EQ(m.n_gqa(), 4);
  EXPECT_EQ(m.n_expert, 0);
  md.pop_back();
  EXPECT_EQ(mix_model_from_metadata(md, "x.gguf").n_head_kv, 32);
  md[1].value = GgufValue::string("32");
  EXPECT_THROW(mix_model_from_metadata(md, "x.gguf"), Error);
  EXPECT_THROW(mix_model_from_metadata({}, "x.gguf"), Error);
}

}  // namespace
}  // namespace lowbit
