// Ternary formats TQ1_0 and TQ2_0: ggml's quantize_row_tq{1,2}_0_ref and dequantizers, op for
// op (../shared/specs/gguf.md §4: d = max|x| over the 256 block, t = round(x/d) in {-1,0,1}).
// ggml's quantize_tq*_0 ignore the importance matrix, and so do these.
//
// Non-finite input: ggml would store a NaN/Inf scale; lowbit refuses the row (returns false,
// the registry throws).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/blocks_ternary.h"
#include "formats/families.h"
#include "formats/ggml_scalar.h"

namespace lowbit {
namespace {

using namespace ternary;
using ggml::fp32_to_half;
using ggml::half_to_fp32;

constexpr int kQk = kBlockElems;

// Trit code of x: lroundf(x * id) + 1, i.e. -1, 0, 1 -> 0, 1, 2 (int arithmetic as in C).
inline int trit(float x, float id) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(ggml::lround_like_glibc(x * id)) + 1));
}

// d = max|x| (MAX(amax, |v|)); id = 1/d or 0.
float block_scale(const float* x, float* id) {
  float amax = 0.0f;
  for (int j = 0; j < kQk; ++j) amax = std::max(std::fabs(x[j]), amax);
  *id = amax ? 1.0f / amax : 0.0f;
  return amax;
}

// Base-3 fixed point: n trits (first most significant) times 3^(5-n), then ceil(v*256/243),
// so that the decoder's (uint8)(q * 3^k) * 3 >> 8 reads digit k back. uint8 arithmetic as ggml.
uint8_t pack_trits(const float* x, int stride, int n_trits, float id) {
  uint8_t q = 0;
  for (int n = 0; n < n_trits; ++n) {
    q = static_cast<uint8_t>(q * 3);
    q = static_cast<uint8_t>(q + trit(x[n * stride], id));
  }
  for (int n = n_trits; n < 5; ++n) q = static_cast<uint8_t>(q * 3);  // qh: shift to the top trit
  return static_cast<uint8_t>((static_cast<uint16_t>(q) * 256 + (243 - 1)) / 243);
}

void tq1_0_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    float id;
    BlockTq1_0 b;
    b.d = fp32_to_half(block_scale(x, &id));
    // qs[0..31]: 5 trits each, element 32n+m -> digit n of qs[m]
    for (int m = 0; m < 32; ++m) b.qs[m] = pack_trits(x + m, 32, 5, id);
    x += 5 * 32;
    // qs[32..47]: element 160+16n+m -> digit n of qs[32+m]
    for (int m = 0; m < 16; ++m) b.qs[32 + m] = pack_trits(x + m, 16, 5, id);
    x += 5 * 16;
    // qh[0..3]: 4 trits each, element 240+4n+j -> digit n of qh[j]
    for (int j = 0; j < 4; ++j) b.qh[j] = pack_trits(x + j, 4, 4, id);
    x += 4 * 4;
    std::memcpy(static_cast<uint8_t*>(dst) + i * sizeof(BlockTq1_0), &b, sizeof(b));
  }
}

void tq2_0_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i) {
    float id;
    BlockTq2_0 b;
    b.d = fp32_to_half(block_scale(x, &id));
    for (int j = 0; j < kQk / 4; j += 32) {
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int n = 0; n < 4; ++n) q = static_cast<uint8_t>(q + ((trit(x[m + n * 32], id) & 3) << (2 * n)));
        b.qs[j + m] = q;
      }
      x += 4 * 32;
    }
    std::memcpy(static_cast<uint8_t*>(dst) + i * sizeof(BlockTq2_0), &b, sizeof(b));
  }
}

bool quantize_tq1_0(const float* x, void* dst, int64_t n, const float*) {
  if (!ggml::all_finite(x, n)) return false;
  tq1_0_ref(x, dst, n / kQk);
  return true;
}
bool quantize_tq2_0(const float* x, void* dst, int64_t n, const float*) {
  if (!ggml::all_finite(x, n)) return false;
  tq2_0_ref(x, dst, n / kQk);
  return true;
}

// Digit k of a packed byte: ((uint8)(b * 3^k) * 3) >> 8, minus 1 -> {-1, 0, 1}.
inline float trit_value(uint8_t b, int k, float d) {
  static constexpr uint8_t kPow3[6] = {1, 3, 9, 27, 81, 243};
  const uint8_t q = static_cast<uint8_t>(b * kPow3[k]);
  const int xi = (static_cast<uint16_t>(q) * 3) >> 8;
  return static_cast<float>(xi - 1) * d;
}

void dequantize_tq1_0(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i) {
    BlockTq1_0 b;
    std::memcpy(&b, static_cast<const uint8_t*>(src) + i * sizeof(BlockTq1_0), sizeof(b));
    const float d = half_to_fp32(b.d);
    for (int k = 0; k < 5; ++k)
      for (int m = 0; m < 32; ++m) *y++ = trit_value(b.qs[m], k, d);
    for (int k = 0; k < 5; ++k)
      for (int m = 0; m < 16; ++m) *y++ = trit_value(b.qs[32 + m], k, d);
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 4; ++j) *y++ = trit_value(b.qh[j], k, d);
  }
}

void dequantize_tq2_0(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i) {
    BlockTq2_0 b;
    std::memcpy(&b, static_cast<const uint8_t*>(src) + i * sizeof(BlockTq2_0), sizeof(b));
    const float d = half_to_fp32(b.d);
    for (int j = 0; j < kQk / 4; j += 32)
      for (int l = 0; l < 4; ++l)
        for (int m = 0; m < 32; ++m) *y++ = static_cast<float>(((b.qs[j + m] >> (2 * l)) & 3) - 1) * d;
  }
}

// Ternary codes fit ternary weights, not Gaussians: on N(0,1) rows most values round to 0.
// test_rel_rmse is a no-blow-up bound (measured on N(0,1) rows: 0.80).
constexpr FormatTraits kTernary[] = {
    {FormatId::TQ1_0, "TQ1_0", kQk, sizeof(BlockTq1_0), quantize_tq1_0, dequantize_tq1_0, false, false, 0.9f},
    {FormatId::TQ2_0, "TQ2_0", kQk, sizeof(BlockTq2_0), quantize_tq2_0, dequantize_tq2_0, false, false, 0.9f},
};

}  // namespace

std::span<const FormatTraits> ternary_formats() { return kTernary; }

}  // namespace lowbit
