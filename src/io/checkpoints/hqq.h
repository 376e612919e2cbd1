// HQQ checkpoints as transformers saves them (specs/other-formats.md §1; hqq/core/quantize.py
// HQQLinear.state_dict at e0b1d00e, encoded_state_dict=True). Per linear X:
//   X.W_q      packed codes (hqq_bits.h)            X.scale, X.zero  compute dtype, [numel/gs, 1]
//   X.shape    int64 [2] = [N, K]                                     (axis 1) or [1, numel/gs] (axis 0)
//   scalars (0-d): nbits, group_size, axis (int32); view_as_float, quant_scale, quant_zero,
//   offload_meta, encoded_state_dict, stores_quant_config, channel_wise, optimize, round_zero
//   (uint8 0/1); strings as uint8 character codes: packing, unpack_view_dtype, compute_dtype.
// Groups are taken from the row-major flattened weight: axis 1 groups gs consecutive
// elements, axis 0 takes every (numel/gs)-th element. Dequantization (Quantizer.dequantize):
//   W.flat[f] = (W_q.flat[f] - zero[c]) * scale[c],  c = f / gs (axis 1) or f % (numel/gs) (axis 0)
// and zero is a real number (HQQ optimises it), not an integer.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "algorithms/quantized_linear.h"
#include "io/checkpoints/named_tensor.h"

namespace lowbit {

// HQQ's own parameterisation of one linear.
struct HqqWeight {
  int64_t n_out = 0;
  int64_t n_in = 0;
  int nbits = 4;           // 1..8 (HQQ's 1.58 reads as 2 with codes 0..2)
  int64_t group_size = 64; // elements per group; divides n_out * n_in
  int axis = 1;
  std::vector<uint8_t> codes;  // [n_out * n_in], row-major
  std::vector<float> scale;    // [n_groups]
  std::vector<float> zero;     // [n_groups]

  int64_t n_groups() const { return n_out * n_in / group_size; }
  int64_t group_of_flat(int64_t f) const { return axis == 1 ? f / group_size : f % n_groups(); }
};

// axis 1 with n_in % group_size == 0 maps onto QuantizedLinear's row groups one to one.
// Anything else (axis 0, groups spanning rows) has no row-group form: it comes back with
// group_size 1, i.e. one scale and zero per weight, which decodes identically.
QuantizedLinear hqq_to_quantized_linear(const HqqWeight& w);
// The inverse: every HQQ group must see one scale and one zero in q (bit-equal), else Error.
HqqWeight hqq_from_quantized_linear(const QuantizedLinear& q, int axis, int64_t group_size);

struct HqqPackOptions {
  DType compute_dtype = DType::F16;  // scale/zero dtype (HQQLinear casts them to it)
  bool view_as_float = false;        // store W_q's bytes viewed as compute_dtype
  bool round_zero = false;           // recorded as metadata (hqq_base_quant_config: nbits == 4)
  bool optimize = true;              // metadata
};

// The full encoded state dict of one HQQLinear (no bias).
std::vector<NamedTensor> hqq_pack(const HqqWeight& w, const HqqPackOptions& options = {});
// hqq_pack(hqq_from_quantized_linear(q, 1, q.group_size)): axis 1, the QuantizedLinear's groups.
std::vector<NamedTensor> hqq_pack(const QuantizedLinear& q, const HqqPackOptions& options = {});

// Reads module.{W_q, scale, zero, shape, nbits, group_size, axis, packing, ...}; the layer
// describes itself, so no config is needed. Rejects quantized or offloaded scale/zero
// (quant_scale / quant_zero / zero_scale) and channel_wise false.
HqqWeight hqq_unpack_weight(const TensorSource& src, const std::string& module);
QuantizedLinear hqq_unpack(const TensorSource& src, const std::string& module);

// transformers HqqConfig: {"quant_method": "hqq", "quant_config": {"weight_quant_params":
// {...}, "scale_quant_params": null, "zero_quant_params": null, "offload_meta": false},
// "skip_modules": [...]}; quant_config may instead map module tags ("self_attn.q_proj") to
// such dicts (dynamic_config).
struct HqqQuantParams {
  int nbits = 4;
  int group_size = 64;
  int axis = 1;
  bool channel_wise = true;
  bool optimize = true;
  bool round_zero = true;
  bool view_as_float = false;
};
struct HqqConfig {
  HqqQuantParams params;
  std::map<std::string, HqqQuantParams> per_module_tag;  // non-empty for dynamic_config
  std::vector<std::string> skip_modules{"lm_head"};
};
HqqConfig hqq_config_from_json(const nlohmann::json& quantization_config, const std::string& where);
nlohmann::json hqq_config_to_json(const HqqConfig& config);

}  // namespace lowbit
