// Every GGUF that llama.cpp's llama-quantize made (../shared/golden/gguf), run by lowbit with
// llama-perplexity's protocol, lands within 0.2% of the perplexity llama.cpp reported
// (llamacpp-ppl.tsv). llama.cpp quantizes activations to 8 bits and keeps an f16 KV cache,
// so exact agreement is not expected; the weights themselves decode exactly (golden tests).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "eval/perplexity.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "test_util.h"

using namespace lowbit;

namespace {

struct PplRow {
  std::string file;  // path relative to the shared dir
  int ctx = 0;
  int chunks = 0;
  double ppl = 0;
};

std::vector<PplRow> read_rows() {
  std::vector<PplRow> rows;
  const std::string shared = test::shared_dir();
  if (shared.empty()) return rows;
  std::ifstream f(shared + "/golden/gguf/llamacpp-ppl.tsv");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::stringstream ss(line);
    std::string name, bytes, ctx, chunks, ppl;
    std::getline(ss, name, '\t');
    std::getline(ss, bytes, '\t');
    std::getline(ss, ctx, '\t');
    std::getline(ss, chunks, '\t');
    std::getline(ss, ppl, '\t');
    if (name.empty()) continue;
    PplRow r;
    // The two base models live under models/, the rest under golden/gguf/.
    if (name.rfind("stories260K.gguf", 0) == 0) r.file = "models/stories260K/stories260K.gguf";
    else if (name.rfind("tinystories-llama-5M-F32.gguf", 0) == 0)
      r.file = "models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf";
    else r.file = "golden/gguf/" + name;
    r.ctx = std::stoi(ctx);
    r.chunks = std::stoi(chunks);
    r.ppl = std::stod(ppl);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

class LlamaCppPpl : public ::testing::TestWithParam<PplRow> {};

TEST_P(LlamaCppPpl, WithinPointTwoPercent) {
  const PplRow& row = GetParam();
  const std::string shared = test::shared_dir();
  const std::string path = shared + "/" + row.file;
  auto w = std::shared_ptr<const ModelWeights>(load_model_weights(path));
  auto tok = load_tokenizer(path);
  std::ifstream f(shared + "/data/tinystories/tinystories-valid-head-eval.txt");
  std::stringstream ss;
  ss << f.rdbuf();
  EvalOptions eo;
  eo.ctx = row.ctx;
  eo.max_chunks = row.chunks;
  eo.protocol = PplProtocol::LlamaCpp;
  eo.bos_id = tok->bos_id();
  eo.progress = false;
  Transformer model(w, row.ctx);
  const EvalResult r = evaluate_perplexity(model, tok->encode(ss.str(), true), eo);
  const double rel = std::fabs(r.ppl - row.ppl) / row.ppl;
  EXPECT_LE(rel, 0.002) << row.file << ": lowbit " << r.ppl << ", llama.cpp " << row.ppl;
  RecordProperty("lowbit_ppl", std::to_string(r.ppl));
}

INSTANTIATE_TEST_SUITE_P(Golden, LlamaCppPpl, ::testing::ValuesIn(read_rows()), [](const auto& info) {
  std::string s = info.param.file.substr(info.param.file.rfind('/') + 1);
  s = s.substr(0, s.size() - 5);
  for (auto& ch : s)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(LlamaCppPpl);
