// AutoAWQ's quantization grid for one group (pseudo_quantize_tensor, awq.md §1), shared by
// the scale search, the clip search and the final quantization. Internal to algorithms/.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "algorithms/awq.h"

namespace lowbit::awq_detail {

// f16_to_f32(f32_to_f16(v)) without leaving fp32: round to 11 significant bits (RNE) in the
// fp16 normal range, to multiples of 2^-24 below it, overflow to inf past 65504. Inline and
// branch-light because the searches call it billions of times; tests check it against the
// conversion.
inline float round_to_f16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  const uint32_t sign = u & 0x80000000u, a = u & 0x7FFFFFFFu;
  if (a >= 0x7F800000u) return v;  // inf, NaN
  uint32_t r;
  if (a >= 0x38800000u) {  // |v| >= 2^-14
    r = (a + 0x0FFFu + ((a >> 13) & 1u)) & ~0x1FFFu;
    if (r > 0x477FE000u) r = 0x7F800000u;  // beyond 65504 after rounding: inf
  } else {
    float m;
    std::memcpy(&m, &a, sizeof m);
    m = std::nearbyint(m * 16777216.0f) * (1.0f / 16777216.0f);  // subnormal quantum 2^-24
    std::memcpy(&r, &m, sizeof r);
  }
  r |= sign;
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// Round an f32 to the nearest fp16 value (RNE), or leave it in fp32 mode. An fp32 result of
// one +,-,*,/ on fp16 inputs rounded to fp16 is the correctly rounded fp16 result (24 >= 2*11+2
// bits), which is how torch computes fp16 ops on the CPU.
inline float r16(float v, bool fp16) { return fp16 ? round_to_f16(v) : v; }

struct GroupGrid {
  float scale = 1.0f;
  float zero = 0.0f;  // integer-valued; 2^(b-1) for zero_point=false
};

// Parameters of one group of n values w (already fp16 values in fp16 mode).
inline GroupGrid group_grid(const float* w, int64_t n, const AwqOptions& opt) {
  const bool h = opt.fp16;
  GroupGrid g;
  if (opt.zero_point) {
    float mx = w[0], mn = w[0];
    for (int64_t i = 1; i < n; ++i) {
      mx = std::max(mx, w[i]);
      mn = std::min(mn, w[i]);
    }
    const float max_int = static_cast<float>((1 << opt.bits) - 1);
    // scales = (max - min).clamp(min=1e-5) / max_int
    g.scale = r16(r16(std::max(r16(mx - mn, h), 1e-5f), h) / max_int, h);
    // zeros = (-round(min / scales)).clamp(0, max_int)
    const float z = -std::nearbyint(r16(mn / g.scale, h));
    g.zero = std::min(std::max(z, 0.0f), max_int) + 0.0f;  // + 0: no -0 zero points
  } else {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(w[i]));
    const float max_int = static_cast<float>((1 << (opt.bits - 1)) - 1);
    g.scale = r16(r16(std::max(amax, 1e-5f), h) / max_int, h);
    g.zero = static_cast<float>(1 << (opt.bits - 1));
  }
  return g;
}

// Code in [0, 2^bits) (QuantizedLinear convention) and the fake-quantized value.
inline uint8_t group_code(float w, const GroupGrid& g, const AwqOptions& opt, float* w_hat) {
  const bool h = opt.fp16;
  const float r = std::nearbyint(r16(w / g.scale, h));
  if (opt.zero_point) {
    const float max_int = static_cast<float>((1 << opt.bits) - 1);
    const float q = std::min(std::max(r + g.zero, 0.0f), max_int);
    if (w_hat) *w_hat = r16((q - g.zero) * g.scale, h);
    return static_cast<uint8_t>(q);
  }
  const float lo = -g.zero, hi = g.zero - 1.0f;
  const float q = std::min(std::max(r, lo), hi);
  if (w_hat) *w_hat = r16(q * g.scale, h);
  return static_cast<uint8_t>(q + g.zero);
}

// Fake-quantize n values in place (group already fp16 values in fp16 mode).
inline void fake_quant_group(float* w, int64_t n, const AwqOptions& opt) {
  const GroupGrid g = group_grid(w, n, opt);
  for (int64_t i = 0; i < n; ++i) group_code(w[i], g, opt, &w[i]);
}

void check_options(const AwqOptions& opt, int64_t n_in);
inline int64_t group_len(const AwqOptions& opt, int64_t n_in) { return opt.group_size > 0 ? opt.group_size : n_in; }

}  // namespace lowbit::awq_detail
