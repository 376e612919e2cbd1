// HQQ's bit packing (specs/other-formats.md §1.2; hqq/core/bitpack.py at e0b1d00e). The
// codes of the grouped 2-D W_q [R, C] (the row-major weight reshaped to [numel/gs, gs] for
// axis 1, [gs, numel/gs] for axis 0) are packed along dim 0:
//   8bit_u8 (8, 6, 5 bits)  uint8 [R, C]       as is
//   4bit_u8                 uint8 [R/2, C]     byte r = W[r] << 4 | W[r + R/2]
//   2bit_u8 (2, 1.58 bits)  uint8 [R/4, C]     W[r] << 6 | W[r+R/4] << 4 | W[r+R/2] << 2 | W[r+3R/4]
//   3bit_32                 int32 [ceil(R/10), C]   R zero-padded to Rp = 10*ceil(R/10);
//                                              slice i (rows i*Rp/10 ..) at bits 27-3i .. 29-3i
//   1bit_u8                 uint8 [R/8, C]     slice i at bit 7-i
// 4/2/1-bit need R divisible by 2/4/8 (the peer's slicing fails otherwise).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace lowbit {

// "8bit_u8", "4bit_u8", "3bit_32", "2bit_u8", "1bit_u8" for nbits 8/6/5, 4, 3, 2, 1
// (Quantizer.bit_to_packing); "" for an nbits HQQ has no packing for.
std::string hqq_packing_for_bits(int nbits);
// Rows of the packed tensor for R grouped rows; -1 if R does not suit the packing or the
// packing is unknown.
int64_t hqq_packed_rows(const std::string& packing, int64_t n_rows);
DType hqq_packed_dtype(const std::string& packing);  // U8, or I32 for 3bit_32

// codes [n_rows, n_cols] -> the packed bytes ([packed_rows, n_cols] of hqq_packed_dtype).
std::vector<uint8_t> hqq_pack_bits(const std::string& packing, const uint8_t* codes, int64_t n_rows, int64_t n_cols);
// The inverse; drops the 3-bit padding rows. `packed` holds packed_rows * n_cols elements.
std::vector<uint8_t> hqq_unpack_bits(const std::string& packing, const uint8_t* packed, int64_t n_rows, int64_t n_cols);

}  // namespace lowbit
