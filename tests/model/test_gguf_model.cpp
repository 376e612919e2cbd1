// GGUF models run in the same runtime: llama.cpp's F32 stories260K.gguf gives the HF
// model's logits (Q/K rows un-permuted), and its vocabulary tokenizes like tokenizer.model.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "test_util.h"

using namespace lowbit;

namespace {
std::vector<float> logits_of(const std::string& path, const std::vector<int32_t>& toks) {
  auto w = std::shared_ptr<const ModelWeights>(load_model_weights(path));
  Transformer m(w);
  std::vector<float> out(toks.size() * static_cast<size_t>(w->config.vocab_size));
  m.forward(toks.data(), nullptr, static_cast<int>(toks.size()), out.data(), true);
  return out;
}
}  // namespace

TEST(GgufModel, Stories260KF32MatchesHf) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  const std::string gguf = shared + "/models/stories260K/stories260K.gguf";
  std::vector<int32_t> toks{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};
  auto a = logits_of(gguf, toks);
  auto b = logits_of(test::source_dir() + "/models/stories260K", toks);
  ASSERT_EQ(a.size(), b.size());
  float md = 0;
  for (size_t i = 0; i < a.size(); ++i) md = std::max(md, std::fabs(a[i] - b[i]));
  EXPECT_LE(md, 1e-4f);
}

TEST(GgufModel, Stories260KVocabularyTokenizesLikeSentencepieceModel) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  auto from_gguf = load_tokenizer(shared + "/models/stories260K/stories260K.gguf");
  auto from_sp = load_tokenizer(test::source_dir() + "/models/stories260K");
  std::ifstream f(shared + "/data/tinystories/tinystories-valid-head-eval.txt");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str().substr(0, 300000) + "digits 12345, ünïcödé 日本語 😀\ttabs\n";
  EXPECT_EQ(from_gguf->encode(text, true), from_sp->encode(text, true));
  // Runs of spaces: tok512.model's normalizer collapses them (remove_extra_whitespaces, as HF
  // does with it); llama.cpp's SPM tokenizer keeps them, and so does the GGUF vocabulary.
  EXPECT_GT(from_gguf->encode("a  b", false).size(), from_sp->encode("a  b", false).size());
  EXPECT_EQ(from_gguf->bos_id(), 1);
  EXPECT_EQ(from_gguf->eos_id(), 2);
}
