// Block layouts of the legacy 32-element types, byte for byte as ggml's ggml-common.h lays
// them out (../shared/specs/gguf.md §3-4). Fields are packed in order; d/m/s hold IEEE binary16
// bits; qh is a little-endian u32 kept as bytes (as ggml does) so the struct has no padding.
// Code copies whole blocks with memcpy, so rows need no alignment.
#pragma once
#include <bit>
#include <cstdint>

namespace lowbit::legacy {

static_assert(std::endian::native == std::endian::little, "legacy blocks are read as little-endian");

inline constexpr int kBlockElems = 32;  // QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = QK8_1

// Q4_0, 4.5 bpw: x = d * (q - 8); element j in the low nibble of qs[j], j+16 in the high one.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Q4_1, 5 bpw: x = d * q + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// Q5_0, 5.5 bpw: x = d * (q - 16); the 5th bit of element j is bit j of qh.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// Q5_1, 6 bpw: x = d * q + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// Q8_0, 8.5 bpw: x = d * qs[j].
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kBlockElems];
};
static_assert(sizeof(BlockQ8_0) == 34);

// Q8_1 (activations): as Q8_0 plus s = d * sum(qs), which dot products use for Q4_1/Q5_1 mins.
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kBlockElems];
};
static_assert(sizeof(BlockQ8_1) == 36);

}  // namespace lowbit::legacy
