// Group-quantized integer rows: the runtime layout lowbit repacks GPTQ, AWQ, HQQ and
// compressed-tensors linears into at load (quant/repack_linear.h), so they stay packed in
// memory and the kernels see one row-contiguous block format (the files on disk are unchanged).
//
// One block = one quantization group of G (32, 64 or 128) consecutive input columns of a row:
//   uint16 d  (fp16 scale)   uint16 z (fp16 zero point, in code units; HQQ's is fractional)
//   G/32 sub-blocks of 32 codes, each sub_block_bytes(bits) bytes
// and decodes, as those checkpoint formats define it, to  w = d * (q - z),  q in [0, 2^bits).
// fp16 meta is what the peers store (GPTQ/AWQ/HQQ scales are fp16), so the repack is exact;
// the loader checks every value and keeps a linear in f32 when one is not fp16-exact.
//
// Codes inside a 32-element sub-block, laid out for SIMD unpacking (as ggml's Q4_0/Q2_K do):
//   8 bits: byte j = element j
//   4 bits: byte j (j < 16) = element j (low nibble) | element j+16 (high nibble)
//   2 bits: byte j (j < 8) bits 2k..2k+1 = element j + 8k, k = 0..3
//   3 bits: the low 2 bits as in the 2-bit layout (8 bytes), then the third bit of element j
//           as bit j of a little-endian u32 (4 bytes)
#pragma once
#include <cstdint>
#include <cstring>

namespace lowbit::group_int {

inline constexpr int kSubElems = 32;
inline constexpr int kHeaderBytes = 4;

constexpr int sub_block_bytes(int bits) { return bits == 3 ? 12 : kSubElems * bits / 8; }
constexpr int block_bytes(int bits, int group) { return kHeaderBytes + group / kSubElems * sub_block_bytes(bits); }

// Codes (each < 2^bits) of 32 elements -> sub-block bytes.
inline void pack_sub_block(int bits, const uint8_t* q, uint8_t* out) {
  switch (bits) {
    case 8:
      std::memcpy(out, q, kSubElems);
      break;
    case 4:
      for (int j = 0; j < 16; ++j) out[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
      break;
    case 2:
    case 3: {
      for (int j = 0; j < 8; ++j) {
        uint8_t b = 0;
        for (int k = 0; k < 4; ++k) b |= static_cast<uint8_t>((q[j + 8 * k] & 3) << (2 * k));
        out[j] = b;
      }
      if (bits == 3) {
        uint32_t hi = 0;
        for (int j = 0; j < kSubElems; ++j) hi |= static_cast<uint32_t>((q[j] >> 2) & 1) << j;
        for (int k = 0; k < 4; ++k) out[8 + k] = static_cast<uint8_t>(hi >> (8 * k));
      }
      break;
    }
  }
}

// Sub-block bytes -> 32 codes.
inline void unpack_sub_block(int bits, const uint8_t* in, uint8_t* q) {
  switch (bits) {
    case 8:
      std::memcpy(q, in, kSubElems);
      break;
    case 4:
      for (int j = 0; j < 16; ++j) {
        q[j] = in[j] & 0x0F;
        q[j + 16] = in[j] >> 4;
      }
      break;
    case 2:
    case 3:
      for (int j = 0; j < 8; ++j)
        for (int k = 0; k < 4; ++k) q[j + 8 * k] = (in[j] >> (2 * k)) & 3;
      if (bits == 3)
        for (int j = 0; j < kSubElems; ++j) q[j] |= static_cast<uint8_t>(((in[8 + j / 8] >> (j % 8)) & 1) << 2);
      break;
  }
}

inline uint16_t header_d(const uint8_t* block) {
  uint16_t v;
  std::memcpy(&v, block, 2);
  return v;
}
inline uint16_t header_z(const uint8_t* block) {
  uint16_t v;
  std::memcpy(&v, block + 2, 2);
  return v;
}

}  // namespace lowbit::group_int
