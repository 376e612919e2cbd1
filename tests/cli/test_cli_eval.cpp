// `lowbit eval` end to end: runs the built binary (LOWBIT_BINARY).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "../test_util.h"

namespace {

struct RunResult {
  int status = -1;
  std::string out;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs the binary with args; stdout (and stderr when merge) captured.
RunResult run_lowbit(const std::string& args, bool merge_stderr = true) {
  const std::string cmd = quote(LOWBIT_BINARY) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null");
  RunResult r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string model_dir() { return test::source_dir() + "/models/stories260K"; }

std::string eval_text() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/data/tinystories/tinystories-valid-head-eval.txt";
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST(CliEval, TwoChunks) {
  const std::string text = eval_text();
  if (text.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  const RunResult r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(text) + " --max-chunks 2 --quiet -t 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("PPL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 chunks of 512"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1022 tokens"), std::string::npos) << r.out;  // scored
}

TEST(CliEval, JsonSaveAndSelfKl) {
  const std::string text = eval_text();
  if (text.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  test::TempDir dir("lowbit-cli-eval");
  const std::string base = dir.file("base.lplp");
  RunResult r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(text) +
                               " --max-chunks 2 --quiet --json -t 1 --save-logits " + quote(base),
                           false);
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["chunks"], 2);
  EXPECT_EQ(j["scored_tokens"], 1022);
  EXPECT_EQ(j["protocol"], "hf");
  // --kl-base takes ctx, protocol and the chunk count from the file.
  r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(text) + " --quiet --json -t 1 --kl-base " + quote(base),
                 false);
  ASSERT_EQ(r.status, 0) << r.out;
  auto k = nlohmann::json::parse(r.out);
  EXPECT_EQ(k["chunks"], 2);
  EXPECT_LT(k["kl"]["mean"].get<double>(), 1e-6);
  EXPECT_DOUBLE_EQ(k["kl"]["top1_pct"].get<double>(), 100.0);
  EXPECT_NEAR(k["kl"]["base_ppl"].get<double>(), j["ppl"].get<double>(), 1e-5);
  // Explicitly different settings are refused, naming the file.
  r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(text) + " --quiet --ctx 256 --kl-base " + quote(base));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(base), std::string::npos) << r.out;
}

TEST(CliEval, BadTextPathIsOneLineNamingTheFile) {
  test::TempDir dir("lowbit-cli-eval");
  const std::string missing = dir.file("no-such-text.txt");
  const RunResult r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(missing) + " --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(missing), std::string::npos) << r.out;
}

TEST(CliEval, TooShortTextAndCorruptBaseFile) {
  test::TempDir dir("lowbit-cli-eval");
  const std::string tiny = dir.file("tiny.txt");
  test::write_bytes(tiny, "Once upon a time.");
  RunResult r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(tiny) + " --quiet");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(tiny), std::string::npos) << r.out;

  const std::string junk = dir.file("junk.lplp");
  test::write_bytes(junk, std::string(100, 'x'));
  r = run_lowbit("eval " + quote(model_dir()) + " --text " + quote(tiny) + " --quiet --kl-base " + quote(junk));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(count_lines(r.out), 1) << r.out;
  EXPECT_NE(r.out.find(junk), std::string::npos) << r.out;
}
