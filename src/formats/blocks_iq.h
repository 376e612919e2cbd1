// Block layouts of the IQ ("importance") types, byte for byte as ggml's ggml-common.h lays them
// out (../shared/specs/gguf.md §3-4). Fields are packed in order; fp16 fields hold IEEE
// binary16 bits; multi-byte fields are little-endian. Code reads and writes whole blocks with
// memcpy, so rows need no alignment.
#pragma once
#include <bit>
#include <cstdint>

namespace lowbit::iq {

static_assert(std::endian::native == std::endian::little, "IQ blocks are read as little-endian");

inline constexpr int kSuperElems = 256;  // QK_K
inline constexpr int kNlElems = 32;      // QK4_NL

// IQ2_XXS, 2.0625 bpw: per 32 elements two u32: 4 grid indices (bytes), then 4x7 sign bits + 4-bit scale.
struct BlockIq2xxs {
  uint16_t d;
  uint16_t qs[kSuperElems / 8];
};
static_assert(sizeof(BlockIq2xxs) == 66);

// IQ2_XS, 2.3125 bpw: qs = 9-bit grid index | 7 sign bits << 9; two 4-bit scales per 32.
struct BlockIq2xs {
  uint16_t d;
  uint16_t qs[kSuperElems / 8];
  uint8_t scales[kSuperElems / 32];
};
static_assert(sizeof(BlockIq2xs) == 74);

// IQ2_S, 2.5625 bpw: 10-bit grid index (qs + 2 bits of qh), explicit sign bytes after the indices.
struct BlockIq2s {
  uint16_t d;
  uint8_t qs[kSuperElems / 4];  // first half grid indices, second half signs
  uint8_t qh[kSuperElems / 32];
  uint8_t scales[kSuperElems / 32];
};
static_assert(sizeof(BlockIq2s) == 82);

// IQ3_XXS, 3.0625 bpw: 64 grid indices (4 values each), then per 32 a u32 of 4x7 sign bits + 4-bit scale.
struct BlockIq3xxs {
  uint16_t d;
  uint8_t qs[3 * kSuperElems / 8];
};
static_assert(sizeof(BlockIq3xxs) == 98);

// IQ3_S, 3.4375 bpw: 9-bit grid indices (qs + 1 bit of qh), explicit signs, 4-bit odd scales per 32.
struct BlockIq3s {
  uint16_t d;
  uint8_t qs[kSuperElems / 4];
  uint8_t qh[kSuperElems / 32];
  uint8_t signs[kSuperElems / 8];
  uint8_t scales[kSuperElems / 64];
};
static_assert(sizeof(BlockIq3s) == 110);

// IQ1_S, 1.5625 bpw: 11-bit indices into the {-1,0,1} grid; qh per 32: 4x3 index bits, 3-bit scale, delta sign.
struct BlockIq1s {
  uint16_t d;
  uint8_t qs[kSuperElems / 8];
  uint16_t qh[kSuperElems / 32];
};
static_assert(sizeof(BlockIq1s) == 50);

// IQ1_M, 1.75 bpw: no separate d; the fp16 super-scale is spread over the top nibbles of the
// four u16 words of `scales`, whose low 12 bits hold 3-bit scales for each 16 elements.
struct BlockIq1m {
  uint8_t qs[kSuperElems / 8];
  uint8_t qh[kSuperElems / 16];  // per 8 elements: 3 high index bits + delta sign bit
  uint8_t scales[kSuperElems / 32];
};
static_assert(sizeof(BlockIq1m) == 56);

// IQ4_NL, 4.5 bpw: x = d * kValuesIq4nl[q], nibble order as Q4_0.
struct BlockIq4nl {
  uint16_t d;
  uint8_t qs[kNlElems / 2];
};
static_assert(sizeof(BlockIq4nl) == 18);

// IQ4_XS, 4.25 bpw: 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l, high 2 in scales_h).
struct BlockIq4xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kSuperElems / 64];
  uint8_t qs[kSuperElems / 2];
};
static_assert(sizeof(BlockIq4xs) == 136);

}  // namespace lowbit::iq
