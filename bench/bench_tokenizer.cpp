// Tokenizer throughput: MB/s of ../shared/data/wikitext-2-raw/wiki.test.raw (1.29 MB) encoded
// as one string on one thread, for each tokenizer of ../shared/tokenizers (tokenizer.json
// through lowbit's implementation; llama2's tokenizer.model through libsentencepiece).
//   lowbit_bench --benchmark_filter=Tokenize
// "cold" clears the BPE word cache before every pass (one pass over a new corpus);
// "warm" keeps it (the same text again). LOWBIT_SHARED_DIR overrides the shared folder.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "model/tokenizer.h"
#include "model/tokenizer_json/hf_tokenizer.h"

namespace {

std::string shared_dir() {
  if (const char* e = std::getenv("LOWBIT_SHARED_DIR"); e && *e) return e;
#ifdef LOWBIT_BENCH_SHARED_DIR
  return LOWBIT_BENCH_SHARED_DIR;
#else
  return "../shared";
#endif
}

const std::string& corpus() {
  static const std::string text = [] {
    std::ifstream f(shared_dir() + "/data/wikitext-2-raw/wiki.test.raw", std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }();
  return text;
}

const lowbit::Tokenizer* tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<lowbit::Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    const std::string dir = shared_dir() + "/tokenizers/" + name;
    if (!std::filesystem::exists(dir)) return nullptr;
    slot = lowbit::load_tokenizer(dir);
  }
  return slot.get();
}

void bm_tokenize(benchmark::State& state, const std::string& name, bool cold) {
  const lowbit::Tokenizer* tok = tokenizer(name);
  const std::string& text = corpus();
  if (!tok || text.empty()) {
    state.SkipWithError("../shared tokenizers or wikitext not found (set LOWBIT_SHARED_DIR)");
    return;
  }
  const auto* hf = dynamic_cast<const lowbit::HfTokenizer*>(tok);
  size_t n_tokens = 0;
  for (auto _ : state) {
    if (cold && hf) {
      state.PauseTiming();
      hf->model().clear_cache();
      state.ResumeTiming();
    }
    auto ids = tok->encode(text, false);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(n_tokens);
}

void register_all() {
  for (const char* name : {"llama3", "qwen3", "mistral", "gpt2", "llama2"}) {
    benchmark::RegisterBenchmark((std::string("Tokenize/") + name + "/cold").c_str(), bm_tokenize, name, true)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(2.0);
    if (std::string(name) != "llama2")
      benchmark::RegisterBenchmark((std::string("Tokenize/") + name + "/warm").c_str(), bm_tokenize, name, false)
          ->Unit(benchmark::kMillisecond)
          ->MinTime(2.0);
  }
}

const int registered = (register_all(), 0);

}  // namespace
