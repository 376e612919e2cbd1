// lowbit synth: preset shapes, determinism, sharding, and that the output loads and runs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../cli/cli_util.h"
#include "test_util.h"
#include "core/error.h"
#include "core/threads.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/gguf_loader.h"
#include "model/synth.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "model/weights.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

lowbit::SynthOptions tiny_opts() {
  lowbit::SynthOptions o;
  o.like = "tiny";
  o.progress = false;
  return o;
}

// Runs the model on a few tokens; returns the last position's logits.
std::vector<float> run_forward(const std::string& dir, std::vector<int32_t> tokens = {1, 5, 77, 300, 42}) {
  auto w = std::shared_ptr<const lowbit::ModelWeights>(lowbit::load_hf_weights(dir));
  lowbit::Transformer t(w, 64);
  std::vector<float> logits(w->config.vocab_size);
  t.forward(tokens.data(), nullptr, static_cast<int>(tokens.size()), logits.data(), false);
  return logits;
}

}  // namespace

TEST(Synth, PresetParamCountsMatchTheRealModels) {
  using lowbit::synth_param_count;
  using lowbit::synth_preset;
  EXPECT_EQ(synth_param_count(synth_preset("llama-3.2-1b")), 1235814400);  // HF: 1.24B
  EXPECT_EQ(synth_param_count(synth_preset("qwen2.5-0.5b")), 494032768);   // HF: 0.49B
  EXPECT_EQ(synth_param_count(synth_preset("llama-2-7b")), 6738415616);    // HF: 6.74B
  EXPECT_EQ(synth_param_count(synth_preset("Llama-3.2-1B")), 1235814400);  // case-insensitive
  EXPECT_THROW(synth_preset("gpt-5"), lowbit::Error);

  // The benchmark model: llama-3.2-1b shapes, vocab 32000, untied head.
  lowbit::SynthOptions o;
  o.like = "llama-3.2-1b";
  o.vocab = 32000;
  o.untied = true;
  const lowbit::ModelConfig c = lowbit::synth_config(o);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(synth_param_count(c), 1235814400 - 128256LL * 2048 + 2 * 32000LL * 2048);
}

TEST(Synth, PresetConfigValues) {
  lowbit::ModelConfig l = lowbit::synth_preset("llama-3.2-1b");
  EXPECT_EQ(l.hidden_size, 2048);
  EXPECT_EQ(l.n_layers, 16);
  EXPECT_EQ(l.n_heads, 32);
  EXPECT_EQ(l.n_kv_heads, 8);
  EXPECT_EQ(l.head_dim, 64);
  EXPECT_EQ(l.intermediate_size, 8192);
  EXPECT_EQ(l.vocab_size, 128256);
  EXPECT_EQ(l.rope_theta, 500000.0);
  EXPECT_EQ(l.rope_scaling.type, lowbit::RopeScaling::Type::Llama3);
  EXPECT_EQ(l.rope_scaling.factor, 32.0);
  EXPECT_EQ(l.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(l.max_position_embeddings, 131072);
  EXPECT_TRUE(l.tie_word_embeddings);
  lowbit::ModelConfig q = lowbit::synth_preset("qwen2.5-0.5b");
  EXPECT_EQ(q.arch, lowbit::Arch::Qwen2);
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_EQ(q.rms_norm_eps, 1e-6);
  EXPECT_EQ(q.rope_theta, 1e6);
  lowbit::ModelConfig m = lowbit::synth_preset("llama-2-7b");
  EXPECT_FALSE(m.tie_word_embeddings);
  EXPECT_EQ(m.head_dim, 128);
}

TEST(Synth, TinyModelLoadsAndRuns) {
  test::TempDir tmp("lowbit-synth");
  const std::string dir = tmp.file("tiny");
  lowbit::SynthResult res = lowbit::synth_model(tiny_opts(), dir);
  EXPECT_EQ(res.n_params, lowbit::synth_param_count(lowbit::synth_preset("tiny")));
  EXPECT_EQ(res.n_bytes, static_cast<size_t>(res.n_params) * 4);
  ASSERT_EQ(res.files, std::vector<std::string>{"model.safetensors"});
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
                        "special_tokens_map.json", "generation_config.json", "README.md"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / f)) << f;
  // No temp dir left behind.
  int n_entries = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path())) n_entries += (void(e), 1);
  EXPECT_EQ(n_entries, 1);

  lowbit::ModelConfig c = lowbit::load_hf_config(dir);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.torch_dtype, "float32");

  auto w = lowbit::load_hf_weights(dir);
  EXPECT_EQ(static_cast<int64_t>(w->n_params), res.n_params);
  // Norms are 1, matrices have the requested spread.
  auto st = lowbit::SafetensorsModel::open(dir);
  const auto& norm = st->get("model.layers.1.post_attention_layernorm.weight");
  ASSERT_EQ(norm.dtype, lowbit::DType::F32);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(reinterpret_cast<const float*>(norm.data)[i], 1.0f);
  const auto& embed = st->get("model.embed_tokens.weight");
  ASSERT_EQ(embed.n_bytes, size_t{512} * 64 * 4);
  const float* e = reinterpret_cast<const float*>(embed.data);
  double ss = 0;
  const size_t n = 512 * 64;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(e[i]) * e[i];
  EXPECT_NEAR(std::sqrt(ss / n), 0.02, 0.001);

  std::vector<float> logits = run_forward(dir);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));

  auto tok = lowbit::load_tokenizer(dir);
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
}

TEST(Synth, DeterministicInSeedAndThreads) {
  test::TempDir tmp("lowbit-synth");
  auto o = tiny_opts();
  o.seed = 7;
  const int prev = lowbit::num_threads();
  lowbit::set_num_threads(1);
  lowbit::synth_model(o, tmp.file("a"));
  lowbit::set_num_threads(2);
  lowbit::synth_model(o, tmp.file("b"));
  lowbit::set_num_threads(prev);
  o.seed = 8;
  lowbit::synth_model(o, tmp.file("c"));
  const std::string a = slurp(tmp.file("a/model.safetensors"));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, slurp(tmp.file("b/model.safetensors")));
  EXPECT_NE(a, slurp(tmp.file("c/model.safetensors")));

  // Layer 0 of a 1-layer model equals layer 0 of the 2-layer one.
  o.seed = 7;
  o.layers = 1;
  lowbit::synth_model(o, tmp.file("d"));
  auto full = lowbit::SafetensorsModel::open(tmp.file("a"));
  auto one = lowbit::SafetensorsModel::open(tmp.file("d"));
  const auto& t1 = full->get("model.layers.0.mlp.up_proj.weight");
  const auto& t2 = one->get("model.layers.0.mlp.up_proj.weight");
  ASSERT_EQ(t1.n_bytes, t2.n_bytes);
  EXPECT_EQ(std::memcmp(t1.data, t2.data, t1.n_bytes), 0);
}

TEST(Synth, FillNormalStatistics) {
  std::vector<float> v(1 << 20);
  lowbit::synth_fill_normal(v.data(), v.size(), 1.0f, 3, 99);
  double sum = 0, sq = 0;
  size_t beyond2 = 0;
  for (float x : v) {
    sum += x;
    sq += static_cast<double>(x) * x;
    beyond2 += std::fabs(x) > 2.0f;
  }
  const double mean = sum / v.size();
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(std::sqrt(sq / v.size() - mean * mean), 1.0, 0.005);
  EXPECT_NEAR(static_cast<double>(beyond2) / v.size(), 0.0455, 0.002);  // P(|z| > 2)
}

TEST(Synth, ShardedUntiedBf16) {
  test::TempDir tmp("lowbit-synth");
  auto o = tiny_opts();
  o.untied = true;
  const std::string one = tmp.file("one");
  lowbit::synth_model(o, one);
  o.max_shard_bytes = 64 * 1024;
  const std::string sharded = tmp.file("sharded");
  lowbit::SynthResult res = lowbit::synth_model(o, sharded);
  ASSERT_GT(res.files.size(), 2u);
  EXPECT_EQ(res.files.back(), "model.safetensors.index.json");
  EXPECT_FALSE(std::filesystem::exists(sharded + "/model.safetensors"));
  EXPECT_FALSE(lowbit::load_hf_config(sharded).tie_word_embeddings);
  auto st = lowbit::SafetensorsModel::open(sharded);
  EXPECT_NE(st->find("lm_head.weight"), nullptr);
  // The same values whatever the layout.
  EXPECT_EQ(run_forward(one), run_forward(sharded));

  o.max_shard_bytes = 5ull << 30;
  o.dtype = lowbit::DType::BF16;
  const std::string bf = tmp.file("bf16");
  res = lowbit::synth_model(o, bf);
  EXPECT_EQ(res.n_bytes, static_cast<size_t>(res.n_params) * 2);
  EXPECT_EQ(lowbit::load_hf_config(bf).torch_dtype, "bfloat16");
  auto f32 = run_forward(one), b16 = run_forward(bf);
  for (size_t i = 0; i < f32.size(); ++i) ASSERT_NEAR(f32[i], b16[i], 0.05);
}

TEST(Synth, QwenShapesWithBiasRun) {
  test::TempDir tmp("lowbit-synth");
  lowbit::SynthOptions o;
  o.like = "qwen2.5-0.5b";
  o.layers = 1;
  o.vocab = 512;
  o.dtype = lowbit::DType::F16;
  o.progress = false;
  const std::string dir = tmp.file("q");
  lowbit::synth_model(o, dir);
  lowbit::ModelConfig c = lowbit::load_hf_config(dir);
  EXPECT_EQ(c.arch, lowbit::Arch::Qwen2);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_EQ(c.hidden_size, 896);
  std::vector<float> logits = run_forward(dir);
  for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(Synth, OutputDirRules) {
  test::TempDir tmp("lowbit-synth");
  auto o = tiny_opts();
  const std::string dir = tmp.file("m");
  std::filesystem::create_directory(dir);  // an empty dir is fine
  lowbit::synth_model(o, dir);
  EXPECT_THROW(lowbit::synth_model(o, dir), lowbit::Error);  // not empty
  o.force = true;
  o.seed = 5;
  lowbit::synth_model(o, dir);
  EXPECT_NE(slurp(dir + "/README.md").find("--seed 5"), std::string::npos);
  int n_entries = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path())) n_entries += (void(e), 1);
  EXPECT_EQ(n_entries, 1);  // no .old or .tmp left

  o.vocab = 100;  // below the bundled tokenizer's 512 pieces
  EXPECT_THROW(lowbit::synth_model(o, tmp.file("v")), lowbit::Error);
  EXPECT_FALSE(std::filesystem::exists(tmp.file("v")));
}

TEST(SynthCli, TinyViaBinary) {
  test::TempDir tmp("lowbit-synth");
  const std::string dir = tmp.file("cli");
  const auto r = test::run_command(test::lowbit_bin() + " synth --like tiny --seed 3 --dtype f16 -o " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("106,816 params"), std::string::npos) << r.out;
  EXPECT_EQ(lowbit::load_hf_config(dir).torch_dtype, "float16");
}

// --gguf MIX: the benchmark-model path (issue: same GGUF file for lowbit and llama.cpp).
TEST(SynthCli, GgufMixWritesALoadableFileAndNoTempFolder) {
  test::TempDir tmp("lowbit-synth");
  const std::string file = tmp.file("tiny-q8.gguf");
  const auto r =
      test::run_command(test::lowbit_bin() + " synth --like tiny --vocab 1024 --untied --gguf Q8_0 -q -o " + file);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Q8_0"), std::string::npos) << r.out;
  const auto w = lowbit::load_model_weights(file);
  EXPECT_EQ(w->config.vocab_size, 1024);
  EXPECT_EQ(w->layers.at(0).q.format, lowbit::FormatId::Q8_0);
  int n_entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.file(""))) n_entries += e.path() != file;
  EXPECT_EQ(n_entries, 0) << "the temporary HF folder must be gone";
}
