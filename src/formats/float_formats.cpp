// Plain float formats F32, F16, BF16 (block of 1). "Quantizing" is element-wise conversion
// exactly as ggml_quantize_chunk does it (../shared/specs/gguf.md §3):
//  - F16: ggml_fp32_to_fp16_row, i.e. GGML_FP32_TO_FP16: round to nearest even, overflow to
//    Inf; every NaN becomes sign | 0x7E00 (ggml's portable converter drops the payload).
//  - BF16: ggml_fp32_to_bf16_row_ref: RNE on the dropped 16 bits; NaN -> (bits >> 16) | 0x40.
//    core/convert.h's f32_to_bf16 is exactly that, so it is reused.
//  - F32: a copy.
// NaN and Inf are representable in all three, so these quantizers never refuse a row.
// The importance matrix has no effect.
#include <cstring>

#include "core/convert.h"
#include "formats/families.h"
#include "formats/ggml_scalar.h"

namespace lowbit {
namespace {

bool quantize_f32(const float* x, void* dst, int64_t n_elems, const float*) {
  std::memcpy(dst, x, static_cast<size_t>(n_elems) * sizeof(float));
  return true;
}
void dequantize_f32(const void* src, float* y, int64_t n_elems) {
  std::memcpy(y, src, static_cast<size_t>(n_elems) * sizeof(float));
}

// dst/src may be unaligned (rows are packed back to back), so elements go through memcpy.
template <uint16_t (*Encode)(float)>
bool quantize_16(const float* x, void* dst, int64_t n_elems, const float*) {
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n_elems; ++i) {
    const uint16_t h = Encode(x[i]);
    std::memcpy(out + 2 * i, &h, sizeof(h));
  }
  return true;
}
template <float (*Decode)(uint16_t)>
void dequantize_16(const void* src, float* y, int64_t n_elems) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t i = 0; i < n_elems; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, sizeof(h));
    y[i] = Decode(h);
  }
}

// test_rel_rmse: about 2x the relative RMS error measured on N(0,1) rows (F16 2.1e-4, BF16 1.7e-3).
constexpr FormatTraits kFloats[] = {
    {FormatId::F32, "F32", 1, 4, quantize_f32, dequantize_f32, false, false, 1e-6f},
    {FormatId::F16, "F16", 1, 2, quantize_16<ggml::fp32_to_half>, dequantize_16<ggml::half_to_fp32>, false, false,
     5e-4f},
    {FormatId::BF16, "BF16", 1, 2, quantize_16<f32_to_bf16>, dequantize_16<bf16_to_f32>, false, false, 4e-3f},
};

}  // namespace

std::span<const FormatTraits> float_formats() { return kFloats; }

}  // namespace lowbit
