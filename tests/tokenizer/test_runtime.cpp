// The tokenizer.json runtime beyond single encodes: whole-document round trips, streamed
// decoding, tokenizer_config.json (BOS/EOS, chat template, Llama's add_bos_token), use from
// several threads, and the regex dialect translation.
#include <gtest/gtest.h>

#include <thread>

#include "model/tokenizer_json/hf_tokenizer.h"
#include "model/tokenizer_json/regex.h"
#include "model/tokenizer_json/unicode.h"
#include "tokenizer_test_util.h"

using namespace lowbit;

namespace {

std::string wiki_text() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : toktest::slurp(shared + "/data/wikitext-2-raw/wiki.test.raw");
}

TEST(TokenizerRuntime, WikiTextRoundTrips) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string text = wiki_text();
  if (text.empty()) GTEST_SKIP() << "wikitext-2-raw not found under LOWBIT_SHARED_DIR/data";
  for (const char* name : {"llama3", "gpt2", "qwen3", "mistral"}) {
    const auto& t = toktest::shared_tokenizer(name);
    const auto ids = t.encode(text, false);
    const std::string back = t.decode(ids);
    // qwen3 normalizes to NFC first; mistral's decoder strips the one space its
    // normalizer prepends.
    const std::string want = std::string(name) == "qwen3" ? tok::normalize_unicode(text, tok::NormForm::NFC) : text;
    EXPECT_TRUE(back == want) << name << ": " << back.size() << " vs " << want.size() << " bytes";
  }
}

TEST(TokenizerRuntime, StreamedDecodeEqualsWholeDecode) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string text = "Héllo wörld, 日本語 🦙👨‍👩‍👧 tiny stories.\n\tÅ";
  for (const char* name : {"llama3", "qwen3", "mistral", "gpt2"}) {
    const auto& t = toktest::shared_tokenizer(name);
    const auto ids = t.encode(text, false);
    DetokenizeStream s(t);
    std::string out;
    for (int32_t id : ids) {
      const std::string piece = s.push(id);
      EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << name << ": emitted a partial character";
      out += piece;
    }
    out += s.flush();
    EXPECT_EQ(out, t.decode(ids)) << name;
  }
}

TEST(TokenizerRuntime, ConfigDecidesBosEosAndChatTemplate) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const auto& llama3 = dynamic_cast<const HfTokenizer&>(toktest::shared_tokenizer("llama3"));
  EXPECT_EQ(llama3.bos_id(), 128000);
  EXPECT_EQ(llama3.eos_id(), 128001);
  EXPECT_FALSE(llama3.add_bos());  // this file's post-processor is plain ByteLevel
  EXPECT_NE(llama3.chat_template().find("<|start_header_id|>"), std::string::npos);
  const auto& qwen3 = dynamic_cast<const HfTokenizer&>(toktest::shared_tokenizer("qwen3"));
  EXPECT_EQ(qwen3.bos_id(), -1);
  EXPECT_EQ(qwen3.eos_id(), 151645);  // <|im_end|> from tokenizer_config.json
  EXPECT_EQ(qwen3.pad_id(), 151643);
  EXPECT_EQ(qwen3.token_to_id("<|im_start|>"), 151644);
  EXPECT_TRUE(qwen3.is_special(151644));
  EXPECT_FALSE(qwen3.is_special(151667));  // <think> is added but not special
  const auto& mistral = dynamic_cast<const HfTokenizer&>(toktest::shared_tokenizer("mistral"));
  EXPECT_EQ(mistral.bos_id(), 1);
  EXPECT_EQ(mistral.eos_id(), 2);
  EXPECT_TRUE(mistral.add_bos());

  // LlamaTokenizer(Fast) rebuilds the post-processor from add_bos_token / add_eos_token.
  test::TempDir d("lowbit-tokcfg");
  test::write_bytes(d.file("tokenizer.json"),
                    toktest::slurp(toktest::tokenizers_dir() + "/mistral/tokenizer.json"));
  test::write_bytes(d.file("tokenizer_config.json"),
                    R"({"tokenizer_class":"LlamaTokenizer","add_bos_token":false,"add_eos_token":true,)"
                    R"("bos_token":{"content":"<s>","special":true},"eos_token":"</s>"})");
  auto t = load_tokenizer(d.path());
  EXPECT_EQ(t->encode("Hello world!", true), (std::vector<int32_t>{22557, 1526, 28808, 2}));
  EXPECT_FALSE(t->add_bos());
}

TEST(TokenizerRuntime, SameIdsFromManyThreads) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const auto& t = toktest::shared_tokenizer("llama3");
  std::vector<std::string> texts;
  for (int k = 0; k < 64; ++k) texts.push_back("thread text " + std::to_string(k * 7919) + " with wörds and 🦙 x" + std::to_string(k));
  std::vector<std::vector<int32_t>> want;
  for (const auto& s : texts) want.push_back(t.encode(s, true));
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&, th] {
      for (int rep = 0; rep < 20; ++rep)
        for (size_t k = 0; k < texts.size(); ++k)
          if (t.encode(texts[(k + th) % texts.size()], true) != want[(k + th) % texts.size()]) ++bad;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(TokenizerRegex, OnigEscapesAreTranslated) {
  using tok::onig_to_pcre2;
  EXPECT_EQ(onig_to_pcre2("a\\sb"), "a[\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Zs}\\p{Zl}\\p{Zp}]b");
  EXPECT_EQ(onig_to_pcre2("[^\\s\\p{L}]"), "[^\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Zs}\\p{Zl}\\p{Zp}\\p{L}]");
  EXPECT_EQ(onig_to_pcre2("\\w+"), "[\\p{L}\\p{M}\\p{N}\\p{Pc}]+");
  EXPECT_EQ(onig_to_pcre2("\\h"), "[0-9a-fA-F]");
  EXPECT_EQ(onig_to_pcre2("\\\\s"), "\\\\s");  // an escaped backslash then 's'
  EXPECT_EQ(onig_to_pcre2("[]s]\\S"), "[]s][^\\t\\n\\x{0B}\\f\\r\\x{85}\\p{Zs}\\p{Zl}\\p{Zp}]");

  // Iteration: an empty match right after a match is skipped (onig FindMatches).
  tok::Regex re("x*", true, "t");
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all("axxb", m);
  EXPECT_EQ(m, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}, {4, 4}}));
  // U+180E is not a space for Oniguruma (PCRE2 would say it is).
  tok::Regex sp("\\s", true, "t");
  m.clear();
  sp.find_all("\xE1\xA0\x8E \xC2\x85", m);
  EXPECT_EQ(m, (std::vector<std::pair<size_t, size_t>>{{3, 4}, {4, 6}}));
}

}  // namespace
