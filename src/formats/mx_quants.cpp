// MXFP4 (ggml type 39): ggml's quantize_row_mxfp4_ref and dequantize_row_mxfp4, op for op
// (../shared/specs/gguf.md §4: e = floor(log2(amax)) - 2 + 127, then the nearest entry of
// the doubled E2M1 table at scale 2^(e-128)). ggml's quantize_mxfp4 ignores the importance
// matrix, and so does this.
//
// Non-finite input: ggml ignores NaN when taking amax and maps Inf to exponent 0; lowbit
// refuses such a row instead (returns false, the registry throws).
#include <cmath>
#include <cstring>

#include "formats/blocks_mx.h"
#include "formats/families.h"
#include "formats/ggml_scalar.h"

namespace lowbit {
namespace {

using namespace mx;

constexpr int kQk = kBlockElems;

// best_index_mxfp4: first table entry with the smallest |k*d - x| (strict <, so +0 beats -0).
int best_index(float x, float d) {
  int best_index = 0;
  float best_err = std::fabs(static_cast<float>(kValuesMxfp4[0]) * d - x);
  for (int i = 1; i < 16; ++i) {
    const float err = std::fabs(static_cast<float>(kValuesMxfp4[i]) * d - x);
    if (err < best_err) {
      best_index = i;
      best_err = err;
    }
  }
  return best_index;
}

void mxfp4_ref(const float* x, void* dst, int64_t n_blocks) {
  for (int64_t i = 0; i < n_blocks; ++i, x += kQk) {
    float amax = 0.0f;
    for (int j = 0; j < kQk; ++j)
      if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
    // (uint8_t)(floorf(log2f(amax)) - 2 + 127): for amax below 2^-125 the value leaves
    // [0, 255] and C's cast wraps it as x86 does (trunc_to_u8); ggml does the same.
    const uint8_t e = amax > 0.0f ? ggml::trunc_to_u8(std::floor(std::log2(amax)) - 2 + 127) : 0;
    const float d = ggml::e8m0_to_fp32_half(e);
    BlockMxfp4 b;
    b.e = e;
    for (int j = 0; j < kQk / 2; ++j)
      b.qs[j] = static_cast<uint8_t>(best_index(x[j], d) | (best_index(x[j + kQk / 2], d) << 4));
    std::memcpy(static_cast<uint8_t*>(dst) + i * sizeof(BlockMxfp4), &b, sizeof(b));
  }
}

bool quantize_mxfp4(const float* x, void* dst, int64_t n, const float*) {
  if (!ggml::all_finite(x, n)) return false;
  mxfp4_ref(x, dst, n / kQk);
  return true;
}

void dequantize_mxfp4(const void* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n / kQk; ++i, y += kQk) {
    BlockMxfp4 b;
    std::memcpy(&b, static_cast<const uint8_t*>(src) + i * sizeof(BlockMxfp4), sizeof(b));
    const float d = ggml::e8m0_to_fp32_half(b.e);
    for (int j = 0; j < kQk / 2; ++j) {
      y[j] = static_cast<float>(kValuesMxfp4[b.qs[j] & 0x0F]) * d;
      y[j + kQk / 2] = static_cast<float>(kValuesMxfp4[b.qs[j] >> 4]) * d;
    }
  }
}

// test_rel_rmse: about 1.4x the relative RMS error measured on N(0,1) rows (0.115).
constexpr FormatTraits kMx[] = {
    {FormatId::MXFP4, "MXFP4", kQk, sizeof(BlockMxfp4), quantize_mxfp4, dequantize_mxfp4, false, false, 0.16f},
};

}  // namespace

std::span<const FormatTraits> mx_formats() { return kMx; }

}  // namespace lowbit
