// lowbit inspect: the library report and the CLI on the bundled stories260K.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_util.h"
#include "core/error.h"
#include "io/inspect.h"
#include "io/safetensors.h"
#include "model/synth.h"

namespace {

struct RunResult {
  int rc = -1;
  std::string out, err;
};

// Runs the lowbit binary with args (shell-quoted by the caller), capturing stdout and stderr.
RunResult run_lowbit(const std::string& args, const std::string& tmp_dir) {
  const std::string err_path = tmp_dir + "/stderr.txt";
  const std::string cmd = std::string(LOWBIT_BINARY) + " " + args + " 2>" + err_path;
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream f(err_path);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  return r;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::string stories() { return test::source_dir() + "/models/stories260K"; }

}  // namespace

TEST(Inspect, LibraryReportOnStories260K) {
  lowbit::InspectReport r = lowbit::inspect_model(stories());
  EXPECT_EQ(r.tensors.size(), 47u);
  EXPECT_EQ(r.n_params, 260032);
  EXPECT_EQ(r.n_bytes, 260032u * 4);
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0], "model.safetensors");
  ASSERT_EQ(r.by_dtype.count("F32"), 1u);
  EXPECT_EQ(r.by_dtype.at("F32").n_tensors, 47);
  ASSERT_TRUE(r.config.has_value());
  EXPECT_EQ(r.config->hidden_size, 64);
  EXPECT_EQ(r.config->n_layers, 5);
  EXPECT_TRUE(r.config->tie_word_embeddings);
  // Natural order: embed, layers 0..4, norm.
  EXPECT_EQ(r.tensors.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(r.tensors.back().name, "model.norm.weight");

  const std::string text = lowbit::format_inspect(r, false);
  EXPECT_NE(text.find("47 tensors"), std::string::npos) << text;
  EXPECT_NE(text.find("260,032 params"), std::string::npos) << text;
  EXPECT_NE(text.find("model.layers.{1..4}: same as model.layers.0 (9 tensors each)"), std::string::npos) << text;
  EXPECT_EQ(text.find("model.layers.3.mlp.up_proj.weight"), std::string::npos) << text;
  const std::string all = lowbit::format_inspect(r, true);
  EXPECT_NE(all.find("model.layers.3.mlp.up_proj.weight"), std::string::npos);
  EXPECT_EQ(all.find("same as"), std::string::npos);
}

TEST(Inspect, NaturalOrderAndCommas) {
  EXPECT_TRUE(lowbit::natural_less("model.layers.2.x", "model.layers.10.x"));
  EXPECT_FALSE(lowbit::natural_less("model.layers.10.x", "model.layers.2.x"));
  EXPECT_TRUE(lowbit::natural_less("a", "ab"));
  EXPECT_FALSE(lowbit::natural_less("a1", "a1"));
  EXPECT_EQ(lowbit::with_commas(0), "0");
  EXPECT_EQ(lowbit::with_commas(999), "999");
  EXPECT_EQ(lowbit::with_commas(1000), "1,000");
  EXPECT_EQ(lowbit::with_commas(260032), "260,032");
  EXPECT_EQ(lowbit::with_commas(6738415616), "6,738,415,616");
}

TEST(Inspect, ShardedModelCollapsesLayers) {
  // A sharded tiny synth model with 3 layers: layers 1..2 collapse into one line.
  test::TempDir tmp("lowbit-inspect");
  lowbit::SynthOptions o;
  o.like = "tiny";
  o.layers = 3;
  o.max_shard_bytes = 100 * 1024;  // several shards + index
  o.progress = false;
  const std::string dir = tmp.file("m");
  lowbit::synth_model(o, dir);
  lowbit::InspectReport r = lowbit::inspect_model(dir);
  EXPECT_GT(r.files.size(), 1u);
  EXPECT_EQ(r.n_params, lowbit::synth_param_count(lowbit::synth_config(o)));
  const std::string text = lowbit::format_inspect(r, false);
  EXPECT_NE(text.find("shards"), std::string::npos) << text;
  EXPECT_NE(text.find("model.layers.{1..2}: same as model.layers.0"), std::string::npos) << text;
}

TEST(InspectCli, Stories260K) {
  test::TempDir tmp("lowbit-inspect");
  RunResult r = run_lowbit("inspect " + stories(), tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("47 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("260,032 params"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LlamaForCausalLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("format: pt"), std::string::npos) << r.out;

  r = run_lowbit("inspect --all " + stories(), tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("model.layers.4.self_attn.v_proj.weight"), std::string::npos);
}

TEST(InspectCli, Json) {
  test::TempDir tmp("lowbit-inspect");
  RunResult r = run_lowbit("inspect --json " + stories(), tmp.path());
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["totals"]["tensors"], 47);
  EXPECT_EQ(j["totals"]["params"], 260032);
  EXPECT_EQ(j["totals"]["by_dtype"]["F32"]["bytes"], 260032 * 4);
  EXPECT_EQ(j["tensors"].size(), 47u);
  EXPECT_EQ(j["config"]["hidden_size"], 64);
  EXPECT_EQ(j["config"]["num_key_value_heads"], 4);
  EXPECT_EQ(j["config"]["tie_word_embeddings"], true);
  EXPECT_EQ(j["metadata"]["format"], "pt");
  EXPECT_EQ(j["tensors"][0]["name"], "model.embed_tokens.weight");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json({512, 64}));
}

TEST(InspectCli, MissingPathIsOneLineError) {
  test::TempDir tmp("lowbit-inspect");
  RunResult r = run_lowbit("inspect " + tmp.file("does-not-exist"), tmp.path());
  EXPECT_NE(r.rc, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("lowbit: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("does-not-exist"), std::string::npos) << r.err;
}

TEST(InspectCli, CorruptSafetensorsIsOneLineError) {
  test::TempDir tmp("lowbit-inspect");
  test::write_bytes(tmp.file("bad.safetensors"), std::string("\x10\x00\x00\x00\x00\x00\x00\x00{not json}", 18));
  RunResult r = run_lowbit("inspect " + tmp.file("bad.safetensors"), tmp.path());
  EXPECT_NE(r.rc, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("bad.safetensors"), std::string::npos) << r.err;
  EXPECT_THROW(lowbit::inspect_model(tmp.file("bad.safetensors")), lowbit::Error);
}

TEST(InspectCli, TruncatedGgufIsOneLineError) {
  test::TempDir tmp("lowbit-inspect");
  test::write_bytes(tmp.file("m.gguf"), std::string("GGUF\x03\x00\x00\x00", 8));
  RunResult r = run_lowbit("inspect " + tmp.file("m.gguf"), tmp.path());
  EXPECT_NE(r.rc, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("m.gguf"), std::string::npos) << r.err;
  // The magic is enough, whatever the extension.
  test::write_bytes(tmp.file("m.bin"), std::string("GGUF\x03\x00\x00\x00", 8));
  EXPECT_THROW(lowbit::inspect_model(tmp.file("m.bin")), lowbit::Error);
}

TEST(InspectCli, GgufModel) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  lowbit::InspectReport r = lowbit::inspect_model(shared + "/golden/gguf/tinystories-llama-5M-Q4_K_M.gguf");
  EXPECT_TRUE(r.is_gguf);
  ASSERT_TRUE(r.config.has_value()) << r.config_error;
  EXPECT_EQ(r.config->n_layers, 6);
  EXPECT_EQ(r.metadata.at("general.architecture"), "\"llama\"");
  EXPECT_GT(r.by_dtype.count("q4_K"), 0u);
  EXPECT_GT(r.by_dtype.count("q6_K"), 0u);
  const std::string text = lowbit::format_inspect(r, false);
  EXPECT_NE(text.find("output.weight"), std::string::npos) << text;
}

TEST(Inspect, DifferingLayerIsPrintedInFull) {
  test::TempDir tmp("lowbit-inspect");
  std::vector<float> data(64, 0.0f);
  lowbit::SafetensorsWriter w;
  for (int l = 0; l < 5; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    w.add(p + "a", lowbit::DType::F32, {l == 2 ? 8 : 4, 2}, data.data());
    w.add(p + "b", lowbit::DType::F32, {4}, data.data());
  }
  w.add("out", lowbit::DType::F32, {3}, data.data());
  w.write_file(tmp.file("x.safetensors"));
  lowbit::InspectReport r = lowbit::inspect_model(tmp.file("x.safetensors"));
  EXPECT_FALSE(r.config.has_value());
  const std::string text = lowbit::format_inspect(r, false);
  EXPECT_NE(text.find("blk.1: same as blk.0 (2 tensors)"), std::string::npos) << text;
  EXPECT_NE(text.find("blk.2.a"), std::string::npos) << text;
  EXPECT_NE(text.find("blk.{3..4}: same as blk.0 (2 tensors each)"), std::string::npos) << text;
  EXPECT_EQ(text.find("blk.3.a"), std::string::npos) << text;
  EXPECT_NE(text.find("11 tensors"), std::string::npos) << text;
}
