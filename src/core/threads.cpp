#include "core/threads.h"

#include <omp.h>

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

void set_num_threads(int n) {
  if (n <= 0) n = hardware_threads();
  g_threads = n;
  omp_set_num_threads(n);
  // BLAS runs single-threaded inside our OpenMP regions (see model/ops.cpp).
  openblas_set_num_threads(1);
}

int num_threads() { return g_threads > 0 ? g_threads : hardware_threads(); }

}  // namespace lowbit
