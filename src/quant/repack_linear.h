// QuantizedLinear (what the gptq / awq / hqq / compressed-tensors unpackers decode) -> the
// runtime's packed QMatrix in a group-int format (formats/blocks_group.h), so quantized
// checkpoints run without being dequantized at load. The repack is exact: the packed matrix
// dequantizes to QuantizedLinear::dequantize bit for bit (tests/quant/test_repack_linear.cpp).
//
//   bits 2, 3, 4, 8 keep their width; 1 is stored as 2 and 5..7 as 8 (same values, wider codes).
//   group G: blocks of the largest of 128, 64, 32 that divides both the group size and n_in,
//     with the group's scale and zero repeated in each block (per-channel groups too).
//   act-order (g_idx not i / group_size): columns are reordered so each group is contiguous,
//     and QMatrix::col_perm makes matmul gather the activations in the same order (as exllama
//     does); g_idx whose groups are not all of group_size columns is not repacked.
// When no exact repack exists (a scale or zero not representable in fp16, n_in not a multiple
// of 32, HQQ axis-0 groups, irregular g_idx) the linear is dequantized to f32, which is exact
// too but 4-16x larger; `why_f32` says why so the loader can tell the user.
#pragma once
#include <string>

#include "algorithms/quantized_linear.h"
#include "kernels/qmatrix.h"

namespace lowbit {

QMatrix repack_linear(const QuantizedLinear& q, std::string* why_f32 = nullptr);

}  // namespace lowbit
