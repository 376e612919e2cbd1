// Quantize throughput: MB/s of f32 input through quantize_rows (formats/registry.h) for every
// registry type with a quantizer, on a random N(0, 0.02) matrix, 1 and 2 threads, without and
// (for types that use it) with an importance vector.
//   lowbit_bench --benchmark_filter=Quantize
// LOWBIT_BENCH_ROWS (default 1024) x 4096 columns; 4096 rows is the full 4096x4096 matrix.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"
#include "formats/registry.h"

namespace {

constexpr int64_t kCols = 4096;

int64_t n_rows() {
  const char* e = std::getenv("LOWBIT_BENCH_ROWS");
  const long v = e ? std::strtol(e, nullptr, 10) : 0;
  return v > 0 ? v : 1024;
}

const std::vector<float>& input() {
  static const std::vector<float> x = [] {
    std::vector<float> v(static_cast<size_t>(n_rows() * kCols));
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    for (float& f : v) f = nd(rng);
    return v;
  }();
  return x;
}

const std::vector<float>& importance() {
  static const std::vector<float> w = [] {
    std::vector<float> v(kCols);
    std::mt19937 rng(7);
    std::lognormal_distribution<float> ln(0.0f, 1.0f);
    for (float& f : v) f = ln(rng);
    return v;
  }();
  return w;
}

void bm_quantize(benchmark::State& state, lowbit::FormatId id, bool with_importance) {
  const int threads = static_cast<int>(state.range(0));
  lowbit::set_num_threads(threads);
  const lowbit::FormatTraits& f = lowbit::format(id);
  const std::vector<float>& x = input();
  const int64_t rows = n_rows();
  std::vector<uint8_t> out(f.row_bytes(kCols) * static_cast<size_t>(rows));
  const float* w = with_importance ? importance().data() : nullptr;
  for (auto _ : state) {
    lowbit::quantize_rows(id, x.data(), out.data(), rows, kCols, w);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * kCols * static_cast<int64_t>(sizeof(float)));
  state.counters["threads"] = threads;
  lowbit::set_num_threads(0);
}

const bool registered = [] {
  for (const lowbit::FormatTraits& f : lowbit::all_formats()) {
    if (!f.quantize || kCols % f.block_elems != 0) continue;
    for (bool imat : {false, true}) {
      if (imat && !f.uses_importance) continue;
      if (!imat && f.requires_importance) continue;
      const std::string name = "Quantize/" + std::string(f.name) + (imat ? "/imatrix" : "");
      benchmark::RegisterBenchmark(name.c_str(), bm_quantize, f.id, imat)
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return true;
}();

}  // namespace
