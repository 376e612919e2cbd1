// tokenizer.json -> GGUF (add_bpe_vocab_to_gguf, llama.cpp's form) -> tokenizer rebuilt from
// the GGUF metadata: the same ids as the tokenizer.json on every expected case and every
// llama.cpp vector.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/gguf.h"
#include "model/tokenizer_json/gguf_vocab.h"
#include "tokenizer_test_util.h"

using namespace lowbit;

namespace {

std::string write_vocab_gguf(const std::string& name, const test::TempDir& tmp, std::vector<GgufKv>* out_md = nullptr) {
  std::vector<GgufKv> md;
  add_bpe_vocab_to_gguf(toktest::tokenizers_dir() + "/" + name, 0, md);
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  for (auto& kv : md) w.set(kv.key, kv.value);
  const std::string path = tmp.file(name + ".gguf");
  w.write(path);
  if (out_md) *out_md = std::move(md);
  return path;
}

const GgufValue* find_kv(const std::vector<GgufKv>& md, const std::string& key) {
  for (const auto& kv : md)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

struct Case {
  std::string name, model, pre;
};

class GgufVocabRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(GgufVocabRoundTrip, SameIdsAsTokenizerJson) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const Case& c = GetParam();
  test::TempDir tmp("lowbit-gguf-vocab");
  std::vector<GgufKv> md;
  const std::string path = write_vocab_gguf(c.name, tmp, &md);
  ASSERT_NE(find_kv(md, "tokenizer.ggml.model"), nullptr);
  EXPECT_EQ(find_kv(md, "tokenizer.ggml.model")->str(), c.model);
  EXPECT_EQ(find_kv(md, "tokenizer.ggml.pre")->str(), c.pre);
  if (c.model == "gpt2") {
    EXPECT_NE(find_kv(md, "tokenizer.ggml.merges"), nullptr);
  }

  auto from_gguf = load_tokenizer(path);
  const Tokenizer& from_json = toktest::shared_tokenizer(c.name);
  EXPECT_EQ(from_gguf->vocab_size(), from_json.vocab_size());
  EXPECT_EQ(from_gguf->bos_id(), from_json.bos_id());
  EXPECT_EQ(from_gguf->eos_id(), from_json.eos_id());
  EXPECT_EQ(from_gguf->add_bos(), from_json.add_bos());
  const auto doc = toktest::read_json(toktest::tokenizers_dir() + "/" + c.name + "/expected_encodings.json");
  size_t n = 0, n_ok = 0;
  for (const auto& cs : doc["cases"]) {
    const std::string text = cs["text"];
    // sentencepiece reads special-token text as plain text, as llama.cpp does when it
    // tokenizes without parse_special; tokenizers matches "<s>" / "</s>" there.
    if (c.model == "llama" && text.find("<s>") != std::string::npos) continue;
    ++n;
    const auto ids = cs["ids"].get<std::vector<int32_t>>();
    const auto ids_special = cs["ids_with_special_tokens"].get<std::vector<int32_t>>();
    EXPECT_EQ(from_gguf->encode(text, false), ids) << c.name << ": " << text;
    EXPECT_EQ(from_gguf->encode(text, true), ids_special) << c.name << " (special): " << text;
    EXPECT_EQ(from_gguf->decode(ids), cs["decoded"].get<std::string>()) << c.name << ": " << text;
    n_ok += from_gguf->encode(text, false) == ids && from_gguf->encode(text, true) == ids_special;
  }
  std::printf("[ gguf     ] %s -> %s/%s: %zu/%zu cases\n", c.name.c_str(), c.model.c_str(), c.pre.c_str(), n_ok, n);
  EXPECT_EQ(n_ok, n);
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, GgufVocabRoundTrip,
                         ::testing::Values(Case{"llama3", "gpt2", "llama-bpe"}, Case{"qwen3", "gpt2", "qwen2"},
                                           Case{"gpt2", "gpt2", "gpt-2"}, Case{"mistral", "llama", "default"}),
                         [](const auto& info) { return info.param.name; });

TEST(GgufVocab, TokenTypesAndSpecialIds) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  test::TempDir tmp("lowbit-gguf-vocab");
  std::vector<GgufKv> md;
  write_vocab_gguf("qwen3", tmp, &md);
  const auto& tokens = find_kv(md, "tokenizer.ggml.tokens")->strings();
  const auto types = find_kv(md, "tokenizer.ggml.token_type")->to_vector<int32_t>();
  ASSERT_EQ(tokens.size(), types.size());
  ASSERT_GT(tokens.size(), 151668u);
  EXPECT_EQ(tokens[151643], "<|endoftext|>");
  EXPECT_EQ(types[151643], 3);            // special -> CONTROL
  EXPECT_EQ(tokens[151668], "</think>");
  EXPECT_EQ(types[151668], 4);            // added, not special -> USER_DEFINED
  EXPECT_EQ(types[151659], 3);            // <|fim_prefix|>: not special but looks special
  EXPECT_EQ(types[0], 1);
  EXPECT_EQ(find_kv(md, "tokenizer.ggml.eos_token_id")->at<uint32_t>(0), 151645u);  // <|im_end|>
  EXPECT_EQ(find_kv(md, "tokenizer.ggml.padding_token_id")->at<uint32_t>(0), 151643u);
  EXPECT_FALSE(find_kv(md, "tokenizer.ggml.add_bos_token")->at<bool>(0));
  EXPECT_NE(find_kv(md, "tokenizer.chat_template"), nullptr);
  EXPECT_EQ(find_kv(md, "tokenizer.ggml.merges")->strings().front(), "Ġ Ġ");
}

TEST(GgufVocab, PaddedToModelVocabSize) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  std::vector<GgufKv> md;
  add_bpe_vocab_to_gguf(toktest::tokenizers_dir() + "/gpt2", 50304, md);
  const auto& tokens = find_kv(md, "tokenizer.ggml.tokens")->strings();
  const auto types = find_kv(md, "tokenizer.ggml.token_type")->to_vector<int32_t>();
  ASSERT_EQ(tokens.size(), 50304u);
  EXPECT_EQ(tokens[50256], "<|endoftext|>");
  EXPECT_EQ(tokens[50257], "[PAD50257]");
  EXPECT_EQ(types[50300], 5);  // UNUSED
}

TEST(GgufVocab, UnknownPreTokenizerIsAnError) {
  test::TempDir tmp("lowbit-gguf-vocab");
  test::write_bytes(tmp.file("tokenizer.json"),
                    R"({"pre_tokenizer":{"type":"Whitespace"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})");
  std::vector<GgufKv> md;
  EXPECT_THROW(add_bpe_vocab_to_gguf(tmp.path(), 0, md), Error);
}

}  // namespace
