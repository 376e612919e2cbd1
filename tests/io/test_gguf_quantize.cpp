// lowbit quantize vs llama-quantize: every model in ../shared/golden/gguf (except the imatrix
// files) is re-made from its F32 source with the mix in its name (and the model's imatrix for
// -imat files) and compared tensor by tensor: names and order, ggml types, bytes. Mixes that
// need an IQ1/IQ2/IQ3 quantizer lowbit lacks are checked for the exact type plan and a clear
// refusal instead.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_quantize.h"
#include "test_util.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

struct GoldenCase {
  std::string file;  // golden/gguf/<file>
  std::string model; // "stories260K" or "tinystories-llama-5M"
  std::string mix;
  bool imat = false;
};

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> out;
  const std::string shared = test::shared_dir();
  if (shared.empty()) return out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(shared + "/golden/gguf", ec)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() != ".gguf" || name.find(".imatrix.") != std::string::npos) continue;
    GoldenCase c;
    c.file = name;
    name.resize(name.size() - 5);
    for (const char* m : {"stories260K-", "tinystories-llama-5M-"})
      if (name.rfind(m, 0) == 0) {
        c.model = std::string(m, std::strlen(m) - 1);
        name = name.substr(std::strlen(m));
      }
    if (name.size() > 5 && name.compare(name.size() - 5, 5, "-imat") == 0) {
      c.imat = true;
      name.resize(name.size() - 5);
    }
    c.mix = name;
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return out;
}

std::string source_of(const GoldenCase& c) {
  const std::string m = test::shared_dir() + "/models/";
  return c.model == "stories260K" ? m + "stories260K/stories260K.gguf"
                                  : m + "tinystories-llama-5M/tinystories-llama-5M-F32.gguf";
}

std::string imatrix_of(const GoldenCase& c) { return test::shared_dir() + "/golden/gguf/" + c.model + ".imatrix.gguf"; }

class GoldenGguf : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenGguf, MatchesLlamaQuantize) {
  const GoldenCase& c = GetParam();
  ASSERT_FALSE(c.model.empty()) << "unexpected golden file name " << c.file;
  const GgufMix* mix = find_gguf_mix(c.mix);
  ASSERT_NE(mix, nullptr) << c.mix;
  auto golden = GgufFile::open(test::shared_dir() + "/golden/gguf/" + c.file);
  EXPECT_EQ(golden->get_u32("general.file_type"), static_cast<uint32_t>(mix->file_type));

  // The plan alone: names in llama-quantize's order and every tensor's type.
  auto src = gguf_model_source(source_of(c));
  const std::vector<TensorPlan> plan = plan_gguf_quantize(*src, *mix, c.imat);
  ASSERT_EQ(plan.size(), golden->tensors().size());
  bool lacks_quantizer = false;
  for (size_t i = 0; i < plan.size(); ++i) {
    const GgufTensor& g = golden->tensors()[i];
    EXPECT_EQ(plan[i].name, g.name) << "tensor " << i;
    EXPECT_EQ(static_cast<uint32_t>(plan[i].type), g.ggml_type) << g.name;
    EXPECT_FALSE(plan[i].lowbit_fallback) << g.name;  // llama.cpp made this file, so it did not abort
    const FormatTraits* f = find_format(plan[i].type);
    if (plan[i].converts() && (!f || !f->quantize)) lacks_quantizer = true;
  }

  GgufQuantizeOptions opts;
  opts.mix = c.mix;
  opts.progress = false;
  if (c.imat) opts.imatrix_path = imatrix_of(c);
  test::TempDir dir;
  const std::string out = dir.file("out.gguf");
  if (lacks_quantizer) {
    try {
      quantize_gguf(source_of(c), out, opts);
      FAIL() << "quantize should refuse " << c.mix;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no quantizer in lowbit yet"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("IQ"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out));
    RecordProperty("result", "plan matches; refused: no IQ quantizer");
    return;
  }
  const GgufQuantizeResult r = quantize_gguf(source_of(c), out, opts);
  EXPECT_TRUE(r.written);
  auto got = GgufFile::open(out);
  EXPECT_TRUE(got->has_ggml_layout());
  ASSERT_EQ(got->tensors().size(), golden->tensors().size());
  for (size_t i = 0; i < got->tensors().size(); ++i) {
    const GgufTensor& a = got->tensors()[i];
    const GgufTensor& b = golden->tensors()[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.ggml_type, b.ggml_type) << a.name;
    EXPECT_EQ(a.ne, b.ne) << a.name;
    ASSERT_EQ(a.n_bytes, b.n_bytes) << a.name;
    EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << a.name << " (" << a.type_name() << ") differs";
  }
  // Metadata as llama-quantize writes it: the source's keys, then these.
  for (const char* key : {"general.quantization_version", "general.file_type", "quantize.imatrix.entries_count",
                          "quantize.imatrix.chunks_count", "quantize.imatrix.dataset"}) {
    ASSERT_EQ(got->has(key), golden->has(key)) << key;
    if (golden->has(key)) {
      EXPECT_EQ(got->value(key), golden->value(key)) << key;
    }
  }
  EXPECT_EQ(got->keys().size(), golden->keys().size());
  RecordProperty("result", "byte-identical");
}

INSTANTIATE_TEST_SUITE_P(AllGoldens, GoldenGguf, ::testing::ValuesIn(golden_cases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& i) {
                           std::string n = i.param.file.substr(0, i.param.file.size() - 5);
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenGguf);

TEST(GgufQuantizeGoldens, AllFound) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  EXPECT_GE(golden_cases().size(), 31u);  // 12 stories260K + 19 tinystories models
}

TEST(GgufQuantize, DryRunWritesNothingAndReportsMissingQuantizers) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  GgufQuantizeOptions opts;
  opts.mix = "IQ2_M";
  opts.dry_run = true;
  opts.progress = false;
  opts.imatrix_path = test::shared_dir() + "/golden/gguf/tinystories-llama-5M.imatrix.gguf";
  const std::string src = test::shared_dir() + "/models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf";
  const GgufQuantizeResult r = quantize_gguf(src, dir.file("x.gguf"), opts);
  EXPECT_FALSE(r.written);
  EXPECT_FALSE(fs::exists(dir.file("x.gguf")));
  EXPECT_EQ(r.missing_quantizers, (std::vector<std::string>{"IQ3_S", "IQ2_S"}));
  EXPECT_GT(r.n_bytes_out, 0u);
  EXPECT_LT(r.bits_per_weight(), 4.0);
}

TEST(GgufQuantize, StoriesFallsBackWhereLlamaCppAborts) {
  // llama.cpp aborts on Q4_0 for stories260K (ffn_down rows of 172); lowbit writes F16 there.
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  std::vector<std::string> warnings;
  GgufQuantizeOptions opts;
  opts.mix = "Q4_0";
  opts.progress = false;
  opts.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  const GgufQuantizeResult r =
      quantize_gguf(test::shared_dir() + "/models/stories260K/stories260K.gguf", dir.file("q.gguf"), opts);
  int n_lowbit = 0;
  for (const TensorPlan& p : r.plan) {
    if (p.name.find("ffn_down") != std::string::npos) {
      EXPECT_EQ(p.type, FormatId::F16);
      EXPECT_TRUE(p.lowbit_fallback);
      ++n_lowbit;
    } else if (p.name.find("ffn_") != std::string::npos || p.name.find("attn_") != std::string::npos) {
      if (p.quantizable) {
        EXPECT_EQ(p.type, FormatId::Q4_0) << p.name;
      }
    }
  }
  EXPECT_EQ(n_lowbit, 5);
  EXPECT_EQ(warnings.size(), 5u);
  auto f = GgufFile::open(dir.file("q.gguf"));
  EXPECT_EQ(f->tensor("blk.3.ffn_down.weight").ggml_type, 1u);
  EXPECT_EQ(f->tensor("output.weight").ggml_type, 8u);  // Q6_K does not fit 64: Q8_0
}

TEST(GgufQuantize, RefusesBadRequests) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  const std::string src = test::shared_dir() + "/models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf";
  auto refuses = [&](GgufQuantizeOptions o, const std::string& needle) {
    o.progress = false;
    try {
      quantize_gguf(src, dir.file("o.gguf"), o);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir.file("o.gguf")));
  };
  GgufQuantizeOptions o;
  o.mix = "Q9_K";
  refuses(o, "unknown GGUF type");
  o.mix = "IQ2_XXS";  // needs an imatrix (and an IQ2 quantizer lowbit lacks): the imatrix is checked first
  refuses(o, "needs an importance matrix");
  o.mix = "Q4_K_M";
  o.tensor_types = {"attn_q=Q4_X"};
  refuses(o, "unknown GGUF type");
  o.tensor_types = {"attn_q("};
  refuses(o, "PATTERN=TYPE");
  o.tensor_types = {"(=Q8_0"};
  refuses(o, "invalid regular expression");
  o.tensor_types = {"attn_q=IQ2_XXS"};
  refuses(o, "needs an importance matrix");
  o.tensor_types = {};
  o.imatrix_path = test::shared_dir() + "/golden/gguf/stories260K.imatrix.gguf";  // another model's
  refuses(o, "imatrix size 64 is different from tensor size 256");
  o.imatrix_path = dir.file("missing.imatrix");
  refuses(o, "cannot open");
}

TEST(GgufQuantize, OverridesAndRequantizing) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  const std::string src = test::shared_dir() + "/golden/gguf/tinystories-llama-5M-Q8_0.gguf";
  std::vector<std::string> warnings;
  GgufQuantizeOptions o;
  o.mix = "Q4_K_M";
  o.progress = false;
  o.tensor_types = {"attn_.*=q5_k", "attn_v=Q8_0", "ffn_down=Q4_0"};
  o.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  const GgufQuantizeResult r = quantize_gguf(src, dir.file("r.gguf"), o);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings[0].find("requantizing"), std::string::npos) << warnings[0];
  auto f = GgufFile::open(dir.file("r.gguf"));
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight").ggml_type, static_cast<uint32_t>(FormatId::Q5_K));
  EXPECT_EQ(f->tensor("blk.2.attn_v.weight").ggml_type, static_cast<uint32_t>(FormatId::Q8_0));  // last match wins
  EXPECT_EQ(f->tensor("blk.5.ffn_down.weight").ggml_type, static_cast<uint32_t>(FormatId::Q4_0));
  EXPECT_EQ(f->tensor("blk.5.ffn_up.weight").ggml_type, static_cast<uint32_t>(FormatId::Q4_K));
  EXPECT_EQ(f->tensor("output.weight").ggml_type, static_cast<uint32_t>(FormatId::Q6_K));
  // A Q8_0 tensor left as Q8_0 is copied, not requantized.
  o.tensor_types = {"token_embd=Q8_0"};
  quantize_gguf(src, dir.file("s.gguf"), o);
  auto g = GgufFile::open(dir.file("s.gguf"));
  auto s = GgufFile::open(src);
  const GgufTensor& a = g->tensor("token_embd.weight");
  const GgufTensor& b = s->tensor("token_embd.weight");
  ASSERT_EQ(a.n_bytes, b.n_bytes);
  EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0);
}

}  // namespace
}  // namespace lowbit
