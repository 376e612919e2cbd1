#include "core/threads.h"

#include <omp.h>

#include <cstdlib>
#include <thread>

extern "C" void openblas_set_num_threads(int num_threads);

namespace lowbit {
namespace {
int g_threads = 0;
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

// The default thread count: LOWBIT_NUM_THREADS, else OMP_NUM_THREADS, else every core. Tests
// run with OMP_NUM_THREADS=1 so parallel test processes do not oversubscribe the cores
// (OpenMP workers spin while they wait, which collapses throughput on shared cores).
int default_threads() {
  for (const char* var : {"LOWBIT_NUM_THREADS", "OMP_NUM_THREADS"})
    if (const char* e = std::getenv(var)) {
      const int n = std::atoi(e);
      if (n > 0) return n;
    }
  return hardware_threads();
}

void set_num_threads(int n) {
  if (n <= 0) n = default_threads();
  g_threads = n;
  omp_set_num_threads(n);
  // BLAS runs single-threaded inside our OpenMP regions (see model/ops.cpp).
  openblas_set_num_threads(1);
}

int num_threads() { return g_threads > 0 ? g_threads : default_threads(); }

}  // namespace lowbit
