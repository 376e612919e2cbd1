// The layer-wise HF quantization pipeline (src/quant/hf_quantize.h) end to end: each method
// writes a folder, lowbit loads it back (quant/quantized_loader.h through load_model_weights)
// and runs it, and the perplexity stays close to the f32 model's; --resume after an
// interruption gives byte-identical files; Ctrl-C leaves no output directory.
//
// Shapes: stories260K has rows of 64 and 172. Group 32 divides 64 but not 172, and GPTQ / AWQ
// int32 packing cannot hold a 172-wide dimension at all, so those linears stay unquantized
// and are listed in the format's skip list (the documented rule of quant/checkpoint_pack.h).
// TinyStories-5M (rows 256 / 768) takes group 128 everywhere.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "../cli/cli_util.h"
#include "../test_util.h"
#include "quant_test_util.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "quant/hf_quantize.h"

namespace fs = std::filesystem;
using namespace lowbit;

namespace {

using quant_test::calib_text;
using quant_test::eval_text;
using quant_test::model_260k;
using quant_test::model_5m;

std::vector<int32_t> eval_tokens(const std::string& model) {
  std::ifstream in(eval_text());
  std::string text(200000, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return load_tokenizer(model)->encode(text, true);
}

double ppl_of(const std::string& dir, const std::vector<int32_t>& tokens, int n_chunks = 6) {
  std::shared_ptr<const ModelWeights> w = load_model_weights(dir);
  Transformer t(w, 128);
  EvalOptions o;
  o.ctx = 128;
  o.max_chunks = n_chunks;
  o.progress = false;
  return evaluate_perplexity(t, tokens, o).ppl;
}

HfQuantizeOptions quick(const std::string& to, int bits, int group) {
  HfQuantizeOptions o;
  parse_quant_target(to, o.method, o.format);
  o.bits = bits;
  o.group_size = group;
  o.sym = !(o.method == QuantMethod::Awq || o.method == QuantMethod::Hqq);
  o.calib_path = calib_text();
  o.n_samples = 4;
  o.seq_len = 64;
  o.awq_search_tokens = 256;
  o.progress = false;
  o.on_message = [](const std::string&) {};
  return o;
}

nlohmann::json quant_config(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  return nlohmann::json::parse(in).at("quantization_config");
}

std::map<std::string, std::string> dir_bytes(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    m[e.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
  }
  return m;
}

}  // namespace

TEST(HfQuantize, Stories260KEveryMethodWritesLoadsAndRuns) {
  REQUIRE_SHARED();
  const auto tokens = eval_tokens(model_260k());
  const double base = ppl_of(model_260k(), tokens);
  struct Case {
    std::string to;
    size_t n_skipped;  // 5 layers x linears the format cannot hold
    std::string method_key;
  };
  const Case cases[] = {{"rtn", 15, "gptq"}, {"gptq", 15, "gptq"}, {"awq", 15, "awq"},
                        {"hqq", 5, "hqq"},   {"compressed-tensors", 5, "compressed-tensors"}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.to);
    test::TempDir tmp;
    const std::string out = tmp.file("q");
    const HfQuantizeResult r = quantize_hf(model_260k(), out, quick(c.to, 4, 32));
    EXPECT_EQ(r.skipped.size(), c.n_skipped);
    EXPECT_EQ(r.n_linears_quantized, 35 - static_cast<int>(c.n_skipped));
    // The time split: calibration passes only where the method uses data.
    const bool data = c.to != "rtn" && c.to != "hqq";
    EXPECT_GT(r.times.load, 0.0);
    EXPECT_GT(r.times.solve, 0.0);
    EXPECT_GT(r.times.write, 0.0);
    EXPECT_EQ(r.times.forward > 0.0, data);
    EXPECT_EQ(r.times.stats > 0.0, data);
    EXPECT_EQ(r.times.propagate > 0.0, data);
    EXPECT_LE(r.times.load + r.times.forward + r.times.stats + r.times.solve + r.times.propagate + r.times.write,
              r.seconds);
    const nlohmann::json qc = quant_config(out);
    EXPECT_EQ(qc.at("quant_method"), c.method_key);
    EXPECT_TRUE(fs::exists(out + "/tokenizer.model"));
    EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
    const double ppl = ppl_of(out, tokens);
    EXPECT_LT(ppl, base * 1.25) << "f32 " << base;
    EXPECT_GT(ppl, base * 0.9);
  }
}

TEST(HfQuantize, Stories260KPerChannelQuantizesEveryLinear) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const HfQuantizeResult r = quantize_hf(model_260k(), tmp.file("q"), quick("compressed-tensors", 8, -1));
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_EQ(r.n_linears_quantized, 35);
  const nlohmann::json w = quant_config(tmp.file("q")).at("config_groups").at("group_0").at("weights");
  EXPECT_EQ(w.at("num_bits"), 8);
  EXPECT_EQ(w.at("strategy"), "channel");
  const auto tokens = eval_tokens(model_260k());
  EXPECT_NEAR(ppl_of(tmp.file("q"), tokens), ppl_of(model_260k(), tokens), 0.01 * ppl_of(model_260k(), tokens));
}

TEST(HfQuantize, TinyStories4BitGroup128StaysClose) {
  REQUIRE_SHARED();
  const auto tokens = eval_tokens(model_5m());
  const double base = ppl_of(model_5m(), tokens, 4);
  for (const std::string to : {"rtn", "gptq", "awq", "hqq", "compressed-tensors"}) {
    SCOPED_TRACE(to);
    test::TempDir tmp;
    const HfQuantizeResult r = quantize_hf(model_5m(), tmp.file("q"), quick(to, 4, 128));
    EXPECT_TRUE(r.skipped.empty());
    EXPECT_EQ(r.n_linears_quantized, 42);
    EXPECT_GT(r.peak_rss_bytes, 0u);
    // Every linear runs packed (no dequantize-at-load): 4-bit groups of 128 in GQ4_128, whose
    // 68-byte blocks are 4.25 bits per weight.
    const auto w = load_model_weights(tmp.file("q"));
    for (const LayerWeights& L : w->layers)
      for (int k = 0; k < kNumLinearKinds; ++k) {
        const QMatrix& m = L.linear(static_cast<LinearKind>(k));
        EXPECT_EQ(m.format, FormatId::GQ4_128) << format(m.format).name;
        EXPECT_EQ(m.n_bytes() * 8, static_cast<size_t>(m.n_rows * m.n_cols) * 17 / 4);
      }
    const double ppl = ppl_of(tmp.file("q"), tokens, 4);
    EXPECT_LT(ppl, base * 1.05) << "f32 " << base;
  }
}

// 2 bits (docs/quality-hf.md's 2-bit rows): every method writes, loads and evaluates to a
// finite perplexity that is worse than f32 but not noise; 2-bit codes pack 16 per int32.
TEST(HfQuantize, TinyStories2BitEveryMethodLoadsAndEvaluates) {
  REQUIRE_SHARED();
  const auto tokens = eval_tokens(model_5m());
  const double base = ppl_of(model_5m(), tokens, 4);
  struct Case {
    std::string to;
    bool sym;
  };
  for (const Case& c : {Case{"rtn", true}, Case{"rtn", false}, Case{"gptq", true}, Case{"hqq", false}}) {
    SCOPED_TRACE(c.to + (c.sym ? " sym" : " asym"));
    test::TempDir tmp;
    HfQuantizeOptions o = quick(c.to, 2, 128);
    o.sym = c.sym;
    // quick()'s 256 calibration tokens leave down_proj's 768-wide Hessian rank-deficient, and
    // at 2 bits GPTQ then fits those few tokens at the expense of the rest (PPL 3.5x f32).
    o.n_samples = 16;
    o.seq_len = 128;
    const HfQuantizeResult r = quantize_hf(model_5m(), tmp.file("q"), o);
    EXPECT_TRUE(r.skipped.empty());
    EXPECT_EQ(r.n_linears_quantized, 42);
    EXPECT_NEAR(r.linear_bits_per_weight, 2.25, 0.03);
    const double ppl = ppl_of(tmp.file("q"), tokens, 4);
    EXPECT_TRUE(std::isfinite(ppl));
    EXPECT_GT(ppl, base * 1.02) << "f32 " << base;
    EXPECT_LT(ppl, base * 2.5) << "f32 " << base;
  }
}

TEST(HfQuantize, ConfigFieldsPerFormat) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  HfQuantizeOptions o = quick("gptq", 4, 32);
  o.desc_act = true;
  o.format = CheckpointKind::GptqV2;
  quantize_hf(model_260k(), tmp.file("g"), o);
  const nlohmann::json g = quant_config(tmp.file("g"));
  EXPECT_EQ(g.at("bits"), 4);
  EXPECT_EQ(g.at("group_size"), 32);
  EXPECT_EQ(g.at("desc_act"), true);
  EXPECT_EQ(g.at("sym"), true);
  EXPECT_EQ(g.at("checkpoint_format"), "gptq_v2");
  EXPECT_TRUE(g.at("dynamic").contains("-:^model\\.layers\\.0\\.mlp\\.down_proj$"));
  quantize_hf(model_260k(), tmp.file("a"), quick("awq", 4, 32));
  const nlohmann::json a = quant_config(tmp.file("a"));
  EXPECT_EQ(a.at("version"), "gemm");
  EXPECT_EQ(a.at("zero_point"), true);
  EXPECT_EQ(a.at("modules_to_not_convert").size(), 15u);
  quantize_hf(model_260k(), tmp.file("h"), quick("hqq", 3, 32));
  EXPECT_EQ(quant_config(tmp.file("h")).at("quant_config").at("weight_quant_params").at("nbits"), 3);
  // Combinations no checkpoint can hold fail before any work.
  EXPECT_THROW(quantize_hf(model_260k(), tmp.file("x"), quick("awq", 3, 32)), Error);
  HfQuantizeOptions bad = quick("hqq", 4, 32);
  bad.format = CheckpointKind::Gptq;
  EXPECT_THROW(quantize_hf(model_260k(), tmp.file("x"), bad), Error);
  EXPECT_FALSE(fs::exists(tmp.file("x")));
}

TEST(HfQuantize, ResumeAfterInterruptionGivesIdenticalFiles) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  for (const std::string to : {"gptq", "awq"}) {
    SCOPED_TRACE(to);
    HfQuantizeOptions o = quick(to, 4, 32);
    o.format = CheckpointKind::CompressedTensors;  // holds q/k/v/o and gate/up of stories260K
    const std::string full = tmp.file(to + "-full"), part = tmp.file(to + "-part");
    quantize_hf(model_260k(), full, o);
    HfQuantizeOptions stop = o;
    stop.stop_after_layers = 2;
    EXPECT_THROW(quantize_hf(model_260k(), part, stop), Error);
    EXPECT_FALSE(fs::exists(part));
    o.resume = true;
    const HfQuantizeResult r = quantize_hf(model_260k(), part, o);
    EXPECT_EQ(r.first_layer_run, 2);
    EXPECT_EQ(dir_bytes(full), dir_bytes(part));
  }
}

TEST(HfQuantize, CtrlCLeavesNoOutputAndResumeFinishes) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string out = tmp.file("out");
  const std::string cmd = test::lowbit_bin() + " -q quantize " + model_5m() + " --to gptq --calib " + calib_text() +
                          " --samples 64 --seq-len 256 -o " + out;
  const test::RunResult r = test::run_command("(" + cmd + " & p=$!; sleep 3; kill -INT $p; wait $p; echo rc=$?)");
  ASSERT_NE(r.out.find("rc="), std::string::npos) << r.out;
  if (r.out.find("rc=0") != std::string::npos) GTEST_SKIP() << "the run finished within 3 s; nothing to interrupt";
  EXPECT_NE(r.out.find("rc=130"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  const test::RunResult again = test::run_command(cmd + " --resume");
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  for (const auto& e : fs::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}
