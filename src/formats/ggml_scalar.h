// Scalar conventions of ggml's reference quantizers (ggml-impl.h, ggml-quants.c) that the
// legacy, ternary and MX blocks need to be byte-identical with llama.cpp
// (../shared/specs/gguf.md §3-§5), written without undefined behaviour.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/convert.h"

namespace lowbit::ggml {

// GGML_FP32_TO_FP16: ggml's portable conversion (ggml_compute_fp32_to_fp16) is RNE like
// core's, but turns every NaN into sign | 0x7E00 instead of keeping payload bits.
inline uint16_t fp32_to_half(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(((bits >> 16) & 0x8000u) | 0x7E00u);
  return f32_to_f16(f);
}
inline float half_to_fp32(uint16_t h) { return f16_to_f32(h); }

// GGML_E8M0_TO_FP32_HALF: 2^(e-128), i.e. half the E8M0 scale, because ggml's MXFP4 table
// holds doubled E2M1 values. e < 2 gives the f32 subnormals 2^-128 and 2^-127.
inline float e8m0_to_fp32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e - 1) << 23);
  return std::bit_cast<float>(bits);
}

// C's float -> int conversion as x86-64 executes it (cvttss2si): truncation toward zero,
// and 0x80000000 ("integer indefinite") for NaN or out-of-range values. ggml casts floats
// straight to int8_t/uint8_t, which compiles to this followed by keeping the low byte; the
// helpers below reproduce that bit pattern without C++'s undefined behaviour, so inputs that
// would overflow (e.g. a subnormal block maximum, whose inverse scale is Inf) give the same
// bytes as llama.cpp on x86 rather than a crash or a sanitizer report.
inline int32_t trunc_to_i32(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}
inline int8_t trunc_to_i8(float v) { return static_cast<int8_t>(static_cast<uint8_t>(trunc_to_i32(v) & 0xFF)); }
inline uint8_t trunc_to_u8(float v) { return static_cast<uint8_t>(trunc_to_i32(v) & 0xFF); }

// lroundf as glibc on x86-64 does it: half away from zero; LONG_MIN for NaN/out of range.
inline int64_t lround_like_glibc(float v) {
  if (!(v > -9.2233715e18f && v < 9.2233715e18f)) return INT64_MIN;
  return static_cast<int64_t>(std::lround(static_cast<double>(v)));
}

// Every element finite (the integer formats refuse rows with NaN/Inf: see legacy_quants.cpp).
inline bool all_finite(const float* x, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

}  // namespace lowbit::ggml
