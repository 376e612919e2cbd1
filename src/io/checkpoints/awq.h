// AutoAWQ GEMM checkpoints (specs/awq.md §2, §4), the layout transformers, vLLM and the
// exllama paths read. Per quantized linear (K = n_in, N = n_out, G = K / group_size):
//   qweight int32 [K, N/8]   one row per input feature, 8 output columns per word
//   qzeros  int32 [G, N/8]   zero points stored as is (no -1, unlike GPTQ v1)
//   scales  fp16  [G, N]
// Inside a word, nibble i (bits 4i..4i+3) holds output column 8c + AWQ_ORDER[i] with
// AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7] (awq/utils/packing_utils.py). Only 4-bit exists.
// Dequantization: W[n, k] = scales[g, n] * (q[k, n] - z[g, n]), g = k / group_size.
// GEMV, gemv_fast, marlin and llm-awq layouts are not supported (rejected by the config).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "algorithms/quantized_linear.h"
#include "io/checkpoints/named_tensor.h"

namespace lowbit {

struct AwqConfig {
  int bits = 4;
  int group_size = 128;  // -1: per channel
  bool zero_point = true;
  std::string version = "gemm";
  std::vector<std::string> modules_to_not_convert;
};

// Reads quantization_config (quant_method "awq"; also AutoAWQ's w_bit / q_group_size and
// an upper-case version). Rejects bits != 4, zero_point false, versions other than gemm and
// backend llm-awq, since they store other layouts.
AwqConfig awq_config_from_json(const nlohmann::json& quantization_config, const std::string& where);
// {"quant_method": "awq", "bits", "group_size", "zero_point", "version", "modules_to_not_convert"}
nlohmann::json awq_config_to_json(const AwqConfig& config);

struct AwqPackOptions {
  DType scale_dtype = DType::F16;
};

// qweight, qzeros, scales. Requires 4-bit codes, integer zeros in [0, 15], contiguous groups
// (no act-order g_idx), n_out % 8 == 0 and n_in % group_size == 0.
std::vector<NamedTensor> awq_pack(const QuantizedLinear& q, const AwqPackOptions& options = {});

// Reads module.{qweight,qzeros,scales}.
QuantizedLinear awq_unpack(const TensorSource& src, const std::string& module, const AwqConfig& config);

}  // namespace lowbit
