// The small tokenizer.json fixtures of tests/tokenizer/data (made by
// tools/gen/gen_tokenizer_fixtures.cjs with Hugging Face tokenizers 0.23.2): features the
// real tokenizers do not use (NFKC, Lowercase, Strip, StripAccents, Digits, Punctuation,
// Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit, every Split behavior
// and invert, Metaspace prepend schemes, Roberta/Bert/Template/Sequence post-processors,
// continuing_subword_prefix, end_of_word_suffix, fuse_unk, ignore_merges, pair-form
// merges, added tokens with single_word/lstrip/rstrip/normalized) must give the
// reference's ids, pieces and decoded text; the files it refuses must be refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "model/tokenizer_json/hf_tokenizer.h"
#include "tokenizer_test_util.h"

using namespace lowbit;

namespace {

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  const auto dir = std::filesystem::path(test::source_dir()) / "tests/tokenizer/data";
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class FeatureFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(FeatureFixture, MatchesReference) {
  const std::string name = GetParam();
  const auto doc = toktest::read_json(test::source_dir() + "/tests/tokenizer/data/" + name + ".json");
  if (doc.contains("error")) {
    try {
      HfTokenizer::from_json(doc["tokenizer"], name);
      ADD_FAILURE() << name << ": accepted a tokenizer.json the reference refuses (" << doc["error"] << ")";
    } catch (const Error& e) {
      SUCCEED() << e.what();
    }
    return;
  }
  auto tok = HfTokenizer::from_json(doc["tokenizer"], name);
  size_t n_ok = 0;
  for (const auto& c : doc["cases"]) {
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const auto ids_special = c["ids_with_special_tokens"].get<std::vector<int32_t>>();
    const auto pieces = c["tokens"].get<std::vector<std::string>>();
    const auto full = tok->encode_full(text, false);
    const auto full_special = tok->encode_full(text, true);
    const std::string decoded = tok->decode(ids, false);
    const std::string decoded_skip = tok->decode(ids_special, true);
    EXPECT_EQ(full.ids, ids) << name << ": " << text;
    EXPECT_EQ(full.tokens, pieces) << name << " (pieces): " << text;
    EXPECT_EQ(full_special.ids, ids_special) << name << " (special): " << text;
    EXPECT_EQ(tok->encode(text, true), ids_special) << name << " (encode): " << text;
    EXPECT_EQ(decoded, c["decoded"].get<std::string>()) << name << " (decoded): " << text;
    EXPECT_EQ(decoded_skip, c["decoded_skip_special"].get<std::string>()) << name << " (skip special): " << text;
    n_ok += full.ids == ids && full.tokens == pieces && full_special.ids == ids_special &&
            decoded == c["decoded"] && decoded_skip == c["decoded_skip_special"];
  }
  EXPECT_EQ(n_ok, doc["cases"].size()) << name;
}

INSTANTIATE_TEST_SUITE_P(Data, FeatureFixture, ::testing::ValuesIn(fixture_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
