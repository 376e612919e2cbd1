// lowbit tokenize / detokenize on the real tokenizers and on error inputs.
#include <gtest/gtest.h>

#include "cli/cli_util.h"
#include "tokenizer_test_util.h"

namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

TEST(CliTokenize, IdsJsonAndSpecial) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string dir = toktest::tokenizers_dir();
  auto r = test::run_command(test::lowbit_bin() + " tokenize " + dir + "/mistral --text 'Hello world!'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "22557 1526 28808\n");
  r = test::run_command(test::lowbit_bin() + " tokenize " + dir + "/mistral --special --text 'Hello world!'");
  EXPECT_EQ(r.out, "1 22557 1526 28808\n");
  r = test::run_command("printf 'Hello world' | " + test::lowbit_bin() + " tokenize " + dir + "/llama3 --json");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "{\"ids\":[9906,1917],\"tokens\":[\"Hello\",\"Ġworld\"]}\n");
  // A tokenizer.json file given directly, and a sentencepiece directory.
  r = test::run_command(test::lowbit_bin() + " tokenize " + dir + "/gpt2/tokenizer.json --text 'Hello world'");
  EXPECT_EQ(r.out, "15496 995\n");
  r = test::run_command(test::lowbit_bin() + " tokenize " + dir + "/llama2 --special --text 'Hello world'");
  EXPECT_EQ(r.out, "1 15043 3186\n");
}

TEST(CliTokenize, DetokenizeRoundTrip) {
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  const std::string dir = toktest::tokenizers_dir();
  auto r = test::run_command(test::lowbit_bin() + " detokenize " + dir + "/llama3 --ids '9906 1917'");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "Hello world");
  r = test::run_command("echo '[1, 22557, 1526, 28808]' | " + test::lowbit_bin() + " detokenize " + dir + "/mistral");
  EXPECT_EQ(r.out, "<s> Hello world!");
  r = test::run_command("echo '{\"ids\": [1, 22557]}' | " + test::lowbit_bin() + " detokenize " + dir +
                        "/mistral --skip-special");
  EXPECT_EQ(r.out, "Hello");
  const std::string text = "Ünïcödé 🦙 code:\n\tx = 1";
  r = test::run_command("printf %s " + quoted(text) + " | " + test::lowbit_bin() + " tokenize " + dir +
                        "/qwen3 | " + test::lowbit_bin() + " detokenize " + dir + "/qwen3");
  EXPECT_EQ(r.out, text);
}

TEST(CliTokenize, Errors) {
  test::TempDir tmp("lowbit-cli-tok");
  auto r = test::run_command(test::lowbit_bin() + " tokenize " + tmp.path() + " --text x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no tokenizer.json or tokenizer.model"), std::string::npos) << r.out;
  test::write_bytes(tmp.file("tokenizer.json"), "{\"model\": [");
  r = test::run_command(test::lowbit_bin() + " tokenize " + tmp.path() + " --text x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("tokenizer.json: invalid JSON"), std::string::npos) << r.out;
  SKIP_WITHOUT_SHARED_TOKENIZERS();
  r = test::run_command(test::lowbit_bin() + " detokenize " + toktest::tokenizers_dir() + "/gpt2 --ids '1 x'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--ids"), std::string::npos) << r.out;
}

}  // namespace
