// Hostile input: invalid UTF-8 text, lone surrogates, 10 MB without a space, deeply nested
// or malformed tokenizer.json, merges naming unknown tokens, runaway regexes. Each must
// give a lowbit::Error or a well-defined encoding, never a crash or a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "core/error.h"
#include "model/tokenizer_json/hf_tokenizer.h"
#include "model/tokenizer_json/utf8.h"
#include "tokenizer_test_util.h"

using namespace lowbit;

namespace {

// A byte-level tokenizer.json with the given pre_tokenizer and merges over "a".."c".
std::string small_json(const std::string& pre = "null", const std::string& merges = R"(["a b"])",
                       const std::string& extra_vocab = "") {
  return R"({"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":)" + pre +
         R"(,"post_processor":null,"decoder":null,"model":{"type":"BPE","vocab":{"a":0,"b":1,"c":2,"ab":3)" +
         extra_vocab + R"(},"merges":)" + merges + "}}";
}

void expect_error(const std::string& text, const std::string& what) {
  try {
    HfTokenizer::from_json_text(text, "bad.json");
    ADD_FAILURE() << what << ": accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

TEST(TokenizerHostile, MalformedJsonIsAnError) {
  expect_error("", "empty file");
  expect_error("{", "truncated");
  expect_error("[]", "not an object");
  expect_error("{}", "no model");
  expect_error(small_json().substr(0, 60), "cut in the middle");
  expect_error(R"({"model":{"type":"WordPiece","vocab":{}}})", "unsupported model");
  expect_error(R"({"model":{"type":"BPE","vocab":[1,2],"merges":[]}})", "vocab is an array");
  expect_error(R"({"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}})", "negative id");
  expect_error(R"({"model":{"type":"BPE","vocab":{"a":1.5},"merges":[]}})", "fractional id");
  expect_error(R"({"model":{"type":"BPE","vocab":{"a":99999999999},"merges":[]}})", "huge id");
  expect_error(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[7]}})", "merge is a number");
  expect_error(small_json("null", R"(["a z"])"), "merge names an unknown token");
  expect_error(small_json("null", R"(["b c"])"), "merged token not in vocab");
  expect_error(small_json("null", R"(["a  b"])"), "merge with two spaces");
  expect_error(small_json(R"({"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated","invert":false})"), "bad regex");
  expect_error(small_json(R"({"type":"Split","pattern":{"Regex":"a"},"behavior":"Sideways","invert":false})"), "bad behavior");
  expect_error(small_json(R"({"type":"Nope"})"), "unknown pre-tokenizer");
  expect_error(small_json(R"({"pretokenizers":[]})"), "component without type");
  expect_error(small_json(R"({"type":"Metaspace","replacement":"ab"})"), "replacement of two chars");
  // A template naming a special token it does not define (tokenizers would panic).
  std::string t = small_json();
  t.replace(t.find(R"("post_processor":null)"), 21,
            R"("post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}}],"pair":[],"special_tokens":{}})");
  expect_error(t, "template special token missing");
}

TEST(TokenizerHostile, LoneSurrogateEscapesAreAnError) {
  expect_error(small_json("null", R"(["a b"])", R"(,"\ud800":4)"), "lone high surrogate");
  expect_error(small_json("null", R"(["a b"])", R"(,"\udc00x":4)"), "lone low surrogate");
  // A correct pair is fine: U+1F999.
  auto tok = HfTokenizer::from_json_text(small_json("null", R"(["a b"])", R"(,"\ud83e\udd99":4)"), "ok.json");
  EXPECT_EQ(tok->encode("\xF0\x9F\xA6\x99", false), std::vector<int32_t>{4});
}

TEST(TokenizerHostile, DeepNestingIsAnError) {
  std::string deep(200000, '[');
  expect_error(deep, "200000 open brackets");
  expect_error(std::string(100, '[') + std::string(100, ']'), "100 nested arrays");
  // Nested Sequences within the limit still load.
  std::string pre = R"({"type":"WhitespaceSplit"})";
  for (int k = 0; k < 20; ++k) pre = R"({"type":"Sequence","pretokenizers":[)" + pre + "]}";
  auto tok = HfTokenizer::from_json_text(small_json(pre), "nested.json");
  EXPECT_EQ(tok->encode("ab c", false), (std::vector<int32_t>{3, 2}));
}

TEST(TokenizerHostile, InvalidUtf8IsReplacedLikeFromUtf8Lossy) {
  using tok::utf8_lossy;
  const std::string rep = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8_lossy("ok"), "ok");
  EXPECT_EQ(utf8_lossy("\xFF"), rep);
  EXPECT_EQ(utf8_lossy("a\xC3"), "a" + rep);                  // truncated 2-byte
  EXPECT_EQ(utf8_lossy("\xE2\x82"), rep);                     // truncated 3-byte: one maximal subpart
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), rep + rep + rep);     // encoded surrogate U+D800
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), rep + rep);               // overlong '/'
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), rep + rep + rep + rep);  // > U+10FFFF
  EXPECT_EQ(utf8_lossy("\xF0\x9F\xA6"), rep);                 // truncated 4-byte
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  for (const char* name : {"llama3", "qwen3", "mistral", "gpt2"}) {
    const auto& t = toktest::shared_tokenizer(name);
    const std::string bad = "abc\xFF\xFE def \xC3 \xED\xA0\x80 \xE2\x82 end\xF0";
    const auto ids = t.encode(bad, true);
    EXPECT_EQ(ids, t.encode(utf8_lossy(bad), true)) << name;
    EXPECT_EQ(t.decode(t.encode(bad, false)), utf8_lossy(bad)) << name;
  }
}

TEST(TokenizerHostile, TenMegabytesWithoutSpacesEncodeInBoundedTimeAndRoundTrip) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string letters(10u << 20, 'a');
  // 1 MB of printable ASCII without space and without '<' (so no special-token text: after
  // "<s>" mistral's Prepend normalizer would rightly add a space and the text would not
  // round-trip).
  std::string noise(1u << 20, '\0');
  std::mt19937 rng(1);
  for (auto& ch : noise) {
    ch = static_cast<char>('!' + rng() % 94);
    if (ch == '<') ch = '>';
  }
  for (const char* name : {"llama3", "qwen3", "mistral", "gpt2"}) {
    const auto& t = toktest::shared_tokenizer(name);
    for (const std::string* s : std::vector<const std::string*>{&letters, &noise}) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = t.encode(*s, false);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_FALSE(ids.empty());
      EXPECT_LT(ids.size(), s->size());
      EXPECT_LT(secs, 60.0) << name;
      const std::string back = t.decode(ids);
      size_t diff = 0;
      while (diff < back.size() && diff < s->size() && back[diff] == (*s)[diff]) ++diff;
      EXPECT_TRUE(back == *s) << name << ": decode differs at byte " << diff << " of " << s->size() << " ("
                              << back.size() << " decoded); " << secs << " s";
      std::printf("[ 10 MB    ] %s %s: %zu tokens in %.2f s\n", name, s == &letters ? "letters" : "noise", ids.size(),
                  secs);
    }
  }
}

TEST(TokenizerHostile, RunawayRegexIsAnErrorNotAHang) {
  auto tok = HfTokenizer::from_json_text(
      small_json(R"({"type":"Split","pattern":{"Regex":"(a+)+$"},"behavior":"Isolated","invert":false})"), "re.json");
  const std::string text = std::string(5000, 'a') + "b";
  const auto t0 = std::chrono::steady_clock::now();
  try {
    tok->encode(text, false);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("regex"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 60.0);
}

TEST(TokenizerHostile, UnknownIdsAreSkippedWhenDecoding) {
  auto tok = HfTokenizer::from_json_text(small_json(), "x.json");
  EXPECT_EQ(tok->decode({0, -5, 1, 1 << 30, 3}), "a b ab");  // no decoder: joined with spaces
  EXPECT_EQ(tok->piece(-1), "");
  EXPECT_EQ(tok->piece(12345), "");
}

TEST(TokenizerHostile, MissingUnkTokenIsAnErrorAtEncode) {
  auto tok = HfTokenizer::from_json_text(
      R"({"model":{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}})", "unk.json");
  EXPECT_EQ(tok->encode("aa", false), (std::vector<int32_t>{0, 0}));
  EXPECT_THROW(tok->encode("ab", false), Error);
}

}  // namespace
