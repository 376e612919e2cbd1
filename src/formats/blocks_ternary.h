// Block layouts of the ternary types TQ1_0 and TQ2_0 (BitNet b1.58 / TriLM weights), byte for
// byte as ggml's ggml-common.h lays them out (../shared/specs/gguf.md §3-4). d holds IEEE
// binary16 bits. Code copies whole blocks with memcpy, so rows need no alignment.
#pragma once
#include <bit>
#include <cstdint>

namespace lowbit::ternary {

static_assert(std::endian::native == std::endian::little, "ternary blocks are read as little-endian");

inline constexpr int kBlockElems = 256;  // QK_K

// TQ1_0, 1.6875 bpw: 5 trits per byte in qs (240 elements), 4 per byte in qh (16), as
// base-3 fixed-point fractions of 256.
struct BlockTq1_0 {
  uint8_t qs[(kBlockElems - 4 * kBlockElems / 64) / 5];  // 48
  uint8_t qh[kBlockElems / 64];                          // 4
  uint16_t d;
};
static_assert(sizeof(BlockTq1_0) == 54);

// TQ2_0, 2.0625 bpw: 2-bit codes q in {0,1,2}, x = (q - 1) * d.
struct BlockTq2_0 {
  uint8_t qs[kBlockElems / 4];
  uint16_t d;
};
static_assert(sizeof(BlockTq2_0) == 66);

}  // namespace lowbit::ternary
