// AVX-512 (VNNI) dot products: none yet; find_dot_kernel falls back to the AVX2 table.
#include "kernels/dot.h"

namespace lowbit {
namespace {
const DotKernel kAvx512[] = {{FormatId::F32, FormatId::F32, nullptr}};
}
const DotKernel* dot_kernels_avx512() { return kAvx512; }
}  // namespace lowbit
