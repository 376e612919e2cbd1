// Scalar f32 <-> f16 / bf16 / fp8 conversions and bulk dtype conversion.
//
// Encoders work on the bit pattern of the f32 input: the magnitude is rounded to the
// target's mantissa width with round-to-nearest-even as if the target had an unbounded
// exponent range (subnormals included), and each format then decides what an
// out-of-range result becomes (Inf, NaN or the largest finite value).
#include "core/convert.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "core/error.h"

namespace lowbit {
namespace {

constexpr uint32_t kF32SignMask = 0x80000000u;
constexpr uint32_t kF32AbsMask = 0x7FFFFFFFu;
constexpr uint32_t kF32ExpMask = 0x7F800000u;  // also the bits of +Inf
constexpr uint32_t kF32QuietNaN = 0x7FC00000u;

inline uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }
inline float float_of(uint32_t u) { return std::bit_cast<float>(u); }
inline bool abs_is_nan(uint32_t abs_bits) { return abs_bits > kF32ExpMask; }

// Rounds a finite, non-negative f32 (given by its bits) to a binary format with M
// explicit mantissa bits and exponent bias BIAS, ignoring the top of the exponent range.
// Returns the magnitude code (exponent field << M | mantissa); codes past the format's
// largest finite value mean overflow and are handled by the caller. The carry of a
// mantissa that rounds up flows into the exponent field, which is what RNE wants
// (including from the largest subnormal into the smallest normal).
template <int M, int BIAS>
uint32_t round_magnitude(uint32_t abs_bits) {
  static_assert(M >= 1 && M < 23);
  const int f32_exp = static_cast<int>(abs_bits >> 23);
  if (f32_exp == 0) return 0;  // f32 zero or subnormal: far below half the target's min subnormal
  const uint32_t sig = (abs_bits & 0x7FFFFFu) | 0x800000u;  // 24-bit significand with hidden bit
  const int exp = f32_exp - 127 + BIAS;                      // target biased exponent
  int shift;        // how many low significand bits are dropped
  uint32_t base;    // code contribution of the exponent field
  if (exp >= 1) {
    shift = 23 - M;
    base = static_cast<uint32_t>(exp - 1) << M;  // hidden bit adds the remaining 1 << M
  } else {
    // Target subnormal: value = sig * 2^(f32_exp - 150) = mant * 2^(1 - BIAS - M).
    shift = 23 - M + (1 - exp);
    base = 0;
    if (shift > 24) return 0;  // below half the min subnormal
  }
  uint32_t q = sig >> shift;
  const uint32_t rem = sig & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return base + q;
}

uint16_t encode_f16(uint32_t bits) {
  const uint16_t sign = static_cast<uint16_t>((bits & kF32SignMask) >> 16);
  const uint32_t a = bits & kF32AbsMask;
  if (abs_is_nan(a)) {
    // Quiet NaN; keep the top payload bits.
    return static_cast<uint16_t>(sign | 0x7E00u | ((a >> 13) & 0x3FFu));
  }
  if (a == kF32ExpMask) return static_cast<uint16_t>(sign | 0x7C00u);
  uint32_t m = round_magnitude<10, 15>(a);
  if (m >= 0x7C00u) m = 0x7C00u;  // overflow -> Inf
  return static_cast<uint16_t>(sign | m);
}

// e4m3fn: no Inf; 0x7F is NaN, 0x7E = 448 is the largest finite value.
uint8_t encode_e4m3(uint32_t bits, bool saturate) {
  const uint8_t sign = static_cast<uint8_t>((bits & kF32SignMask) >> 24);
  const uint32_t a = bits & kF32AbsMask;
  if (abs_is_nan(a)) return static_cast<uint8_t>(sign | 0x7Fu);
  if (a == kF32ExpMask) return static_cast<uint8_t>(sign | (saturate ? 0x7Eu : 0x7Fu));
  uint32_t m = round_magnitude<3, 7>(a);
  if (m > 0x7Eu) m = saturate ? 0x7Eu : 0x7Fu;
  return static_cast<uint8_t>(sign | m);
}

// e5m2: binary16 with 2 mantissa bits; 0x7C is Inf, 0x7B = 57344 the largest finite value.
uint8_t encode_e5m2(uint32_t bits, bool saturate) {
  const uint8_t sign = static_cast<uint8_t>((bits & kF32SignMask) >> 24);
  const uint32_t a = bits & kF32AbsMask;
  if (abs_is_nan(a)) return static_cast<uint8_t>(sign | 0x7Fu);
  if (a == kF32ExpMask) return static_cast<uint8_t>(sign | (saturate ? 0x7Bu : 0x7Cu));
  uint32_t m = round_magnitude<2, 15>(a);
  if (m >= 0x7Cu) m = saturate ? 0x7Bu : 0x7Cu;
  return static_cast<uint8_t>(sign | m);
}

float decode_f16(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return float_of(sign | kF32ExpMask | (mant << 13));  // Inf / NaN (payload kept)
  if (exp != 0) return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  // Zero or subnormal: mant * 2^-24, exact in f32.
  const float mag = static_cast<float>(mant) * 0x1p-24f;
  return float_of(sign | bits_of(mag));
}

float decode_e4m3(uint8_t v) {
  const uint32_t sign = static_cast<uint32_t>(v & 0x80u) << 24;
  const uint32_t exp = (v >> 3) & 0xFu;
  const uint32_t mant = v & 0x7u;
  if (exp == 0xF && mant == 0x7) return float_of(sign | kF32QuietNaN);
  if (exp != 0) return float_of(sign | ((exp - 7 + 127) << 23) | (mant << 20));
  const float mag = static_cast<float>(mant) * 0x1p-9f;  // subnormal: mant * 2^-9
  return float_of(sign | bits_of(mag));
}

const std::array<float, 65536>& f16_table() {
  static const std::array<float, 65536> table = [] {
    std::array<float, 65536> t{};
    for (uint32_t i = 0; i < 65536; ++i) t[i] = decode_f16(static_cast<uint16_t>(i));
    return t;
  }();
  return table;
}

const std::array<float, 256>& e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) t[i] = decode_e4m3(static_cast<uint8_t>(i));
    return t;
  }();
  return table;
}

const std::array<float, 256>& e5m2_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) t[i] = decode_f16(static_cast<uint16_t>(i << 8));
    return t;
  }();
  return table;
}

// Sources and destinations may be unaligned (tensor data inside a mapped file), so every
// element goes through memcpy, which compiles to a plain load/store.
template <typename T>
inline T load(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(base) + i * sizeof(T), sizeof(T));
  return v;
}
template <typename T>
inline void store(void* base, size_t i, T v) {
  std::memcpy(static_cast<char*>(base) + i * sizeof(T), &v, sizeof(T));
}

template <typename T>
void ints_to_f32(const void* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src, i));
}

void table16_to_f32(const std::array<float, 65536>& t, const void* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = t[load<uint16_t>(src, i)];
}

void table8_to_f32(const std::array<float, 256>& t, const void* src, float* dst, size_t n) {
  const auto* s = static_cast<const uint8_t*>(src);
  for (size_t i = 0; i < n; ++i) dst[i] = t[s[i]];
}

}  // namespace

float f16_to_f32(uint16_t h) { return decode_f16(h); }
uint16_t f32_to_f16(float f) { return encode_f16(bits_of(f)); }

float bf16_to_f32(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t bits = bits_of(f);
  if (abs_is_nan(bits & kF32AbsMask)) {
    // Truncate and force the quiet bit, so a NaN whose payload sits only in the low 16
    // bits does not turn into Inf.
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  // RNE on the dropped 16 bits; a carry out of the mantissa bumps the exponent, and the
  // largest finite values round up to Inf exactly as IEEE prescribes.
  const uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

float e4m3_to_f32(uint8_t v) { return decode_e4m3(v); }
uint8_t f32_to_e4m3(float f) { return encode_e4m3(bits_of(f), false); }
uint8_t f32_to_e4m3_sat(float f) { return encode_e4m3(bits_of(f), true); }

float e5m2_to_f32(uint8_t v) { return decode_f16(static_cast<uint16_t>(v << 8)); }
uint8_t f32_to_e5m2(float f) { return encode_e5m2(bits_of(f), false); }
uint8_t f32_to_e5m2_sat(float f) { return encode_e5m2(bits_of(f), true); }

void convert_to_f32(DType src_type, const void* src, float* dst, size_t n_elems) {
  if (n_elems == 0) return;
  switch (src_type) {
    case DType::F64:
      for (size_t i = 0; i < n_elems; ++i) dst[i] = static_cast<float>(load<double>(src, i));
      return;
    case DType::F32:
      std::memmove(dst, src, n_elems * sizeof(float));
      return;
    case DType::F16:
      table16_to_f32(f16_table(), src, dst, n_elems);
      return;
    case DType::BF16:
      for (size_t i = 0; i < n_elems; ++i)
        dst[i] = float_of(static_cast<uint32_t>(load<uint16_t>(src, i)) << 16);
      return;
    case DType::I64: ints_to_f32<int64_t>(src, dst, n_elems); return;
    case DType::I32: ints_to_f32<int32_t>(src, dst, n_elems); return;
    case DType::I16: ints_to_f32<int16_t>(src, dst, n_elems); return;
    case DType::I8: ints_to_f32<int8_t>(src, dst, n_elems); return;
    case DType::U8: ints_to_f32<uint8_t>(src, dst, n_elems); return;
    case DType::BOOL: {
      const auto* s = static_cast<const uint8_t*>(src);
      for (size_t i = 0; i < n_elems; ++i) dst[i] = s[i] ? 1.0f : 0.0f;
      return;
    }
    case DType::F8_E4M3:
      table8_to_f32(e4m3_table(), src, dst, n_elems);
      return;
    case DType::F8_E5M2:
      table8_to_f32(e5m2_table(), src, dst, n_elems);
      return;
  }
  fail("", "convert_to_f32: unknown dtype " + std::to_string(static_cast<int>(src_type)));
}

void convert_from_f32(DType dst_type, const float* src, void* dst, size_t n_elems) {
  switch (dst_type) {
    case DType::F64:
      for (size_t i = 0; i < n_elems; ++i) store<double>(dst, i, static_cast<double>(src[i]));
      return;
    case DType::F32:
      if (n_elems) std::memmove(dst, src, n_elems * sizeof(float));
      return;
    case DType::F16:
      for (size_t i = 0; i < n_elems; ++i) store<uint16_t>(dst, i, f32_to_f16(src[i]));
      return;
    case DType::BF16:
      for (size_t i = 0; i < n_elems; ++i) store<uint16_t>(dst, i, f32_to_bf16(src[i]));
      return;
    case DType::F8_E4M3: {
      auto* d = static_cast<uint8_t*>(dst);
      for (size_t i = 0; i < n_elems; ++i) d[i] = f32_to_e4m3(src[i]);
      return;
    }
    case DType::F8_E5M2: {
      auto* d = static_cast<uint8_t*>(dst);
      for (size_t i = 0; i < n_elems; ++i) d[i] = f32_to_e5m2(src[i]);
      return;
    }
    case DType::I64:
    case DType::I32:
    case DType::I16:
    case DType::I8:
    case DType::U8:
    case DType::BOOL:
      fail("", "cannot convert floats to " + std::string(dtype_name(dst_type)) +
                   ": destination dtype is not a floating-point type");
  }
  fail("", "convert_from_f32: unknown dtype " + std::to_string(static_cast<int>(dst_type)));
}

}  // namespace lowbit
