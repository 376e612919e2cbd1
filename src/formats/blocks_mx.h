// Block layout of MXFP4 as ggml stores it (ggml type 39; ../shared/specs/gguf.md §3-4 and
// fp8-and-microscaling.md): one E8M0 shared exponent and 32 E2M1 codes, nibble order as Q4_0
// (element j in the low nibble of qs[j], j+16 in the high one).
#pragma once
#include <cstdint>

namespace lowbit::mx {

inline constexpr int kBlockElems = 32;  // QK_MXFP4

struct BlockMxfp4 {
  uint8_t e;  // E8M0: 2^(e-127)
  uint8_t qs[kBlockElems / 2];
};
static_assert(sizeof(BlockMxfp4) == 17);

// ggml's kvalues_mxfp4: the E2M1 values doubled (so they are integers); the decoder pairs
// them with half the E8M0 scale, 2^(e-128).
inline constexpr int8_t kValuesMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

}  // namespace lowbit::mx
