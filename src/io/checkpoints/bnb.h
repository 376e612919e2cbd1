// bitsandbytes weights as transformers saves them (specs/bitsandbytes.md; bitsandbytes @
// 95f9af30 functional.py and backends/default/ops.py). Decoders only: NF4/FP4 codes index a
// 16-entry table, which QuantizedLinear (integer codes, affine scale) cannot express, so 4-bit
// weights come back in their own form; LLM.int8 rows are affine and also map onto
// QuantizedLinear.
//
// 4-bit, module X (weight [N, K], blocksize B over the row-major flattened weight):
//   X.weight  uint8 [ceil(N*K/2), 1] (other quant_storage dtypes: the same bytes)
//             byte i: element 2i in the HIGH nibble, 2i+1 in the LOW nibble
//   X.weight.absmax fp32 [n_blocks], or uint8 codes with double quant, then also
//   X.weight.nested_absmax fp32, X.weight.nested_quant_map fp32 [256]
//   X.weight.quant_map fp32 [16]
//   X.weight.quant_state.bitsandbytes__nf4 (or __fp4): uint8 JSON {"quant_type", "blocksize",
//             "dtype", "shape", ["nested_blocksize", "nested_dtype", "nested_offset"]}
// Dequantization (functional.dequantize_4bit): with double quant the block absmax is
//   nested_quant_map[absmax[b]] * nested_absmax[b / nested_blocksize] + nested_offset (fp32);
//   w = quant_map[code] * absmax[e / B] in fp32, then cast to dtype.
// LLM.int8, module X: X.weight int8 [N, K] (CB), X.SCB fp32 [N], X.weight_format uint8 0-d
//   ("row" = 0, others rejected). Dequantization (int8_vectorwise_dequant default kernel):
//   w = (CB * SCB) * 7.874015718698502e-3 in fp32.
#pragma once
#include <string>
#include <vector>

#include "algorithms/quantized_linear.h"
#include "io/checkpoints/named_tensor.h"

namespace lowbit {

struct Bnb4bitWeight {
  std::string quant_type;        // "nf4" or "fp4"
  int64_t blocksize = 64;
  std::vector<int64_t> shape;    // original weight shape, e.g. [N, K]
  DType dtype = DType::F16;      // original weight dtype ("float16", "bfloat16", "float32")
  std::vector<uint8_t> codes;    // [n_elems] 4-bit indices into quant_map
  std::vector<float> quant_map;  // [16]
  std::vector<float> absmax;     // [n_blocks], double quant already undone

  int64_t n_elems() const;
  // fp32 values (before the cast to dtype), row-major, n_elems entries.
  void dequantize(float* out) const;
};

Bnb4bitWeight bnb4_unpack(const TensorSource& src, const std::string& module);

struct BnbInt8Weight {
  int64_t n_out = 0;
  int64_t n_in = 0;
  std::vector<int8_t> cb;   // [n_out * n_in]
  std::vector<float> scb;   // [n_out] row absmax

  void dequantize(float* out) const;  // bitsandbytes' fp32 order of operations
  // Codes cb + 128, zero 128, scale scb / 127 per row: the same values up to the last bit
  // (the division is folded into the scale).
  QuantizedLinear to_quantized_linear() const;
};

BnbInt8Weight bnb_int8_unpack(const TensorSource& src, const std::string& module);

}  // namespace lowbit
