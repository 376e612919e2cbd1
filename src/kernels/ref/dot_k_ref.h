// Scalar K-quant x Q8_K dot products (the reference the SIMD kernels are tested against).
#pragma once
#include <cstdint>

namespace lowbit::ref {

float dot_q4_K_q8_K(int64_t n_elems, const void* w, const void* a);
float dot_q6_K_q8_K(int64_t n_elems, const void* w, const void* a);
// Q4_K/Q5_K 6-bit sub-block scale and min j (0..7) from the 12 packed bytes.
void q4k_scale_min(const uint8_t* scales, int j, int* sc, int* mn);

}  // namespace lowbit::ref
