#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "test_util.h"

TEST(CliRun, GreedyFromBosPrintsReferenceContinuation) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  std::ifstream f(dir + "/reference_logits.json");
  auto j = nlohmann::json::parse(f);
  const std::string expected = j["greedy_from_bos"]["text"].get<std::string>();
  auto r = test::run_command(test::lowbit_bin() + " run " + dir + " -n 40 --greedy -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, expected + "\n");
}

TEST(CliRun, SeededSamplingRepeats) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  const std::string cmd = test::lowbit_bin() + " run " + dir + " -n 30 --temp 0.9 --top-k 20 --top-p 0.9 --seed 7 -p 'The cat'";
  auto a = test::run_command(cmd), b = test::run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("The cat", 0), 0u) << a.out;
}

TEST(CliRun, MissingModelIsOneLineError) {
  auto r = test::run_command(test::lowbit_bin() + " run /nonexistent/model -n 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << r.out;
}

TEST(Example, EmbedProgramRuns) {
  std::string cmd = std::string(LOWBIT_EMBED_EXAMPLE) + " " + test::source_dir() + "/models/stories260K";
  const std::string shared = test::shared_dir();
  if (!shared.empty()) cmd += " 'Once upon a time' " + shared + "/data/tinystories/tinystories-valid-head-eval.txt";
  auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  if (!shared.empty()) EXPECT_NE(r.out.find("perplexity: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LlamaForCausalLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Once upon a time, there was"), std::string::npos) << r.out;
}
