// Speed of the forward pass, measured like llama-bench:
//   pp<P>: a prompt of P random token ids in one batched forward from an empty KV cache;
//   tg<N>: N tokens decoded one at a time from an empty KV cache.
// For each thread count: one warm-up run of each test, then `reps` timed runs; t/s per run
// is tokens / seconds, reported as median, mean, stddev (sample), min and max. Token ids
// come from a fixed seed, uniform in [0, vocab). Peak RSS is the process's VmHWM after the
// test (weights mapped from disk count once touched).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/weights.h"

namespace lowbit {

struct BenchOptions {
  int n_prompt = 512;          // 0: skip pp
  int n_gen = 128;             // 0: skip tg
  std::vector<int> threads;    // empty: all hardware threads
  int reps = 3;
  bool warmup = true;
  uint64_t seed = 1234;
  int max_batch = 512;         // Transformer's batch (llama-bench's n_ubatch)
};

struct BenchResult {
  std::string model;           // display name (directory name)
  std::string model_path;
  size_t model_bytes = 0;      // weight bytes as the runtime holds them (ModelWeights::n_bytes)
  int64_t n_params = 0;
  std::string test;            // "pp512", "tg128"
  int n_prompt = 0, n_gen = 0;
  int threads = 0;
  int reps = 0;
  int n_ctx = 0;               // KV cache slots (n_prompt + n_gen)
  int n_batch = 0;
  size_t kv_cache_bytes = 0;
  size_t peak_rss_bytes = 0;   // VmHWM after this test
  std::vector<double> samples_s;   // seconds per run
  std::vector<double> samples_ts;  // tokens/s per run
  double median_ts = 0, mean_ts = 0, stddev_ts = 0, min_ts = 0, max_ts = 0;
};

// Runs every (thread count, test). on_result (optional) is called as each result completes.
std::vector<BenchResult> run_bench(std::shared_ptr<const ModelWeights> weights, const std::string& model_path,
                                   const BenchOptions& o,
                                   const std::function<void(const BenchResult&)>& on_result = nullptr);

// "| model | size | params | threads | test | t/s |" (markdown, as llama-bench prints it);
// t/s is "median ± stddev".
std::string format_bench_table(const std::vector<BenchResult>& results);
std::string format_bench_header();
std::string format_bench_row(const BenchResult& r);
nlohmann::json bench_to_json(const std::vector<BenchResult>& results);

// Fills median/mean/stddev/min/max from samples_ts.
void bench_summarize(BenchResult& r);

}  // namespace lowbit
