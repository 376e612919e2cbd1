// compressed-tensors checkpoints (llm-compressor / vLLM), format "pack-quantized"
// (specs/compressed-tensors.md §1, §2.1, §3; neuralmagic/compressed-tensors @ 52792be0
// pack_quantized.py). Per quantized linear X (weight [N, K], b bits, pf = 32 / b):
//   X.weight_packed      int32 [N, ceil(K / pf)]    signed codes + 2^(b-1), element j of a word
//                                                    at bits [b*j, b*j+b), zero padding
//   X.weight_scale       model dtype [N, G] (group) or [N, 1] (channel)
//   X.weight_zero_point  int32 [ceil(N / pf), G]   only asymmetric: packed along dim 0
//   X.weight_shape       int64 [2] = [N, K]        (torch.tensor(weight.shape))
//   X.weight_g_idx       int32 [K]                 only actorder "group"
// Dequantization: W[n, k] = (q_signed - zp_signed) * scale[n, g]. In QuantizedLinear terms the
// codes are the unsigned fields and zeros = zp_signed + 2^(b-1) (symmetric: 2^(b-1)).
// For 3-bit this is the 2025 layout (10 values per word, 2 bits unused), not the 2026 dense
// bitstream.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "algorithms/quantized_linear.h"
#include "io/checkpoints/named_tensor.h"

namespace lowbit {

enum class CtStrategy { Tensor, Channel, Group, Block, Token, TensorGroup, AttnHead };

// QuantizationArgs (quant_args.py); only what decoding needs is interpreted, the rest kept.
struct CtQuantArgs {
  int num_bits = 8;
  std::string type = "int";  // "int" or "float"
  bool symmetric = true;
  std::optional<int> group_size;  // > 0 for group strategies, -1 channel
  CtStrategy strategy = CtStrategy::Tensor;
  bool dynamic = false;
  std::string actorder;  // "", "group", "weight"
  std::string observer = "minmax";
};

struct CtScheme {
  std::vector<std::string> targets;  // class names ("Linear") or "re:<regex>" on module names
  std::optional<CtQuantArgs> weights;
  std::optional<CtQuantArgs> input_activations;
  std::optional<CtQuantArgs> output_activations;
  std::string format;  // per-scheme format ("mixed-precision" configs), else ""
};

struct CtConfig {
  std::string format = "pack-quantized";
  std::string quantization_status = "compressed";
  std::string version = "0.11.0";
  std::vector<std::pair<std::string, CtScheme>> config_groups;
  std::vector<std::string> ignore;
  nlohmann::json kv_cache_scheme;  // null unless present
  nlohmann::json sparsity_config = nlohmann::json::object();
};

// The two presets issue 5 writes (quant_scheme.py): W4A16 (int4, group 128, symmetric) and
// W8A16 (int8, channel, symmetric); group_size <= 0 means channel, sym false adds zero points.
CtScheme ct_scheme_w4a16(int group_size = 128, bool symmetric = true);
CtScheme ct_scheme_w8a16(bool symmetric = true);
// The scheme's weights args, derived from a QuantizedLinear (bits, group size or channel,
// symmetric, actorder group when it carries g_idx).
CtQuantArgs ct_weight_args_for(const QuantizedLinear& q);

CtConfig ct_config_from_json(const nlohmann::json& quantization_config, const std::string& where);
nlohmann::json ct_config_to_json(const CtConfig& config);

// The scheme that applies to a module, as compressed-tensors matches it: a target or ignore
// entry matches if it equals the module name, or is "re:<regex>" and the regex matches at the
// start of the name (Python re.match), or equals the class name. Ignored or unmatched: nullptr.
const CtScheme* ct_scheme_for(const CtConfig& config, const std::string& module_name,
                              const std::string& class_name = "Linear");
// The format a module's weights are stored in: the scheme's own, else the config's.
std::string ct_format_for(const CtConfig& config, const CtScheme& scheme);

// pack_to_int32 / unpack_from_int32: signed values [rows, cols] in [-2^(b-1), 2^(b-1)) packed
// along dim 1 ([rows, ceil(cols/pf)]) or dim 0 ([ceil(rows/pf), cols]); b in 1..8.
std::vector<int32_t> ct_pack_int32(const int8_t* values, int64_t rows, int64_t cols, int bits, int packed_dim);
std::vector<int8_t> ct_unpack_int32(const int32_t* packed, int64_t rows, int64_t cols, int bits, int packed_dim);

struct CtPackOptions {
  DType scale_dtype = DType::F16;  // the model dtype
};

// weight_packed, weight_scale, weight_shape (+ weight_zero_point when asymmetric, + weight_g_idx
// when q carries act-order g_idx). `args` must be int, group or channel, num_bits = q.bits, and
// agree with q (group size, symmetric zeros = 2^(b-1), actorder "group" for g_idx).
std::vector<NamedTensor> ct_pack(const QuantizedLinear& q, const CtQuantArgs& args, const CtPackOptions& options = {});

// Reads a pack-quantized module (strategies group, channel and tensor).
QuantizedLinear ct_unpack(const TensorSource& src, const std::string& module, const CtQuantArgs& args);

}  // namespace lowbit
