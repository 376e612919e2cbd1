// Scalar conversions between f32 and the narrow float types. Round-to-nearest-even,
// NaN stays NaN, Inf stays Inf where the format has it, subnormals exact.
//  - f16: IEEE 754 binary16.
//  - bf16: top half of binary32, RNE on the dropped 16 bits; NaN stays quiet NaN.
//  - fp8 e4m3fn (OCP FP8 spec; PyTorch float8_e4m3fn): bias 7, no Inf, S.1111.111 is NaN,
//    max 448. f32_to_e4m3 follows PyTorch's cast: |x| past the max after rounding -> NaN,
//    Inf -> NaN. f32_to_e4m3_sat clamps to +-448 instead (what quantizers use).
//  - fp8 e5m2 (OCP FP8; PyTorch float8_e5m2): bias 15, has Inf and NaN like binary16.
//    Overflow rounds to Inf as PyTorch does; f32_to_e5m2_sat clamps to +-57344.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace lowbit {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float e4m3_to_f32(uint8_t v);
uint8_t f32_to_e4m3(float f);
uint8_t f32_to_e4m3_sat(float f);
float e5m2_to_f32(uint8_t v);
uint8_t f32_to_e5m2(float f);
uint8_t f32_to_e5m2_sat(float f);

// NaN details: f16 keeps the sign and top payload bits and sets the quiet bit; bf16 truncates
// the payload and sets the quiet bit; both fp8 encoders give S.1111111 (0x7F | sign) for NaN
// (as PyTorch does). The _sat variants map +-Inf to +-max finite as well.
//
// Bulk conversion of n_elems contiguous elements (src/dst may be unaligned). Integer and
// bool sources convert by value (bool: any non-zero byte is 1). F64 narrows with the
// hardware's RNE. convert_from_f32 to F8_* uses the PyTorch-cast (non-saturating)
// encoders f32_to_e4m3 / f32_to_e5m2; quantizers wanting clamping call the _sat ones.
// Throws lowbit::Error for a destination type that cannot hold floats (ints, bool).
void convert_to_f32(DType src_type, const void* src, float* dst, size_t n_elems);
void convert_from_f32(DType dst_type, const float* src, void* dst, size_t n_elems);

}  // namespace lowbit
