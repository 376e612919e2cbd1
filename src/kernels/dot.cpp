#include "kernels/dot.h"

#include <utility>
#include <vector>

#include "kernels/ref/dot_group_ref.h"

namespace lowbit {

const DotKernel* find_dot_kernel(FormatId weight, Isa isa) {
  // Copies tagged with their ISA, built once.
  static const std::vector<DotKernel> all = [] {
    const std::pair<const DotKernel*, Isa> tables[] = {
        {dot_kernels_ref(), Isa::Ref},           {ref::group_int_dot_kernels_ref(), Isa::Ref},
        {dot_kernels_avx2(), Isa::Avx2},         {group_int_dot_kernels_avx2(), Isa::Avx2},
        {dot_k_kernels_avx2(), Isa::Avx2},
        {dot_kernels_avx512(), Isa::Avx512},
    };
    std::vector<DotKernel> v;
    for (const auto& [table, isa] : tables)
      for (const DotKernel* k = table; k && k->fn; ++k) {
        DotKernel t = *k;
        t.isa = isa;
        v.push_back(t);
      }
    return v;
  }();
  const DotKernel* best = nullptr;
  for (const DotKernel& k : all)
    if (k.weight == weight && k.isa <= isa && (!best || k.isa > best->isa)) best = &k;
  return best;
}

std::vector<FormatId> dot_kernel_formats() {
  std::vector<FormatId> v;
  for (const DotKernel* table : {dot_kernels_ref(), ref::group_int_dot_kernels_ref()})
    for (const DotKernel* k = table; k->fn; ++k) v.push_back(k->weight);
  return v;
}

}  // namespace lowbit
