// The K-quant family (ggml's 256-element super-block types; ../shared/specs/gguf.md §3-5):
// registry entries, and Q8_K, the activation type their dot products pair with.
// Q2_K..Q6_K live in k_quants_q2.cpp, _q3.cpp, _q45.cpp (Q4_K, Q5_K), _q6.cpp; the scale
// searches they share in ggml_search.cpp.
#include <algorithm>
#include <cstring>

#include "formats/blocks_k.h"
#include "formats/families.h"
#include "formats/ggml_search.h"
#include "formats/k_quants_impl.h"

namespace lowbit {
namespace kq {

// quantize_row_q8_K_ref: d = max/-127 where max is the signed element of largest magnitude,
// q = min(127, round(x/d)), bsums = per-16 sums of q. Importance is ignored (as in ggml, where
// Q8_K has no _impl). Non-finite input is refused.
bool quantize_row_q8_k(const float* x, void* dst, int64_t n_per_row, const float* /*importance*/) {
  if (!all_finite(x, n_per_row)) return false;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_per_row / kBlockElems; ++i, x += kBlockElems) {
    BlockQ8K b{};
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kBlockElems; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax) {
      // -127 rather than -128: ggml changed it so the AVX IQ2_XXS dot product stays simple.
      const float iscale = -127.f / max;
      for (int j = 0; j < kBlockElems; ++j)
        b.qs[j] = static_cast<int8_t>(std::min(127, ggml::nearest_int(iscale * x[j])));
      for (int j = 0; j < kBlockElems / 16; ++j) {
        int sum = 0;
        for (int ii = 0; ii < 16; ++ii) sum += b.qs[j * 16 + ii];
        b.bsums[j] = static_cast<int16_t>(sum);
      }
      b.d = 1 / iscale;
    }
    std::memcpy(out + i * sizeof(b), &b, sizeof(b));
  }
  return true;
}

void dequantize_row_q8_k(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems / kBlockElems; ++i) {
    BlockQ8K b;
    std::memcpy(&b, in + i * sizeof(b), sizeof(b));
    for (int j = 0; j < kBlockElems; ++j) *y++ = b.d * b.qs[j];
  }
}

}  // namespace kq

std::span<const FormatTraits> kquant_formats() {
  // test_rel_rmse: relative RMS error of quantize->dequantize on N(0,1) rows without importance,
  // measured on 16x1024 (Q2_K 0.29, Q3_K 0.15, Q4_K 0.072, Q5_K 0.036, Q6_K 0.018, Q8_K 0.0070) + ~25%.
  static const FormatTraits kFormats[] = {
      {FormatId::Q2_K, "Q2_K", kq::kBlockElems, sizeof(kq::BlockQ2K), kq::quantize_row_q2_k,
       kq::dequantize_row_q2_k, false, true, 0.36f},
      {FormatId::Q3_K, "Q3_K", kq::kBlockElems, sizeof(kq::BlockQ3K), kq::quantize_row_q3_k,
       kq::dequantize_row_q3_k, false, true, 0.19f},
      {FormatId::Q4_K, "Q4_K", kq::kBlockElems, sizeof(kq::BlockQ4K), kq::quantize_row_q4_k,
       kq::dequantize_row_q4_k, false, true, 0.09f},
      {FormatId::Q5_K, "Q5_K", kq::kBlockElems, sizeof(kq::BlockQ5K), kq::quantize_row_q5_k,
       kq::dequantize_row_q5_k, false, true, 0.045f},
      {FormatId::Q6_K, "Q6_K", kq::kBlockElems, sizeof(kq::BlockQ6K), kq::quantize_row_q6_k,
       kq::dequantize_row_q6_k, false, true, 0.023f},
      {FormatId::Q8_K, "Q8_K", kq::kBlockElems, sizeof(kq::BlockQ8K), kq::quantize_row_q8_k,
       kq::dequantize_row_q8_k, false, false, 0.009f},
  };
  return kFormats;
}

}  // namespace lowbit
