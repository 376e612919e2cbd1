// lowbit bench: the measuring library and the CLI's JSON on stories260K.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"
#include "core/memory.h"
#include "eval/bench.h"
#include "model/weights.h"

namespace {
std::string stories() { return test::source_dir() + "/models/stories260K"; }
}  // namespace

TEST(Memory, PeakRss) {
  const size_t cur = lowbit::current_rss_bytes();  // first: the peak read after it is >= it
  const size_t peak = lowbit::peak_rss_bytes();
  EXPECT_GT(cur, 0u);
  EXPECT_GE(peak, cur);
  EXPECT_EQ(lowbit::format_bytes(512), "512 B");
  EXPECT_EQ(lowbit::format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(lowbit::format_bytes(size_t{3} << 30), "3.00 GiB");
}

TEST(Bench, Summarize) {
  lowbit::BenchResult r;
  r.samples_ts = {10, 30, 20};
  lowbit::bench_summarize(r);
  EXPECT_DOUBLE_EQ(r.median_ts, 20);
  EXPECT_DOUBLE_EQ(r.mean_ts, 20);
  EXPECT_DOUBLE_EQ(r.stddev_ts, 10);
  EXPECT_DOUBLE_EQ(r.min_ts, 10);
  EXPECT_DOUBLE_EQ(r.max_ts, 30);
  r.samples_ts = {4, 1};
  lowbit::bench_summarize(r);
  EXPECT_DOUBLE_EQ(r.median_ts, 2.5);
}

TEST(Bench, LibraryRun) {
  auto w = std::shared_ptr<const lowbit::ModelWeights>(lowbit::load_hf_weights(stories()));
  lowbit::BenchOptions o;
  o.n_prompt = 8;
  o.n_gen = 3;
  o.threads = {1, 2};
  o.reps = 2;
  int called = 0;
  auto res = lowbit::run_bench(w, stories(), o, [&](const lowbit::BenchResult&) { ++called; });
  ASSERT_EQ(res.size(), 4u);
  EXPECT_EQ(called, 4);
  EXPECT_EQ(res[0].test, "pp8");
  EXPECT_EQ(res[1].test, "tg3");
  EXPECT_EQ(res[2].threads, 2);
  for (const auto& r : res) {
    EXPECT_EQ(r.samples_ts.size(), 2u);
    EXPECT_GT(r.median_ts, 0);
    EXPECT_EQ(r.n_params, 260032);
    EXPECT_EQ(r.model, "stories260K");
    EXPECT_EQ(r.n_ctx, 11);
    EXPECT_EQ(r.kv_cache_bytes, size_t{2} * 5 * 11 * 32 * 4);  // k+v, layers, slots, kv_dim, f32
  }
  const std::string table = lowbit::format_bench_table(res);
  EXPECT_NE(table.find("| model"), std::string::npos);
  EXPECT_NE(table.find("pp8"), std::string::npos);
  EXPECT_NE(table.find("tg3"), std::string::npos);

  o.n_prompt = 0;  // skip pp
  o.threads = {1};
  o.reps = 1;
  res = lowbit::run_bench(w, stories(), o);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].test, "tg3");
}

TEST(BenchCli, JsonOnStories260K) {
  test::TempDir tmp("lowbit-bench");
  const std::string cmd = std::string(LOWBIT_BINARY) + " bench " + stories() + " -p 16 -n 4 -r 1 -t 1 --json 2>" +
                          tmp.file("err.txt");
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["test"], "pp16");
  EXPECT_EQ(j[1]["test"], "tg4");
  for (const auto& r : j) {
    for (const char* key : {"model", "model_size", "model_n_params", "n_threads", "n_prompt", "n_gen", "median_ts",
                            "avg_ts", "stddev_ts", "min_ts", "max_ts", "samples_ts", "samples_ns", "kv_cache_bytes",
                            "peak_rss_bytes"})
      EXPECT_TRUE(r.contains(key)) << key;
    EXPECT_EQ(r["model_n_params"], 260032);
    EXPECT_EQ(r["model_size"], 260032 * 4);
    EXPECT_EQ(r["n_threads"], 1);
    EXPECT_GT(r["median_ts"].get<double>(), 0);
    EXPECT_GT(r["peak_rss_bytes"].get<size_t>(), 0u);
    EXPECT_EQ(r["samples_ts"].size(), 1u);
  }
}
