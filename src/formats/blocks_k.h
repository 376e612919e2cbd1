// Block layouts of the K-quants (256-element super-blocks), byte for byte as ggml's
// ggml-common.h lays them out (../shared/specs/gguf.md §3-4). Fields are packed in order;
// d/dmin hold IEEE binary16 bits (except Q8_K's f32 d). Code copies whole blocks with memcpy,
// so rows need no alignment.
#pragma once
#include <bit>
#include <cstdint>

namespace lowbit::kq {

static_assert(std::endian::native == std::endian::little, "K-quant blocks are read as little-endian");

inline constexpr int kBlockElems = 256;  // QK_K
inline constexpr int kScaleBytesK4 = 12;  // K_SCALE_SIZE: 8 six-bit scales + 8 six-bit mins

// Q2_K, 2.625 bpw: 16 sub-blocks of 16; scales[k] = scale code (low nibble) | min code (high).
// x = d*(scales[k]&0xF)*q - dmin*(scales[k]>>4), q in 0..3.
struct BlockQ2K {
  uint8_t scales[kBlockElems / 16];
  uint8_t qs[kBlockElems / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2K) == 84);

// Q3_K, 3.4375 bpw: 16 sub-blocks of 16 with 6-bit signed scales (offset 32) packed in 12 bytes;
// low 2 bits of each code in qs, the third bit in hmask (set = no -4). x = d*sc*(q-4).
struct BlockQ3K {
  uint8_t hmask[kBlockElems / 8];
  uint8_t qs[kBlockElems / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3K) == 110);

// Q4_K, 4.5 bpw: 8 sub-blocks of 32, 6-bit scale and min each (get_scale_min_k4 packing).
// x = d*sc*q - dmin*mn, q in 0..15.
struct BlockQ4K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kScaleBytesK4];
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ4K) == 144);

// Q5_K, 5.5 bpw: Q4_K plus a fifth bit per element in qh. q in 0..31.
struct BlockQ5K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kScaleBytesK4];
  uint8_t qh[kBlockElems / 8];
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ5K) == 176);

// Q6_K, 6.5625 bpw: 16 sub-blocks of 16 with int8 scales; low 4 bits in ql, high 2 in qh.
// x = d*sc*(q-32).
struct BlockQ6K {
  uint8_t ql[kBlockElems / 2];
  uint8_t qh[kBlockElems / 4];
  int8_t scales[kBlockElems / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6K) == 210);

// Q8_K (activations for K-quant dot products): f32 d, int8 codes, per-16 sums of the codes.
struct BlockQ8K {
  float d;
  int8_t qs[kBlockElems];
  int16_t bsums[kBlockElems / 16];
};
static_assert(sizeof(BlockQ8K) == 292);

}  // namespace lowbit::kq
