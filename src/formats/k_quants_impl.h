// Internals shared by the K-quant files (k_quants*.cpp): the row functions the registry
// entries point at, and the small conventions of ggml-quants.c they all use.
//
// Row functions follow registry.h: quantize one row of n_per_row floats (a multiple of 256)
// with optional per-column importance (llama.cpp's imatrix). Without importance they match
// ggml's quantize_row_qX_K_ref, with it quantize_row_qX_K_impl: exactly what
// ggml_quantize_chunk(type, ...) writes per row. Non-finite input (x or importance) is refused
// (return false) rather than turned into the garbage ggml would write.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

#include "core/convert.h"

namespace lowbit::kq {

// GGML_FP32_TO_FP16 as ggml-base compiles it (ggml_compute_fp32_to_fp16): RNE like core's
// f32_to_f16, but every NaN becomes sign | 0x7E00 (NaN can arise inside the searches from
// finite but huge inputs whose squares overflow).
inline uint16_t to_half(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>(((bits >> 16) & 0x8000u) | 0x7E00u);
  return f32_to_f16(f);
}
inline float from_half(uint16_t h) { return f16_to_f32(h); }

inline bool all_finite(const float* x, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// Q4_K/Q5_K 12-byte scale packing (ggml's get_scale_min_k4): sub-block j < 4 keeps its 6-bit
// scale in scales[j] and min in scales[j+4]; j >= 4 puts the low nibbles in scales[j+4] and the
// top 2 bits in bits 6-7 of scales[j-4] (scale) and scales[j] (min).
inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}
// The inverse, as ggml's quantizers write it (in order j = 0..7, the same statements: codes
// above 63 are not masked, exactly like ggml, so callers clamp where ggml clamps).
void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* scales);

// Q3_K 12-byte scale packing: 16 six-bit codes (0..63, i.e. signed scale + 32); low nibbles of
// codes 0..7 / 8..15 in the low / high nibble of bytes 0..7, top 2 bits of code j in bits
// 2*(j/4) of byte 8 + j%4.
int q3k_scale_code(const uint8_t* scales, int j);  // 0..63

bool quantize_row_q2_k(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_q3_k(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_q4_k(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_q5_k(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_q6_k(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_q8_k(const float* x, void* dst, int64_t n_per_row, const float* importance);

void dequantize_row_q2_k(const void* src, float* y, int64_t n_elems);
void dequantize_row_q3_k(const void* src, float* y, int64_t n_elems);
void dequantize_row_q4_k(const void* src, float* y, int64_t n_elems);
void dequantize_row_q5_k(const void* src, float* y, int64_t n_elems);
void dequantize_row_q6_k(const void* src, float* y, int64_t n_elems);
void dequantize_row_q8_k(const void* src, float* y, int64_t n_elems);

}  // namespace lowbit::kq
