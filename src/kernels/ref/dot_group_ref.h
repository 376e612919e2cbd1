// Scalar group-int x Q8_0 dot products (formats/blocks_group.h): the reference the SIMD
// kernels are tested against.
#pragma once
#include <cstdint>

#include "kernels/dot.h"

namespace lowbit::ref {

// Numerics: per 32-element sub-block, exact integer sums  S_qa = sum q*a  and  S_a = sum a
// (a: the Q8_0 activation codes), then  d_a * (S_qa - z * S_a)  summed over the group and
// times the group scale d.  Equals  sum_i d*(q_i - z) * d_a*a_i  up to float rounding.
template <int Bits, int Group>
float dot_group_q8_0(int64_t n_elems, const void* w, const void* a);

// The kernels for every group-int format, to append to the reference table.
const DotKernel* group_int_dot_kernels_ref();

}  // namespace lowbit::ref
