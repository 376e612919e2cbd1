#include "kernels/dot.h"

namespace lowbit {

const DotKernel* find_dot_kernel(FormatId weight, Isa isa) {
  const DotKernel* tables[] = {dot_kernels_ref(), dot_kernels_avx2(), dot_kernels_avx512()};
  for (int level = static_cast<int>(isa); level >= 0; --level)
    for (const DotKernel* k = tables[level]; k && k->fn; ++k)
      if (k->weight == weight) return k;
  return nullptr;
}

}  // namespace lowbit
