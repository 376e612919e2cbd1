// HQQ (half-quadratic quantization, mobiusml/hqq @ e0b1d00e hqq/core/quantize.py
// Quantizer.quantize + hqq/core/optimize.py optimize_weights_proximal_legacy), no data:
// min-max grid, then proximal updates of the zero point under an lp (p < 1) error
// (specs/other-formats.md §1.1). This is the fp32 path (HQQ's CPU path); on CUDA HQQ
// runs the optimizer in fp16, so GPU-made checkpoints differ in the last bits.
//
// Grouping is HQQ's reshape of the row-major tensor (numel must divide by group_size):
//   axis 1: group j = flat elements [j*gs, (j+1)*gs)          (a row segment when gs | n_in)
//   axis 0: group j = flat elements {j + r*n_groups : r < gs}  (strided; n_groups = numel/gs)
// The grouped matrix HQQ packs ([numel/gs, gs] or [gs, numel/gs]) is the flat row-major W,
// so codes here are in W's own order for both axes.
#pragma once
#include <cstdint>
#include <vector>

#include "algorithms/quantized_linear.h"

namespace lowbit {

struct HqqOptions {
  int nbits = 4;          // 1..8
  int64_t group_size = 64;  // <= 0: HQQ's group_size=None (one group per row for axis 1, per column for axis 0)
  int axis = 1;           // transformers' default; the standalone Quantizer defaults to 0
  bool optimize = true;
  bool round_zero = false;  // hqq_base_quant_config sets it for 4-bit only
  // optimize_weights_proximal_legacy's opt_params (beta is constant in the legacy solver;
  // kappa is accepted but unused there, as in HQQ).
  float lp_norm = 0.7f;
  float beta = 10.0f;
  float kappa = 1.01f;
  int iters = 20;
};

struct HqqResult {
  int64_t n_out = 0, n_in = 0;
  int nbits = 4;
  int axis = 1;
  int64_t group_size = 0;     // elements per group (n_in / n_out for group_size None)
  std::vector<uint8_t> codes; // [n_out * n_in], W's row-major order (HQQ's unpacked W_q)
  std::vector<float> scale;   // [n_groups]: meta['scale'] = 1 / s_inv (fp32)
  std::vector<float> zero;    // [n_groups]: meta['zero'], a real number even with round_zero
  int n_iters_run = 0;        // optimizer iterations executed (the last one is the worse one)

  int64_t n_groups() const { return static_cast<int64_t>(scale.size()); }
  int64_t group_of(int64_t flat) const { return axis == 1 ? flat / group_size : flat % n_groups(); }
  // HQQ dequantize: (W_q - zero) * scale.
  float dequant(int64_t flat) const {
    const int64_t g = group_of(flat);
    return (static_cast<float>(codes[flat]) - zero[g]) * scale[g];
  }
  // The QuantizedLinear view (w = scale * (code - zero), groups along the input dim): only
  // for axis 1 with groups inside rows (n_in % group_size == 0); throws Error otherwise,
  // since axis-0 groups run down the output dimension.
  QuantizedLinear to_linear() const;
};

// HQQ's hqq_base_quant_config defaults: round_zero only for 4-bit, optimize on.
inline HqqOptions hqq_base_options(int nbits, int64_t group_size = 64, int axis = 1) {
  HqqOptions o;
  o.nbits = nbits;
  o.group_size = group_size;
  o.axis = axis;
  o.round_zero = nbits == 4;
  return o;
}

// w: f32 [n_out, n_in] row-major. Throws lowbit::Error for bad options, a group size that
// does not divide numel, or non-finite weights.
HqqResult hqq_quantize(const float* w, int64_t n_out, int64_t n_in, const HqqOptions& opt);

}  // namespace lowbit
