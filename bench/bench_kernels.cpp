// Per-kernel throughput: matmul (kernels/matmul.h) of a 4096 x 4096 weight matrix in each
// format that has an integer dot kernel, on each ISA this machine has, single-threaded:
//   Gemv/FMT/ISA   one activation row (decode): bytes/s = weight bytes streamed per second
//   Gemm/FMT/ISA   64 activation rows (a prompt chunk): GFLOP/s in the "flops" counter
//   FMT_R16/ISA    the same on the row-interleaved repacked layout (kernels/repack.h)
// Weights are quantized from N(0, 0.02) once per format.
//   lowbit_bench --benchmark_filter='Gemv|Gemm'
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"
#include "formats/registry.h"
#include "kernels/cpu_features.h"
#include "kernels/dot.h"
#include "kernels/matmul.h"
#include "kernels/repack.h"

namespace {

using namespace lowbit;

constexpr int64_t kRows = 4096, kCols = 4096;

std::vector<float> normal(size_t n, uint32_t seed, float sd) {
  std::vector<float> v(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sd);
  for (float& f : v) f = nd(rng);
  return v;
}

const QMatrix& weights(FormatId id) {
  static std::map<FormatId, std::unique_ptr<QMatrix>> cache;
  auto& m = cache[id];
  if (!m) {
    static const std::vector<float> w = normal(static_cast<size_t>(kRows * kCols), 1, 0.02f);
    m = std::make_unique<QMatrix>();
    m->format = id;
    m->n_rows = kRows;
    m->n_cols = kCols;
    m->row_bytes = format(id).row_bytes(kCols);
    m->owned.resize(m->n_bytes());
    quantize_rows(id, w.data(), m->owned.data(), kRows, kCols);
    m->data = m->owned.data();
  }
  return *m;
}

void run(benchmark::State& state, FormatId id, Isa isa, int m_rows) {
  set_num_threads(1);
  set_active_isa(isa);
  const QMatrix& w = weights(id);
  const std::vector<float> x = normal(static_cast<size_t>(m_rows * kCols), 2, 1.0f);
  std::vector<float> y(static_cast<size_t>(m_rows * kRows));
  for (auto _ : state) {
    matmul(w, x.data(), m_rows, y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.n_bytes()));
  state.counters["flops"] = benchmark::Counter(2.0 * m_rows * kRows * kCols * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
  set_active_isa(best_isa());
}

void run_repacked(benchmark::State& state, FormatId id, int m_rows) {
  static std::map<FormatId, std::unique_ptr<QMatrix>> cache;
  auto& m = cache[id];
  if (!m) {
    const QMatrix& src = weights(id);
    m = std::make_unique<QMatrix>();
    m->format = id;
    m->n_rows = src.n_rows;
    m->n_cols = src.n_cols;
    m->repacked = repack(src);
  }
  set_num_threads(1);
  const std::vector<float> x = normal(static_cast<size_t>(m_rows * kCols), 2, 1.0f);
  std::vector<float> y(static_cast<size_t>(m_rows * kRows));
  for (auto _ : state) {
    matmul(*m, x.data(), m_rows, y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m->n_bytes()));
  state.counters["flops"] = benchmark::Counter(2.0 * m_rows * kRows * kCols * static_cast<double>(state.iterations()),
                                               benchmark::Counter::kIsRate);
}

const bool registered = [] {
  // Row-interleaved repacked kernels (kernels/repack.h) at the best ISA.
  for (FormatId id : {FormatId::Q4_0, FormatId::Q8_0})
    if (const RepackTraits* t = find_repack(id); t && t->for_isa(best_isa()) != t->ref) {
      const std::string tag = std::string(format(id).name) + "_R16/" + std::string(isa_name(best_isa()));
      benchmark::RegisterBenchmark(("Gemv/" + tag).c_str(), run_repacked, id, 1)->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("Gemm/" + tag).c_str(), run_repacked, id, 64)->Unit(benchmark::kMillisecond);
    }
  for (FormatId id : dot_kernel_formats())
    for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
      if (isa > best_isa()) continue;
      // Skip ISAs that would run the same kernel as a lower one (no kernel of their own).
      if (isa != Isa::Ref && find_dot_kernel(id, isa)->isa != isa) continue;
      const std::string tag = std::string(format(id).name) + "/" + std::string(isa_name(isa));
      benchmark::RegisterBenchmark(("Gemv/" + tag).c_str(), run, id, isa, 1)->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("Gemm/" + tag).c_str(), run, id, isa, 64)->Unit(benchmark::kMillisecond);
    }
  return true;
}();

}  // namespace
