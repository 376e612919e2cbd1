// Integer dot products of one weight row (in its block format) with one activation row
// quantized on the fly to the paired 8-bit format (Q8_0 for 32-element types, as ggml pairs
// them). One table of kernels per ISA; every optimized kernel has a scalar reference in
// kernels/ref/ that tests compare it with.
#pragma once
#include <cstdint>
#include <vector>

#include "formats/registry.h"
#include "kernels/cpu_features.h"

namespace lowbit {

// s = sum over the n_elems of row w (weight format) and row a (activation format).
using VecDotFn = float (*)(int64_t n_elems, const void* w, const void* a);

struct DotKernel {
  FormatId weight;
  FormatId act;  // how activations are quantized for this kernel
  VecDotFn fn;
  Isa isa = Isa::Ref;  // which table it came from (set by find_dot_kernel's tables)
};

// The kernel for a weight format at an ISA (falling back to lower ISAs); nullptr if the
// format has no integer kernel (the caller uses the dequantize-and-BLAS path).
const DotKernel* find_dot_kernel(FormatId weight, Isa isa);
// Every weight format with a reference (scalar) kernel: the ones the kernel tests cover.
std::vector<FormatId> dot_kernel_formats();

// Per-ISA tables (defined in ref/ and x86/); nullptr-terminated by fn == nullptr.
const DotKernel* dot_kernels_ref();
const DotKernel* dot_kernels_avx2();
const DotKernel* dot_kernels_avx512();
const DotKernel* group_int_dot_kernels_avx2();  // formats/blocks_group.h layouts
const DotKernel* dot_k_kernels_avx2();          // K-quants (kernels/x86/dot_k_avx2.cpp)

}  // namespace lowbit
