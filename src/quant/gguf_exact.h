// Which GGUF block type holds a QuantizedLinear exactly, and packing it into that type.
//
// "Exact" means the GGUF file decodes to the same weights as the checkpoint's formula
// w = scale * (code - zero) (algorithms/quantized_linear.h) for every element. A legacy
// llama.cpp type (specs/gguf.md §3-4, formats/blocks_legacy.h) has one fp16 scale per
// 32 columns, so a linear maps onto one only when every 32-column block lies in one group
// (group size and n_in multiples of 32, no act-order g_idx that mixes groups inside a
// block) and every scale is an fp16 value (float -> f16 -> float gives it back). Then:
//   - same width, codes stored as they are:
//       symmetric (every zero == 2^(bits-1)): 4 bits -> Q4_0, 5 -> Q5_0, 8 -> Q8_0, whose
//       d * (q - 2^(bits-1)) is the same product;
//       asymmetric 4 / 5 bits -> Q4_1 / Q5_1 (d * q + m) only if m = -scale * zero is an
//       fp16 value and d * q + m equals scale * (q - zero) for every code. Integer zeros
//       with ordinary scales almost never pass: the min needs the scale's 11 significant
//       bits plus the zero's, more than fp16 has.
//   - wider (opt-in: `convert --widen`), integer zeros only: k = code - zero is a small
//     integer and scale * k is what Q4_0 / Q5_0 / Q8_0 decode from the stored code
//     k + 8 / k + 16 / k, so the smallest whose range holds every k is exact at more bits
//     (2/3-bit -> Q4_0, asymmetric 4-bit -> Q5_0, asymmetric 5..7-bit -> Q8_0).
// K-quants are never exact for these checkpoints: their sub-block scales are 6-bit
// integers times an fp16 super-scale, a grid the checkpoint's fp16 scales do not lie on.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "algorithms/quantized_linear.h"
#include "formats/registry.h"

namespace lowbit {

struct ExactGgufType {
  bool exact = false;             // at the checkpoint's width
  FormatId type = FormatId::F32;  // when exact: Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0
  std::string why_not;            // when not: the first check that failed, for messages
  bool widens = false;            // when not exact: a wider type holds it exactly
  FormatId wide_type = FormatId::F32;  // when widens: Q4_0, Q5_0 or Q8_0
  std::string why_not_wide;       // when neither
};

ExactGgufType exact_gguf_type(const QuantizedLinear& q);

// Packs q into `type` (exact_gguf_type's type or wide_type for it): n_out rows of
// format(type).row_bytes(n_in) bytes, in q's row order (gguf_exact_pack.cpp). Throws Error
// if a stored code would not fit the type.
std::vector<uint8_t> pack_exact_gguf(const QuantizedLinear& q, FormatId type);

// "" if every scale and zero is finite, else which one is not (a corrupt checkpoint).
std::string non_finite_parameter(const QuantizedLinear& q);

// "4-bit sym g128", "8-bit asym per-channel", "4-bit sym g128 act-order": symmetric when
// every zero is 2^(bits-1), act-order when g_idx is not i / group_size.
std::string describe_quantized_linear(const QuantizedLinear& q);

// The ggml type to suggest for --requantize: the K-quant of the same width when rows are
// multiples of 256, else a legacy 32-column type, else F16.
std::string suggested_requantize_type(const QuantizedLinear& q);

}  // namespace lowbit
