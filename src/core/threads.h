// Thread count for the whole process: OpenMP regions and the BLAS library.
#pragma once

namespace lowbit {

// n <= 0 means default_threads().
int default_threads();
void set_num_threads(int n);
int num_threads();
int hardware_threads();

}  // namespace lowbit
