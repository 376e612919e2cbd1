// Memory-bandwidth probe, STREAM-like: the ceiling for decode, where every weight byte streams
// from memory once per token. Arrays of 3 x 256 MiB (far beyond any cache), OpenMP static split
// as STREAM does, at 1 and 2 threads:
//   Triad  a[i] = b[i] + s * c[i]   bytes = 3 x 256 MiB per pass (STREAM counts 3 arrays)
//   Read   sum += a[i]              bytes = 256 MiB per pass (what a GEMV does with weights)
//   lowbit_bench --benchmark_filter=MemBw
#include <benchmark/benchmark.h>
#include <omp.h>

#include <vector>

namespace {

constexpr size_t kElems = (256u << 20) / sizeof(float);

struct Arrays {
  std::vector<float> a, b, c;
  Arrays() : a(kElems), b(kElems), c(kElems) {
#pragma omp parallel for schedule(static)  // first touch by the threads that use them
    for (size_t i = 0; i < kElems; ++i) {
      a[i] = 1.0f;
      b[i] = 2.0f;
      c[i] = 0.5f;
    }
  }
};

Arrays& arrays() {
  static Arrays x;
  return x;
}

void BM_MemBwTriad(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  Arrays& x = arrays();
  float* a = x.a.data();
  const float* b = x.b.data();
  const float* c = x.c.data();
  for (auto _ : state) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (size_t i = 0; i < kElems; ++i) a[i] = b[i] + 0.5f * c[i];
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 3 * kElems * sizeof(float));
}

void BM_MemBwRead(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const float* a = arrays().a.data();
  for (auto _ : state) {
    float sum = 0.0f;
#pragma omp parallel for simd schedule(static) num_threads(threads) reduction(+ : sum)  // simd: reassociate
    for (size_t i = 0; i < kElems; ++i) sum += a[i];
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kElems * sizeof(float));
}

}  // namespace

BENCHMARK(BM_MemBwTriad)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
BENCHMARK(BM_MemBwRead)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
