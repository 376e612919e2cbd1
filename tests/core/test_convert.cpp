// Exhaustive tests of the scalar float conversions in core/convert.h against an
// independent reference written here: codes are decoded from their fields in double
// arithmetic, and encoding is a binary search over the sorted list of representable
// values (nearest wins, ties go to the even code), not bit manipulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/convert.h"
#include "core/error.h"

namespace lowbit {
namespace {

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }
float float_of(uint32_t u) { return std::bit_cast<float>(u); }

// A binary float format with 1 sign bit, E exponent bits and M mantissa bits.
struct Format {
  const char* name;
  int n_bits;
  int exp_bits;
  int mant_bits;
  int bias;
  bool ieee_specials;  // exponent all-ones is Inf/NaN (f16, bf16, e5m2); else e4m3fn style
  uint32_t (*encode)(float);
  uint32_t (*encode_sat)(float);  // nullptr: the format has no saturating encoder
  float (*decode)(uint32_t);

  uint32_t sign_bit() const { return 1u << (n_bits - 1); }
  uint32_t abs_mask() const { return sign_bit() - 1; }
  uint32_t exp_all_ones() const { return (1u << exp_bits) - 1; }
  uint32_t mant_mask() const { return (1u << mant_bits) - 1; }
  // Largest finite magnitude code.
  uint32_t max_code() const {
    return ieee_specials ? (exp_all_ones() << mant_bits) - 1 : abs_mask() - 1;
  }
  // What overflow becomes in the non-saturating encoder (magnitude code).
  uint32_t overflow_code() const { return ieee_specials ? exp_all_ones() << mant_bits : abs_mask(); }
  bool is_nan_code(uint32_t c) const {
    const uint32_t a = c & abs_mask();
    if (ieee_specials) return (a >> mant_bits) == exp_all_ones() && (a & mant_mask()) != 0;
    return a == abs_mask();
  }
  bool is_inf_code(uint32_t c) const {
    return ieee_specials && (c & abs_mask()) == (exp_all_ones() << mant_bits);
  }
  // Magnitude of a code read as if every exponent field were an ordinary one (used for
  // the first value past the max, the overflow threshold).
  double field_value(uint32_t a) const {
    const int e = static_cast<int>(a >> mant_bits);
    const double m = static_cast<double>(a & mant_mask());
    if (e == 0) return std::ldexp(m, 1 - bias - mant_bits);
    return std::ldexp(1.0 + m / (1 << mant_bits), e - bias);
  }
  // Reference decode in double: NaN for NaN codes, +-Inf for Inf codes.
  double ref_decode(uint32_t c) const {
    const bool neg = (c & sign_bit()) != 0;
    if (is_nan_code(c)) return std::numeric_limits<double>::quiet_NaN();
    double v = is_inf_code(c) ? std::numeric_limits<double>::infinity() : field_value(c & abs_mask());
    return neg ? -v : v;
  }
};

uint32_t enc_f16(float f) { return f32_to_f16(f); }
uint32_t enc_bf16(float f) { return f32_to_bf16(f); }
uint32_t enc_e4m3(float f) { return f32_to_e4m3(f); }
uint32_t enc_e4m3_sat(float f) { return f32_to_e4m3_sat(f); }
uint32_t enc_e5m2(float f) { return f32_to_e5m2(f); }
uint32_t enc_e5m2_sat(float f) { return f32_to_e5m2_sat(f); }
float dec_f16(uint32_t c) { return f16_to_f32(static_cast<uint16_t>(c)); }
float dec_bf16(uint32_t c) { return bf16_to_f32(static_cast<uint16_t>(c)); }
float dec_e4m3(uint32_t c) { return e4m3_to_f32(static_cast<uint8_t>(c)); }
float dec_e5m2(uint32_t c) { return e5m2_to_f32(static_cast<uint8_t>(c)); }

const Format kF16{"f16", 16, 5, 10, 15, true, enc_f16, nullptr, dec_f16};
const Format kBF16{"bf16", 16, 8, 7, 127, true, enc_bf16, nullptr, dec_bf16};
const Format kE4M3{"e4m3", 8, 4, 3, 7, false, enc_e4m3, enc_e4m3_sat, dec_e4m3};
const Format kE5M2{"e5m2", 8, 5, 2, 15, true, enc_e5m2, enc_e5m2_sat, dec_e5m2};

// The slow reference encoder. values[i] is the magnitude of code i for i <= max_code, and
// values[max_code + 1] the first magnitude past the max (the overflow threshold's partner).
struct RefEncoder {
  const Format& fmt;
  std::vector<double> values;

  explicit RefEncoder(const Format& f) : fmt(f) {
    for (uint32_t a = 0; a <= f.max_code() + 1; ++a) values.push_back(f.field_value(a));
    EXPECT_TRUE(std::is_sorted(values.begin(), values.end()));
  }

  // Expected code for x; saturate picks the clamping variant.
  uint32_t encode(float x, bool saturate) const {
    const uint32_t sign = std::signbit(x) ? fmt.sign_bit() : 0;
    if (std::isnan(x)) return sign | fmt.abs_mask();  // callers compare NaN-ness, not the code
    const uint32_t overflow = saturate ? fmt.max_code() : fmt.overflow_code();
    const double ax = std::fabs(static_cast<double>(x));
    const size_t top = values.size() - 1;  // index of the overflow partner
    if (ax >= values[top]) return sign | overflow;  // includes Inf
    // Largest i with values[i] <= ax.
    const size_t i = static_cast<size_t>(std::upper_bound(values.begin(), values.end(), ax) -
                                         values.begin()) - 1;
    size_t pick;
    if (values[i] == ax) {
      pick = i;
    } else {
      const double mid = (values[i] + values[i + 1]) / 2;  // exact: few significant bits
      if (ax < mid) pick = i;
      else if (ax > mid) pick = i + 1;
      else pick = (i % 2 == 0) ? i : i + 1;
    }
    if (pick == top) return sign | overflow;
    return sign | static_cast<uint32_t>(pick);
  }
};

const RefEncoder& ref_for(const Format& f) {
  static const RefEncoder r_f16(kF16), r_bf16(kBF16), r_e4m3(kE4M3), r_e5m2(kE5M2);
  if (&f == &kF16) return r_f16;
  if (&f == &kBF16) return r_bf16;
  if (&f == &kE4M3) return r_e4m3;
  return r_e5m2;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%X", v);
  return buf;
}

// Checks one encoder output against the reference; NaN expectations compare NaN-ness and sign.
::testing::AssertionResult encodes_like_ref(const Format& f, float x, bool saturate) {
  const uint32_t got = saturate ? f.encode_sat(x) : f.encode(x);
  const uint32_t want = ref_for(f).encode(x, saturate);
  const bool want_nan = std::isnan(x) || (!saturate && !f.ieee_specials && f.is_nan_code(want));
  if (want_nan) {
    if (f.is_nan_code(got) && (got & f.sign_bit()) == (want & f.sign_bit()))
      return ::testing::AssertionSuccess();
  } else if (got == want) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << f.name << (saturate ? "_sat" : "") << "(" << x << " bits " << hex(bits_of(x))
         << ") = " << hex(got) << ", reference " << hex(want);
}

// ---- exhaustive decode / round trip ---------------------------------------------------

void check_all_codes(const Format& f) {
  const uint32_t n_codes = 1u << f.n_bits;
  int n_nan = 0;
  for (uint32_t c = 0; c < n_codes; ++c) {
    const float v = f.decode(c);
    const double ref = f.ref_decode(c);
    const bool neg = (c & f.sign_bit()) != 0;
    ASSERT_EQ(std::signbit(v), neg) << f.name << " code " << hex(c);
    if (std::isnan(ref)) {
      ++n_nan;
      ASSERT_TRUE(std::isnan(v)) << f.name << " code " << hex(c);
      const uint32_t back = f.encode(v);
      ASSERT_TRUE(f.is_nan_code(back)) << f.name << " NaN code " << hex(c) << " -> " << hex(back);
      ASSERT_EQ(back & f.sign_bit(), c & f.sign_bit()) << f.name << " NaN sign " << hex(c);
      if (f.encode_sat) {
        ASSERT_TRUE(f.is_nan_code(f.encode_sat(v)));
      }
      continue;
    }
    ASSERT_EQ(static_cast<double>(v), ref) << f.name << " code " << hex(c);
    ASSERT_EQ(f.encode(v), c) << f.name << " round trip of " << hex(c);
    if (f.encode_sat) {
      const uint32_t want = f.is_inf_code(c) ? (c & f.sign_bit()) | f.max_code() : c;
      ASSERT_EQ(f.encode_sat(v), want) << f.name << "_sat round trip of " << hex(c);
    }
  }
  // NaN count per format: f16 2*1023, bf16 2*127, e4m3 2, e5m2 2*3.
  const int want_nan = f.ieee_specials ? 2 * static_cast<int>(f.mant_mask()) : 2;
  EXPECT_EQ(n_nan, want_nan) << f.name;
}

TEST(ConvertExhaustive, F16AllCodes) { check_all_codes(kF16); }
TEST(ConvertExhaustive, BF16AllCodes) { check_all_codes(kBF16); }
TEST(ConvertExhaustive, E4M3AllCodes) { check_all_codes(kE4M3); }
TEST(ConvertExhaustive, E5M2AllCodes) { check_all_codes(kE5M2); }

TEST(ConvertExhaustive, QuietNaNCodesRoundTripExactly) {
  // Quiet NaNs (top mantissa bit set) keep their payload through f16 and bf16.
  for (uint32_t c = 0; c < 65536; ++c) {
    if (kF16.is_nan_code(c) && (c & 0x200u)) {
      ASSERT_EQ(f32_to_f16(f16_to_f32(c)), c) << hex(c);
    }
    if (kBF16.is_nan_code(c) && (c & 0x40u)) {
      ASSERT_EQ(f32_to_bf16(bf16_to_f32(c)), c) << hex(c);
    }
  }
  for (uint32_t c : {0x7Fu, 0xFFu}) EXPECT_EQ(f32_to_e4m3(e4m3_to_f32(c)), c);
  for (uint32_t c : {0x7Du, 0x7Eu, 0x7Fu, 0xFDu, 0xFEu, 0xFFu})
    EXPECT_EQ(f32_to_e5m2(e5m2_to_f32(c)), (c & 0x80u) | 0x7Fu);
}

// ---- midpoints between every pair of adjacent magnitudes -----------------------------

void check_midpoints(const Format& f, bool saturate) {
  const RefEncoder& r = ref_for(f);
  auto enc = [&](float x) { return saturate ? f.encode_sat(x) : f.encode(x); };
  for (uint32_t i = 0; i <= f.max_code(); ++i) {
    const double mid_d = (r.values[i] + r.values[i + 1]) / 2;
    const float mid = static_cast<float>(mid_d);
    ASSERT_EQ(static_cast<double>(mid), mid_d) << f.name << " midpoint not exact in f32";
    const bool past_max = i + 1 > f.max_code();
    const uint32_t upper = past_max ? (saturate ? f.max_code() : f.overflow_code()) : i + 1;
    const uint32_t even = (i % 2 == 0) ? i : upper;
    const float above = std::nextafter(mid, std::numeric_limits<float>::infinity());
    const float below = std::nextafter(mid, 0.0f);
    for (uint32_t sign : {0u, f.sign_bit()}) {
      const float s = sign ? -1.0f : 1.0f;
      ASSERT_EQ(enc(s * mid), sign | even) << f.name << " tie after code " << hex(i);
      ASSERT_EQ(enc(s * above), sign | upper) << f.name << " just above midpoint after " << hex(i);
      ASSERT_EQ(enc(s * below), sign | i) << f.name << " just below midpoint after " << hex(i);
    }
  }
}

TEST(ConvertRounding, F16Midpoints) { check_midpoints(kF16, false); }
TEST(ConvertRounding, BF16Midpoints) { check_midpoints(kBF16, false); }
TEST(ConvertRounding, E4M3Midpoints) { check_midpoints(kE4M3, false); }
TEST(ConvertRounding, E4M3SatMidpoints) { check_midpoints(kE4M3, true); }
TEST(ConvertRounding, E5M2Midpoints) { check_midpoints(kE5M2, false); }
TEST(ConvertRounding, E5M2SatMidpoints) { check_midpoints(kE5M2, true); }

// ---- random f32 bit patterns against the reference encoder -------------------------

void sweep_random(const Format& f, uint64_t seed) {
  std::mt19937_64 rng(seed);
  // Half uniform bit patterns (mostly far outside the narrow formats' range), half with the
  // f32 exponent drawn from a window covering the format's subnormals to past its max.
  const int lo = std::max(0, 127 - f.bias - f.mant_bits - 4);
  const int hi = std::min(255, 127 + (static_cast<int>(f.exp_all_ones()) - f.bias) + 3);
  std::uniform_int_distribution<int> exp_dist(lo, hi);
  const int n = 1 << 20;
  int n_fail = 0;
  for (int k = 0; k < n && n_fail < 10; ++k) {
    uint32_t b = static_cast<uint32_t>(rng());
    if (k & 1) {
      // Random mantissa with few low bits set sometimes, so exact ties show up too.
      if ((k & 6) == 0) b &= ~((1u << (23 - f.mant_bits - 1)) - 1u);
      b = (b & 0x807FFFFFu) | (static_cast<uint32_t>(exp_dist(rng)) << 23);
    }
    const float x = float_of(b);
    auto r = encodes_like_ref(f, x, false);
    if (!r) { ADD_FAILURE() << r.message(); ++n_fail; }
    if (f.encode_sat) {
      auto rs = encodes_like_ref(f, x, true);
      if (!rs) { ADD_FAILURE() << rs.message(); ++n_fail; }
    }
  }
}

TEST(ConvertRandom, F16AgainstReference) { sweep_random(kF16, 1); }
TEST(ConvertRandom, BF16AgainstReference) { sweep_random(kBF16, 2); }
TEST(ConvertRandom, E4M3AgainstReference) { sweep_random(kE4M3, 3); }
TEST(ConvertRandom, E5M2AgainstReference) { sweep_random(kE5M2, 4); }

TEST(ConvertRandom, F32SubnormalsAndSpecials) {
  // Every format against the reference on f32 subnormals, zeros, Inf and NaNs.
  std::vector<uint32_t> pats = {0x0u,        0x1u,        0x8000u,     0x8001u,     0x18000u,
                                0x7FFFFFu,   0x800000u,   0x7F800000u, 0x7F800001u, 0x7FC00000u,
                                0x7FFFFFFFu, 0x7F7FFFFFu, 0x7F7F8000u, 0x7F7F7FFFu};
  std::mt19937 rng(5);
  for (int k = 0; k < 4096; ++k) pats.push_back(rng() & 0x7FFFFFu);  // random f32 subnormals
  for (const Format* f : {&kF16, &kBF16, &kE4M3, &kE5M2}) {
    for (uint32_t p : pats) {
      for (uint32_t sign : {0u, 0x80000000u}) {
        const float x = float_of(p | sign);
        EXPECT_TRUE(encodes_like_ref(*f, x, false));
        if (f->encode_sat) {
          EXPECT_TRUE(encodes_like_ref(*f, x, true));
        }
      }
    }
  }
}

// ---- named edge cases ----------------------------------------------------------------

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(ConvertF16, EdgeCases) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65519.996f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // tie: 0x7BFF is odd, rounds up to Inf
  EXPECT_EQ(f32_to_f16(-65520.0f), 0xFC00);
  EXPECT_EQ(f32_to_f16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_f16(kInf), 0x7C00);
  EXPECT_EQ(f32_to_f16(-kInf), 0xFC00);
  EXPECT_EQ(f32_to_f16(kNaN), 0x7E00);
  EXPECT_EQ(f32_to_f16(-kNaN), 0xFE00);
  EXPECT_EQ(f32_to_f16(float_of(0x7F800001u)), 0x7E00);  // payload only in low bits: still NaN
  EXPECT_EQ(f32_to_f16(float_of(0x7F802000u)), 0x7E01);  // signalling NaN is quieted, payload kept
  // Subnormals: min 2^-24, tie at 2^-25 rounds to 0 (even), 3*2^-25 to 2 (even).
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0x1p-25f), 0x8000);
  EXPECT_EQ(f32_to_f16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_f16(3 * 0x1p-25f), 0x0002);
  EXPECT_EQ(f32_to_f16(1023.5f * 0x1p-24f), 0x0400);  // largest subnormal carries into min normal
  EXPECT_EQ(f32_to_f16(0x1p-14f), 0x0400);
  EXPECT_EQ(f32_to_f16(float_of(1)), 0x0000);  // f32 subnormal
  EXPECT_EQ(f32_to_f16(-float_of(1)), 0x8000);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0xFC00), -kInf);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(ConvertBF16, EdgeCases) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);      // tie to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // tie to even (up)
  EXPECT_EQ(f32_to_bf16(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3F81);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds to Inf
  EXPECT_EQ(f32_to_bf16(float_of(0x7F7F7FFFu)), 0x7F7F);
  EXPECT_EQ(f32_to_bf16(float_of(0x7F7F8000u)), 0x7F80);  // tie, 0x7F7F odd -> Inf
  EXPECT_EQ(f32_to_bf16(kInf), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-kInf), 0xFF80);
  EXPECT_EQ(f32_to_bf16(kNaN), 0x7FC0);
  EXPECT_EQ(f32_to_bf16(float_of(0x7F800001u)), 0x7FC0);  // would truncate to Inf: quieted
  EXPECT_EQ(f32_to_bf16(float_of(0xFF800001u)), 0xFFC0);
  EXPECT_EQ(f32_to_bf16(float_of(0x7FFFFFFFu)), 0x7FFF);  // no rounding carry out of a NaN
  EXPECT_EQ(f32_to_bf16(float_of(0x7F810000u)), 0x7FC1);
  // f32 subnormals: bf16 has the same exponent range, so they round at bit 16.
  EXPECT_EQ(f32_to_bf16(float_of(0x00008000u)), 0x0000);
  EXPECT_EQ(f32_to_bf16(float_of(0x00008001u)), 0x0001);
  EXPECT_EQ(f32_to_bf16(float_of(0x00018000u)), 0x0002);
  EXPECT_EQ(f32_to_bf16(float_of(0x007FFFFFu)), 0x0080);  // carries into min normal
  EXPECT_EQ(f32_to_bf16(float_of(0x80008000u)), 0x8000);
  EXPECT_EQ(bf16_to_f32(0x0001), float_of(0x00010000u));
  EXPECT_EQ(bf16_to_f32(0xC000), -2.0f);
}

TEST(ConvertE4M3, EdgeCases) {
  EXPECT_EQ(f32_to_e4m3(1.0f), 0x38);
  EXPECT_EQ(f32_to_e4m3(-1.0f), 0xB8);
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_e4m3(448.0f), 0x7E);
  EXPECT_EQ(f32_to_e4m3(464.0f), 0x7E);  // tie between 448 (0x7E, even) and 480 (0x7F)
  EXPECT_EQ(f32_to_e4m3(std::nextafter(464.0f, 1e9f)), 0x7F);  // -> NaN as in PyTorch
  EXPECT_EQ(f32_to_e4m3(-std::nextafter(464.0f, 1e9f)), 0xFF);
  EXPECT_EQ(f32_to_e4m3(480.0f), 0x7F);
  EXPECT_EQ(f32_to_e4m3(1e30f), 0x7F);
  EXPECT_EQ(f32_to_e4m3(kInf), 0x7F);
  EXPECT_EQ(f32_to_e4m3(-kInf), 0xFF);
  EXPECT_EQ(f32_to_e4m3(kNaN), 0x7F);
  EXPECT_EQ(f32_to_e4m3(-kNaN), 0xFF);
  EXPECT_EQ(f32_to_e4m3_sat(464.0f), 0x7E);
  EXPECT_EQ(f32_to_e4m3_sat(470.0f), 0x7E);
  EXPECT_EQ(f32_to_e4m3_sat(-1e30f), 0xFE);
  EXPECT_EQ(f32_to_e4m3_sat(kInf), 0x7E);
  EXPECT_EQ(f32_to_e4m3_sat(-kInf), 0xFE);
  EXPECT_EQ(f32_to_e4m3_sat(kNaN), 0x7F);
  EXPECT_EQ(f32_to_e4m3_sat(-kNaN), 0xFF);
  // Subnormals: unit 2^-9, min normal 2^-6 = 0x08.
  EXPECT_EQ(f32_to_e4m3(0x1p-9f), 0x01);
  EXPECT_EQ(f32_to_e4m3(0x1p-10f), 0x00);      // tie -> even 0
  EXPECT_EQ(f32_to_e4m3(-0x1p-10f), 0x80);
  EXPECT_EQ(f32_to_e4m3(3 * 0x1p-10f), 0x02);  // tie 1|2 -> 2
  EXPECT_EQ(f32_to_e4m3(7.5f * 0x1p-9f), 0x08);
  EXPECT_EQ(f32_to_e4m3(0x1p-6f), 0x08);
  EXPECT_EQ(e4m3_to_f32(0x7E), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x01), 0x1p-9f);
  EXPECT_EQ(e4m3_to_f32(0x07), 7 * 0x1p-9f);
  EXPECT_EQ(e4m3_to_f32(0x78), 256.0f);  // exponent 15 is an ordinary exponent
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7F)));
  EXPECT_TRUE(std::isnan(e4m3_to_f32(0xFF)));
  EXPECT_TRUE(std::signbit(e4m3_to_f32(0xFF)));
}

TEST(ConvertE5M2, EdgeCases) {
  EXPECT_EQ(f32_to_e5m2(1.0f), 0x3C);
  EXPECT_EQ(f32_to_e5m2(-0.0f), 0x80);
  EXPECT_EQ(f32_to_e5m2(57344.0f), 0x7B);
  EXPECT_EQ(f32_to_e5m2(std::nextafter(61440.0f, 0.0f)), 0x7B);
  EXPECT_EQ(f32_to_e5m2(61440.0f), 0x7C);  // tie, 0x7B odd -> Inf
  EXPECT_EQ(f32_to_e5m2(-1e30f), 0xFC);
  EXPECT_EQ(f32_to_e5m2(kInf), 0x7C);
  EXPECT_EQ(f32_to_e5m2(-kInf), 0xFC);
  EXPECT_EQ(f32_to_e5m2(kNaN), 0x7F);
  EXPECT_EQ(f32_to_e5m2(-kNaN), 0xFF);
  EXPECT_EQ(f32_to_e5m2_sat(61440.0f), 0x7B);
  EXPECT_EQ(f32_to_e5m2_sat(1e30f), 0x7B);
  EXPECT_EQ(f32_to_e5m2_sat(kInf), 0x7B);
  EXPECT_EQ(f32_to_e5m2_sat(-kInf), 0xFB);
  EXPECT_EQ(f32_to_e5m2_sat(kNaN), 0x7F);
  EXPECT_EQ(f32_to_e5m2(0x1p-16f), 0x01);
  EXPECT_EQ(f32_to_e5m2(0x1p-17f), 0x00);
  EXPECT_EQ(f32_to_e5m2(3 * 0x1p-17f), 0x02);
  EXPECT_EQ(f32_to_e5m2(3.5f * 0x1p-16f), 0x04);  // max subnormal carries into min normal
  EXPECT_EQ(e5m2_to_f32(0x7B), 57344.0f);
  EXPECT_EQ(e5m2_to_f32(0x7C), kInf);
  EXPECT_EQ(e5m2_to_f32(0xFC), -kInf);
  EXPECT_EQ(e5m2_to_f32(0x01), 0x1p-16f);
  for (uint32_t c : {0x7Du, 0x7Eu, 0x7Fu, 0xFDu, 0xFEu, 0xFFu})
    EXPECT_TRUE(std::isnan(e5m2_to_f32(static_cast<uint8_t>(c))));
}

TEST(ConvertE5M2, MatchesF16Truncation) {
  // e5m2 is binary16 with the low 8 bits dropped: decoding agrees with f16 on every code.
  for (uint32_t c = 0; c < 256; ++c) {
    const float a = e5m2_to_f32(static_cast<uint8_t>(c));
    const float b = f16_to_f32(static_cast<uint16_t>(c << 8));
    EXPECT_EQ(bits_of(a), bits_of(b)) << hex(c);
  }
}

// ---- bulk conversions ----------------------------------------------------------------

template <typename T>
std::vector<uint8_t> raw_bytes(const std::vector<T>& v, size_t offset) {
  std::vector<uint8_t> out(offset + v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(out.data() + offset, v.data(), v.size() * sizeof(T));
  return out;
}

TEST(ConvertBulk, ToF32AllCodesMatchScalarUnaligned) {
  std::vector<uint16_t> codes16(65536);
  for (uint32_t i = 0; i < 65536; ++i) codes16[i] = static_cast<uint16_t>(i);
  std::vector<uint8_t> codes8(256);
  for (uint32_t i = 0; i < 256; ++i) codes8[i] = static_cast<uint8_t>(i);
  for (size_t off : {0u, 1u}) {
    auto b16 = raw_bytes(codes16, off);
    std::vector<float> out(65536);
    convert_to_f32(DType::F16, b16.data() + off, out.data(), 65536);
    for (uint32_t i = 0; i < 65536; ++i)
      ASSERT_EQ(bits_of(out[i]), bits_of(f16_to_f32(static_cast<uint16_t>(i)))) << hex(i);
    convert_to_f32(DType::BF16, b16.data() + off, out.data(), 65536);
    for (uint32_t i = 0; i < 65536; ++i)
      ASSERT_EQ(bits_of(out[i]), bits_of(bf16_to_f32(static_cast<uint16_t>(i)))) << hex(i);
    auto b8 = raw_bytes(codes8, off);
    convert_to_f32(DType::F8_E4M3, b8.data() + off, out.data(), 256);
    for (uint32_t i = 0; i < 256; ++i)
      ASSERT_EQ(bits_of(out[i]), bits_of(e4m3_to_f32(static_cast<uint8_t>(i)))) << hex(i);
    convert_to_f32(DType::F8_E5M2, b8.data() + off, out.data(), 256);
    for (uint32_t i = 0; i < 256; ++i)
      ASSERT_EQ(bits_of(out[i]), bits_of(e5m2_to_f32(static_cast<uint8_t>(i)))) << hex(i);
  }
}

TEST(ConvertBulk, ToF32WideAndIntegerTypes) {
  std::vector<float> out(8);
  {
    std::vector<double> v = {0.1, -1e300, 1e300, 1e-300, -0.0, 3.0};
    auto b = raw_bytes(v, 3);
    convert_to_f32(DType::F64, b.data() + 3, out.data(), v.size());
    EXPECT_EQ(out[0], 0.1f);
    EXPECT_EQ(out[1], -kInf);
    EXPECT_EQ(out[2], kInf);
    EXPECT_EQ(out[3], 0.0f);
    EXPECT_TRUE(std::signbit(out[4]));
    EXPECT_EQ(out[5], 3.0f);
  }
  {
    std::vector<float> v = {1.5f, -kInf, kNaN};
    convert_to_f32(DType::F32, v.data(), out.data(), v.size());
    EXPECT_EQ(out[0], 1.5f);
    EXPECT_EQ(out[1], -kInf);
    EXPECT_TRUE(std::isnan(out[2]));
  }
  {
    std::vector<int64_t> v = {0, -7, std::numeric_limits<int64_t>::min(), (int64_t{1} << 24) + 1};
    auto b = raw_bytes(v, 1);
    convert_to_f32(DType::I64, b.data() + 1, out.data(), v.size());
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], -7.0f);
    EXPECT_EQ(out[2], -0x1p63f);
    EXPECT_EQ(out[3], 0x1p24f);  // RNE: 2^24 + 1 is a tie, 2^24 is even
  }
  {
    std::vector<int32_t> v = {std::numeric_limits<int32_t>::min(), 123456, -1};
    convert_to_f32(DType::I32, v.data(), out.data(), v.size());
    EXPECT_EQ(out[0], -0x1p31f);
    EXPECT_EQ(out[1], 123456.0f);
    EXPECT_EQ(out[2], -1.0f);
  }
  {
    std::vector<int16_t> v = {-32768, 32767};
    convert_to_f32(DType::I16, v.data(), out.data(), v.size());
    EXPECT_EQ(out[0], -32768.0f);
    EXPECT_EQ(out[1], 32767.0f);
  }
  {
    std::vector<int8_t> v = {-128, 127, 0};
    convert_to_f32(DType::I8, v.data(), out.data(), v.size());
    EXPECT_EQ(out[0], -128.0f);
    EXPECT_EQ(out[1], 127.0f);
  }
  {
    std::vector<uint8_t> v = {0, 255, 17};
    convert_to_f32(DType::U8, v.data(), out.data(), v.size());
    EXPECT_EQ(out[1], 255.0f);
    EXPECT_EQ(out[2], 17.0f);
  }
  {
    std::vector<uint8_t> v = {0, 1, 2, 255};
    convert_to_f32(DType::BOOL, v.data(), out.data(), v.size());
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 1.0f);
    EXPECT_EQ(out[2], 1.0f);
    EXPECT_EQ(out[3], 1.0f);
  }
  // Zero elements: no access to the (null) pointers.
  convert_to_f32(DType::F16, nullptr, nullptr, 0);
  convert_from_f32(DType::BF16, nullptr, nullptr, 0);
}

TEST(ConvertBulk, FromF32MatchesScalar) {
  std::mt19937 rng(11);
  std::vector<float> src;
  for (float v : {0.0f, -0.0f, 1.0f, 65520.0f, 464.0f, 61440.0f, kInf, -kInf, kNaN, 1e-8f})
    src.push_back(v);
  for (int i = 0; i < 5000; ++i) src.push_back(float_of(static_cast<uint32_t>(rng())));
  for (int i = 0; i < 5000; ++i) src.push_back(std::ldexp(static_cast<float>(rng()) / 4294967296.0f - 0.5f, static_cast<int>(rng() % 40) - 20));
  const size_t n = src.size();
  std::vector<uint8_t> buf(n * 8 + 1);
  uint8_t* dst = buf.data() + 1;  // unaligned destination

  convert_from_f32(DType::F64, src.data(), dst, n);
  for (size_t i = 0; i < n; ++i) {
    double d;
    std::memcpy(&d, dst + 8 * i, 8);
    ASSERT_TRUE(d == static_cast<double>(src[i]) || (std::isnan(d) && std::isnan(src[i])));
  }
  convert_from_f32(DType::F32, src.data(), dst, n);
  EXPECT_EQ(std::memcmp(dst, src.data(), n * 4), 0);
  convert_from_f32(DType::F16, src.data(), dst, n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, dst + 2 * i, 2);
    ASSERT_EQ(h, f32_to_f16(src[i])) << i;
  }
  convert_from_f32(DType::BF16, src.data(), dst, n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, dst + 2 * i, 2);
    ASSERT_EQ(h, f32_to_bf16(src[i])) << i;
  }
  convert_from_f32(DType::F8_E4M3, src.data(), dst, n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], f32_to_e4m3(src[i])) << i;
  convert_from_f32(DType::F8_E5M2, src.data(), dst, n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(dst[i], f32_to_e5m2(src[i])) << i;

  // Round trip through the bulk paths for values representable in every format.
  std::vector<float> exact = {0.0f, -0.0f, 1.0f, -1.5f, 0.25f, 448.0f, -0x1p-9f};
  std::vector<float> back(exact.size());
  for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::F8_E4M3, DType::F8_E5M2}) {
    if (t == DType::F8_E5M2) exact[5] = 384.0f;  // 448 is not an e5m2 value
    convert_from_f32(t, exact.data(), dst, exact.size());
    convert_to_f32(t, dst, back.data(), exact.size());
    for (size_t i = 0; i < exact.size(); ++i)
      EXPECT_EQ(bits_of(back[i]), bits_of(exact[i])) << dtype_name(t) << " " << exact[i];
  }
}

TEST(ConvertBulk, FromF32ToIntegerTypesThrows) {
  const float src[2] = {1.0f, 2.0f};
  uint8_t dst[16] = {};
  for (DType t : {DType::I64, DType::I32, DType::I16, DType::I8, DType::U8, DType::BOOL}) {
    try {
      convert_from_f32(t, src, dst, 2);
      ADD_FAILURE() << "no throw for " << dtype_name(t);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(dtype_name(t))), std::string::npos)
          << e.what();
    }
  }
  for (uint8_t b : dst) EXPECT_EQ(b, 0);  // nothing written
}

}  // namespace
}  // namespace lowbit
