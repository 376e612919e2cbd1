#include "eval/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "core/error.h"
#include "core/memory.h"
#include "core/progress.h"
#include "core/threads.h"
#include "model/transformer.h"

namespace lowbit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string params_str(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.2f} K", n / 1e3);
  return std::to_string(n);
}

std::string model_name(const std::string& path) {
  std::filesystem::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // trailing slash
  std::string name = p.filename().string();
  if (name.empty() || name == ".") name = std::filesystem::absolute(p).lexically_normal().filename().string();
  return name.empty() ? path : name;
}

}  // namespace

void bench_summarize(BenchResult& r) {
  const auto& s = r.samples_ts;
  if (s.empty()) return;
  std::vector<double> v = s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  r.median_ts = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  r.min_ts = v.front();
  r.max_ts = v.back();
  r.mean_ts = std::accumulate(v.begin(), v.end(), 0.0) / n;
  double ss = 0;
  for (double x : v) ss += (x - r.mean_ts) * (x - r.mean_ts);
  r.stddev_ts = n > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
}

std::vector<BenchResult> run_bench(std::shared_ptr<const ModelWeights> w, const std::string& model_path,
                                   const BenchOptions& o, const std::function<void(const BenchResult&)>& on_result) {
  if (!w) fail(model_path, "no weights");
  if (o.n_prompt < 0 || o.n_gen < 0) fail("", "bench: -p and -n must be non-negative");
  if (o.n_prompt == 0 && o.n_gen == 0) fail("", "bench: nothing to measure (-p 0 and -n 0)");
  if (o.reps < 1) fail("-r", "repetitions must be at least 1");
  const ModelConfig& c = w->config;
  const int n_ctx = o.n_prompt + o.n_gen;
  Transformer model(w, n_ctx, o.max_batch);

  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> dist(0, c.vocab_size - 1);
  std::vector<int32_t> prompt(o.n_prompt), gen(o.n_gen);
  for (auto& t : prompt) t = dist(rng);
  for (auto& t : gen) t = dist(rng);
  std::vector<float> logits(c.vocab_size);

  auto run_pp = [&] {
    model.reset();
    const auto t0 = Clock::now();
    model.forward(prompt.data(), nullptr, o.n_prompt, logits.data(), false);
    return seconds_since(t0);
  };
  auto run_tg = [&] {
    model.reset();
    const auto t0 = Clock::now();
    for (int i = 0; i < o.n_gen; ++i) model.forward(&gen[i], nullptr, 1, logits.data(), false);
    return seconds_since(t0);
  };

  std::vector<int> threads = o.threads;
  if (threads.empty()) threads.push_back(hardware_threads());
  const int prev_threads = num_threads();
  std::vector<BenchResult> results;
  for (int nt : threads) {
    if (nt < 1) fail("-t", "thread counts must be at least 1");
    set_num_threads(nt);
    for (int kind = 0; kind < 2; ++kind) {
      const int n_tok = kind == 0 ? o.n_prompt : o.n_gen;
      if (n_tok == 0) continue;
      BenchResult r;
      r.model = model_name(model_path);
      r.model_path = model_path;
      r.model_bytes = w->n_bytes();
      r.n_params = static_cast<int64_t>(w->n_params);
      r.test = (kind == 0 ? "pp" : "tg") + std::to_string(n_tok);
      r.n_prompt = kind == 0 ? o.n_prompt : 0;
      r.n_gen = kind == 0 ? 0 : o.n_gen;
      r.threads = nt;
      r.reps = o.reps;
      r.n_ctx = n_ctx;
      r.n_batch = o.max_batch;
      r.kv_cache_bytes = model.kv_cache_n_bytes();
      auto run = [&] { return kind == 0 ? run_pp() : run_tg(); };
      Progress progress(fmt::format("bench {} t={}", r.test, nt), o.reps + (o.warmup ? 1 : 0));
      if (o.warmup) {
        progress.update(0, "warm-up");
        run();
      }
      for (int rep = 0; rep < o.reps; ++rep) {
        progress.update(rep + (o.warmup ? 1 : 0), "run " + std::to_string(rep + 1));
        const double s = run();
        r.samples_s.push_back(s);
        r.samples_ts.push_back(n_tok / std::max(s, 1e-12));
      }
      progress.finish();
      bench_summarize(r);
      r.peak_rss_bytes = peak_rss_bytes();
      if (on_result) on_result(r);
      results.push_back(std::move(r));
    }
  }
  set_num_threads(prev_threads);
  model.reset();
  return results;
}

std::string format_bench_header() {
  return fmt::format("| {:<24} | {:>11} | {:>10} | {:>7} | {:>6} | {:>20} |\n", "model", "size", "params", "threads",
                     "test", "t/s") +
         fmt::format("| {:-<24} | {:->11} | {:->10} | {:->7} | {:->6} | {:->20} |\n", "", ":", ":", ":", ":", ":");
}

std::string format_bench_row(const BenchResult& r) {
  return fmt::format("| {:<24} | {:>11} | {:>10} | {:>7} | {:>6} | {:>20} |\n", r.model, format_bytes(r.model_bytes),
                     params_str(r.n_params), r.threads, r.test,
                     fmt::format("{:.2f} ± {:.2f}", r.median_ts, r.stddev_ts));
}

std::string format_bench_table(const std::vector<BenchResult>& results) {
  std::string s = format_bench_header();
  for (const auto& r : results) s += format_bench_row(r);
  return s;
}

nlohmann::json bench_to_json(const std::vector<BenchResult>& results) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : results) {
    std::vector<int64_t> ns;
    for (double s : r.samples_s) ns.push_back(static_cast<int64_t>(std::llround(s * 1e9)));
    a.push_back({{"model", r.model},
                 {"model_path", r.model_path},
                 {"model_size", r.model_bytes},
                 {"model_n_params", r.n_params},
                 {"test", r.test},
                 {"n_prompt", r.n_prompt},
                 {"n_gen", r.n_gen},
                 {"n_threads", r.threads},
                 {"n_ctx", r.n_ctx},
                 {"n_batch", r.n_batch},
                 {"reps", r.reps},
                 {"median_ts", r.median_ts},
                 {"avg_ts", r.mean_ts},
                 {"stddev_ts", r.stddev_ts},
                 {"min_ts", r.min_ts},
                 {"max_ts", r.max_ts},
                 {"samples_ts", r.samples_ts},
                 {"samples_ns", ns},
                 {"kv_cache_bytes", r.kv_cache_bytes},
                 {"peak_rss_bytes", r.peak_rss_bytes}});
  }
  return a;
}

}  // namespace lowbit
