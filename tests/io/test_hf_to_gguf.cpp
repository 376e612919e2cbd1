// HF folder -> GGUF in memory (io/gguf_source.h): tensors equal llama.cpp's stories260K.gguf,
// metadata has llama.cpp's key types, the converted arch fixtures give their reference
// logits through lowbit's GGUF loader, and a tied HF model quantizes like llama-quantize
// except for the tied token_embd.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_quantize.h"
#include "io/gguf_source.h"
#include "io/safetensors.h"
#include "model/gguf_loader.h"
#include "model/synth.h"
#include "model/transformer.h"
#include "test_util.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

GgufQuantizeOptions opts_for(const std::string& mix) {
  GgufQuantizeOptions o;
  o.mix = mix;
  o.progress = false;
  return o;
}

bool same_bytes(const GgufTensor& a, const GgufTensor& b) {
  return a.ggml_type == b.ggml_type && a.ne == b.ne && a.n_bytes == b.n_bytes &&
         std::memcmp(a.data, b.data, a.n_bytes) == 0;
}

TEST(HfToGguf, Stories260KEqualsLlamaCppGguf) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  const std::string out = dir.file("s.gguf");
  quantize_gguf(test::source_dir() + "/models/stories260K", out, opts_for("F32"));
  auto ours = GgufFile::open(out);
  auto ref = GgufFile::open(test::shared_dir() + "/models/stories260K/stories260K.gguf");
  // Every tensor of ours is in llama.cpp's file, byte for byte (Q/K rows permuted back).
  for (const GgufTensor& t : ours->tensors()) {
    const GgufTensor* r = ref->find(t.name);
    ASSERT_NE(r, nullptr) << t.name;
    EXPECT_TRUE(same_bytes(t, *r)) << t.name;
  }
  // llama.cpp's file came from the llama2c converter, which also writes output.weight (a
  // copy of token_embd: the model is tied); the HF model is tied, so ours has none.
  EXPECT_EQ(ours->tensors().size() + 1, ref->tensors().size());
  EXPECT_EQ(ours->find("output.weight"), nullptr);
  ASSERT_NE(ref->find("output.weight"), nullptr);
  const GgufTensor& o = ref->tensor("output.weight");
  const GgufTensor& e = ref->tensor("token_embd.weight");
  EXPECT_EQ(std::memcmp(o.data, e.data, o.n_bytes), 0);

  // Metadata with the types llama.cpp's loader insists on (specs/gguf.md §2).
  EXPECT_EQ(ours->get_string("general.architecture"), "llama");
  EXPECT_EQ(ours->get_u32("llama.block_count"), 5u);
  EXPECT_EQ(ours->get_u32("llama.embedding_length"), 64u);
  EXPECT_EQ(ours->get_u32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(ours->get_u32("llama.attention.head_count"), 8u);
  EXPECT_EQ(ours->get_u32("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(ours->get_u32("llama.rope.dimension_count"), 8u);
  EXPECT_EQ(ours->get_u32("llama.context_length"), 512u);  // llama2c's converter wrote 2048
  EXPECT_EQ(ours->get_f32("llama.attention.layer_norm_rms_epsilon"),
            ref->get_f32("llama.attention.layer_norm_rms_epsilon"));
  EXPECT_EQ(ours->get_f32("llama.rope.freq_base"), 10000.0f);
  EXPECT_EQ(ours->get_u32("general.file_type"), 0u);
  // The vocabulary equals the one llama.cpp took from tok512.bin.
  for (const char* k : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                        "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                        "tokenizer.ggml.unknown_token_id"})
    EXPECT_EQ(ours->value(k), ref->value(k)) << k;
  EXPECT_EQ(ours->get_string("tokenizer.ggml.pre"), "default");
  EXPECT_TRUE(ours->get_bool("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(ours->get_bool("tokenizer.ggml.add_eos_token"));
  EXPECT_TRUE(ours->get_bool("tokenizer.ggml.add_space_prefix"));
  EXPECT_FALSE(ours->has("tokenizer.ggml.padding_token_id"));  // tok512 has no pad piece
}

std::vector<float> logits_of(const std::string& path, const std::vector<int32_t>& toks) {
  auto w = std::shared_ptr<const ModelWeights>(load_model_weights(path));
  Transformer m(w, 64);
  std::vector<float> out(toks.size() * static_cast<size_t>(w->config.vocab_size));
  m.forward(toks.data(), nullptr, static_cast<int>(toks.size()), out.data(), true);
  return out;
}

TEST(HfToGguf, ArchFixturesGiveReferenceLogits) {
  // llama3 rope scaling (rope_freqs.weight), GQA, untied; mistral with an explicit head_dim.
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  for (const char* name : {"llama3-rope-scaling", "mistral"}) {
    SCOPED_TRACE(name);
    const std::string hf = test::shared_dir() + "/models/arch-fixtures/" + name;
    const std::string out = dir.file(std::string(name) + ".gguf");
    quantize_gguf(hf, out, opts_for("F32"));
    auto ref = SafetensorsFile::open(hf + "/reference_logits.safetensors");
    const SafetensorsTensor* tt = ref->find("tokens");
    const SafetensorsTensor* lt = ref->find("logits");
    ASSERT_TRUE(tt && lt);
    std::vector<int32_t> toks(tt->n_bytes / 4);
    std::memcpy(toks.data(), tt->data, tt->n_bytes);
    const std::vector<float> got = logits_of(out, toks);
    ASSERT_EQ(got.size() * 4, lt->n_bytes);
    const float* want = reinterpret_cast<const float*>(lt->data);
    float max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, std::fabs(got[i] - want[i]));
    EXPECT_LE(max_diff, 1e-4f);
    auto f = GgufFile::open(out);
    EXPECT_EQ(f->find("rope_freqs.weight") != nullptr, std::string(name) == "llama3-rope-scaling");
    EXPECT_NE(f->find("output.weight"), nullptr);  // both untied
  }
}

TEST(HfToGguf, TiedTinystoriesQuantizesLikeLlamaQuantize) {
  // The HF folder holds the same weights as the F32 GGUF; only the tied token_embd differs:
  // without output.weight, llama-quantize gives token_embd the output's type (Q6_K).
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  quantize_gguf(test::shared_dir() + "/models/tinystories-llama-5M-hf", dir.file("t.gguf"), opts_for("Q4_K_M"));
  auto ours = GgufFile::open(dir.file("t.gguf"));
  auto golden = GgufFile::open(test::shared_dir() + "/golden/gguf/tinystories-llama-5M-Q4_K_M.gguf");
  int n_same = 0;
  for (const GgufTensor& t : ours->tensors()) {
    if (t.name == "token_embd.weight") {
      EXPECT_EQ(t.ggml_type, static_cast<uint32_t>(FormatId::Q6_K));
      continue;
    }
    EXPECT_TRUE(same_bytes(t, golden->tensor(t.name))) << t.name;
    ++n_same;
  }
  EXPECT_EQ(n_same + 2, static_cast<int>(golden->tensors().size()));  // minus token_embd, output
}

TEST(HfToGguf, Bf16WeightsKeepNormsF32) {
  test::TempDir dir;
  SynthOptions s;
  s.like = "tiny";
  s.dtype = DType::BF16;
  s.progress = false;
  synth_model(s, dir.file("m"));
  auto src = hf_model_source(dir.file("m"));
  for (const SourceTensor& t : src->tensors) {
    const bool norm_or_1d = t.ne.size() == 1 || t.name.find("_norm.") != std::string::npos;
    EXPECT_EQ(t.ggml_type, norm_or_1d ? 0u : 30u) << t.name;
  }
  quantize_gguf(dir.file("m"), dir.file("q.gguf"), opts_for("Q8_0"));
  auto w = load_model_weights(dir.file("q.gguf"));
  EXPECT_EQ(w->config.n_layers, 2);
}

TEST(HfToGguf, RefusesWhatItCannotConvert) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  try {
    hf_model_source(test::shared_dir() + "/models/arch-fixtures/qwen2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Qwen2ForCausalLM"), std::string::npos) << e.what();
  }
  const fs::path d = dir.file("notok");
  fs::create_directory(d);
  fs::copy_file(test::source_dir() + "/models/stories260K/config.json", d / "config.json");
  fs::copy_file(test::source_dir() + "/models/stories260K/model.safetensors", d / "model.safetensors");
  try {
    hf_model_source(d.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model"), std::string::npos) << e.what();
  }
  EXPECT_THROW(open_model_source(dir.file("absent")), Error);
  test::write_bytes(dir.file("x.bin"), "not a model");
  EXPECT_THROW(open_model_source(dir.file("x.bin")), Error);
}

}  // namespace
}  // namespace lowbit
