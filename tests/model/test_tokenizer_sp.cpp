#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <fstream>

#include "model/tokenizer.h"
#include "test_util.h"

using namespace lowbit;

TEST(SentencePieceTokenizer, MatchesReferenceTokens) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  auto tok = load_tokenizer(dir);
  std::ifstream f(dir + "/reference_logits.json");
  auto j = nlohmann::json::parse(f);
  std::vector<int32_t> expected = j["tokens"].get<std::vector<int32_t>>();
  // The reference keeps the first 64 tokens of the story.
  auto ids = tok->encode(j["text"].get<std::string>(), true);
  ASSERT_GE(ids.size(), expected.size());
  ids.resize(expected.size());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_EQ(tok->decode(tok->encode(j["text"].get<std::string>(), true)), j["text"].get<std::string>());
  auto pieces = j["token_pieces"];
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(tok->piece(expected[i]), pieces[i].get<std::string>());
}

TEST(SentencePieceTokenizer, StreamedDecodeEqualsWholeDecode) {
  auto tok = load_tokenizer(test::source_dir() + "/models/stories260K");
  const std::string text = "Héllo wörld, 日本 😀 tiny stories.";
  auto ids = tok->encode(text, false);  // byte fallback pieces for the non-ASCII text
  DetokenizeStream s(*tok);
  std::string out;
  for (int32_t id : ids) out += s.push(id);
  out += s.flush();
  EXPECT_EQ(out, tok->decode(ids));
  EXPECT_EQ(out, text);
}

TEST(SentencePieceTokenizer, MissingTokenizerIsAnError) {
  test::TempDir d;
  EXPECT_THROW(load_tokenizer(d.path()), std::exception);
}
