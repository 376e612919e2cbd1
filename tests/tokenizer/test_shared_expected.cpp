// Every case of ../shared/tokenizers/*/expected_encodings.json: ids without and with
// special tokens, pieces and decoded text, as produced by Hugging Face tokenizers (Rust,
// npm tokenizers@0.23.2) for llama3, qwen3, mistral, gpt2, and by sentencepiece for llama2.
#include <gtest/gtest.h>

#include "model/tokenizer_json/hf_tokenizer.h"
#include "tokenizer_test_util.h"

using namespace lowbit;

namespace {

class SharedExpected : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedExpected, EveryCaseMatches) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string name = GetParam();
  const auto doc = toktest::read_json(toktest::tokenizers_dir() + "/" + name + "/expected_encodings.json");
  const Tokenizer& tok = toktest::shared_tokenizer(name);
  const auto* hf = dynamic_cast<const HfTokenizer*>(&tok);
  if (name == "llama2")
    EXPECT_EQ(hf, nullptr) << "llama2 has only tokenizer.model: sentencepiece";
  else
    ASSERT_NE(hf, nullptr) << name << " has tokenizer.json";
  size_t n_cases = 0, n_ok = 0;
  for (const auto& c : doc["cases"]) {
    const std::string text = c["text"];
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const auto ids_special = c["ids_with_special_tokens"].get<std::vector<int32_t>>();
    const auto pieces = c["tokens"].get<std::vector<std::string>>();
    const std::string decoded = c["decoded"];
    ++n_cases;
    const auto got = tok.encode(text, false);
    const auto got_special = tok.encode(text, true);
    std::vector<std::string> got_pieces;
    if (hf) {
      got_pieces = hf->encode_full(text, false).tokens;
    } else {
      for (int32_t id : got) got_pieces.push_back(tok.piece(id));
    }
    const std::string got_decoded = tok.decode(ids);
    EXPECT_EQ(got, ids) << name << ": " << text;
    EXPECT_EQ(got_special, ids_special) << name << " (special): " << text;
    EXPECT_EQ(got_pieces, pieces) << name << " (pieces): " << text;
    EXPECT_EQ(got_decoded, decoded) << name << " (decoded): " << text;
    n_ok += got == ids && got_special == ids_special && got_pieces == pieces && got_decoded == decoded;
  }
  EXPECT_EQ(n_cases, 32u);
  EXPECT_EQ(n_ok, n_cases) << name;
  std::printf("[ exact    ] %s: %zu/%zu cases\n", name.c_str(), n_ok, n_cases);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, SharedExpected,
                         ::testing::Values("llama3", "qwen3", "mistral", "gpt2", "llama2"),
                         [](const auto& info) { return info.param; });

// llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf.inp/.out): ids that HF
// Python produced with add_special_tokens=False for the upstream repositories.
struct Vectors {
  std::string dir, stem;
};

class LlamaCppVectors : public ::testing::TestWithParam<Vectors> {};

TEST_P(LlamaCppVectors, EveryStringMatches) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const auto& v = GetParam();
  const std::string base = toktest::tokenizers_dir() + "/" + v.dir + "/llamacpp-ggml-vocab-" + v.stem;
  const std::string inp = toktest::slurp(base + ".inp");
  const std::string out = toktest::slurp(base + ".out");
  ASSERT_FALSE(inp.empty());
  // Strings are separated by, and end with, "\n__ggml_vocab_test__\n".
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> strings;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t e = inp.find(sep, pos);
    ASSERT_NE(e, std::string::npos);
    strings.push_back(inp.substr(pos, e - pos));
    pos = e + sep.size();
  }
  std::vector<std::vector<int32_t>> expected;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<int32_t> ids;
    std::istringstream ls(line);
    for (int32_t id; ls >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  ASSERT_EQ(strings.size(), expected.size());
  EXPECT_EQ(strings.size(), 46u);
  const Tokenizer& tok = toktest::shared_tokenizer(v.dir);
  size_t n_ok = 0;
  for (size_t k = 0; k < strings.size(); ++k) {
    const auto got = tok.encode(strings[k], false);
    EXPECT_EQ(got, expected[k]) << v.dir << " vector " << k << ": " << strings[k];
    n_ok += got == expected[k];
  }
  std::printf("[ exact    ] %s llama.cpp vectors: %zu/%zu\n", v.dir.c_str(), n_ok, strings.size());
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, LlamaCppVectors,
                         ::testing::Values(Vectors{"llama3", "llama-bpe"}, Vectors{"qwen3", "qwen2"},
                                           Vectors{"gpt2", "gpt-2"}, Vectors{"llama2", "llama-spm"}),
                         [](const auto& info) { return info.param.dir; });

}  // namespace
