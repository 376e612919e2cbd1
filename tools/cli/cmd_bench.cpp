// lowbit bench MODEL [-p 512] [-n 128] [-t 1,2] [-r 3] [--json]
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/threads.h"
#include "eval/bench.h"
#include "model/gguf_loader.h"
#include "model/weights.h"

namespace lowbit::cli {

void register_bench(CLI::App& app) {
  struct Opts {
    std::string model;
    BenchOptions b;
    bool json = false, no_warmup = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("bench", "measure prompt processing (pp) and generation (tg) speed, like llama-bench");
  cmd->footer(
      "ppP: P random token ids in one batched forward from an empty KV cache. tgN: N tokens decoded one at a\n"
      "time from an empty KV cache. Each test: one warm-up run, then -r timed runs; t/s is the median ± the\n"
      "sample standard deviation. Peak RSS is the process's VmHWM (mapped f32 weights count once touched).");
  cmd->add_option("model", o->model, "HF model directory")->required();
  cmd->add_option("-p,--n-prompt", o->b.n_prompt, "prompt tokens for the pp test (0: skip)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-n,--n-gen", o->b.n_gen, "generated tokens for the tg test (0: skip)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", o->b.threads, "thread counts, comma-separated (default: all cores)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_option("-r,--repetitions", o->b.reps, "timed runs per test (default 3)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->b.seed, "seed of the random token ids");
  cmd->add_flag("--no-warmup", o->no_warmup, "skip the warm-up run");
  cmd->add_flag("--json", o->json, "print a JSON array of results");
  cmd->callback([o] {
    o->b.warmup = !o->no_warmup;
    auto weights = std::shared_ptr<const ModelWeights>(load_model_weights(o->model));
    if (!o->json) std::fputs(format_bench_header().c_str(), stdout);
    size_t kv = 0;
    auto results = run_bench(weights, o->model, o->b, [&](const BenchResult& r) {
      kv = std::max(kv, r.kv_cache_bytes);
      if (!o->json) {
        std::fputs(format_bench_row(r).c_str(), stdout);
        std::fflush(stdout);
      }
    });
    if (o->json) {
      std::printf("%s\n", bench_to_json(results).dump(2).c_str());
    } else {
      const int ctx = results.empty() ? 0 : results.front().n_ctx;
      std::printf("\nmodel %s (%s of weights in memory), KV cache %s (%d slots, f32), peak RSS %s\n", o->model.c_str(),
                  format_bytes(weights->n_bytes()).c_str(), format_bytes(kv).c_str(),
                  ctx, format_bytes(peak_rss_bytes()).c_str());
    }
  });
}

}  // namespace lowbit::cli
