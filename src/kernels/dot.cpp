#include "kernels/dot.h"

#include <vector>

namespace lowbit {

const DotKernel* find_dot_kernel(FormatId weight, Isa isa) {
  // Copies tagged with their ISA, built once.
  static const std::vector<DotKernel> all = [] {
    std::vector<DotKernel> v;
    const DotKernel* tables[] = {dot_kernels_ref(), dot_kernels_avx2(), dot_kernels_avx512()};
    for (int level = 0; level < 3; ++level)
      for (const DotKernel* k = tables[level]; k && k->fn; ++k) {
        DotKernel t = *k;
        t.isa = static_cast<Isa>(level);
        v.push_back(t);
      }
    return v;
  }();
  const DotKernel* best = nullptr;
  for (const DotKernel& k : all)
    if (k.weight == weight && k.isa <= isa && (!best || k.isa > best->isa)) best = &k;
  return best;
}

}  // namespace lowbit
