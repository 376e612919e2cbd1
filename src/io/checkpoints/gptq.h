// GPTQ checkpoints (AutoGPTQ / GPTQModel / optimum / transformers / vLLM), specs/gptq.md.
// Per quantized linear (K = n_in, N = n_out, G = ceil(K / group_size)):
//   qweight int32 [K*b/32, N]   codes packed along the input dim (gptq_bits.h)
//   qzeros  int32 [G, N*b/32]   zero points packed along the output dim; v1 ("gptq") stores
//                               z-1, v2 ("gptq_v2") stores z (§1.3)
//   scales  fp16  [G, N]        (the model dtype; transposed w.r.t. nn.Linear)
//   g_idx   int32 [K]           group of each input column (act-order scatters it, §1.5)
// Dequantization: W[n, k] = scales[g, n] * (q[k, n] - z[g, n]), g = g_idx[k].
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "algorithms/quantized_linear.h"
#include "io/checkpoints/named_tensor.h"

namespace lowbit {

enum class GptqCheckpointFormat { V1, V2 };  // "gptq" (z-1 stored) / "gptq_v2" (z stored)

// How a v1 writer lays out zero points; they differ only in words holding a z = 0 field,
// which v1 cannot represent for kernels that add 1 without masking (gptq_bits.h).
enum class GptqV1Zeros {
  FieldWise,  // (z-1) mod 2^b per field: exact under the (field+1) & mask decode (default)
  AutoGptq,   // AutoGPTQ's bytes, including its uint32 overflow into higher fields
  GptqModel,  // GPTQModel's export bytes, including its borrow into the next field
};

// The quantization_config keys a reader needs (§2); the rest are tooling.
struct GptqConfig {
  int bits = 4;
  int group_size = 128;  // -1: one group per output row (per channel)
  bool desc_act = false;
  bool sym = true;
  bool static_groups = false;
  bool true_sequential = true;
  double damp_percent = 0.01;
  GptqCheckpointFormat format = GptqCheckpointFormat::V1;
};

// Reads quantization_config (quant_method "gptq"). Accepts AutoGPTQ's synonyms w_bit /
// q_group_size, and checkpoint_format or format ("gptq", "gptq_v2"); "marlin" and other
// layouts are rejected. Missing sym is true (AutoGPTQ's assumption), missing desc_act false.
GptqConfig gptq_config_from_json(const nlohmann::json& quantization_config, const std::string& where);
// Writes quant_method, bits, group_size, desc_act, sym, damp_percent, true_sequential,
// static_groups, and both checkpoint_format and format (vLLM reads only the former).
nlohmann::json gptq_config_to_json(const GptqConfig& config);

struct GptqPackOptions {
  GptqCheckpointFormat format = GptqCheckpointFormat::V1;
  DType scale_dtype = DType::F16;
  GptqV1Zeros v1_zeros = GptqV1Zeros::FieldWise;
};

// qweight, qzeros, scales, g_idx (always written; k / group_size without act-order).
// Requires bits 2/3/4/8, integer zeros in [0, 2^b), codes < 2^b, n_in and n_out filling
// whole words (3-bit: multiples of 32). A v1 pack with a zero point of 0 gives one warning
// (most kernels decode that field as 2^b; gptq_v2 represents it).
std::vector<NamedTensor> gptq_pack(const QuantizedLinear& q, const GptqPackOptions& options = {},
                                   std::vector<std::string>* warnings = nullptr);

// Reads module.{qweight,qzeros,scales[,g_idx]}. v1 zero fields decode as (field+1) & mask,
// as GPTQModel's loader does; fields that decode to 0 are reported once as a warning,
// because both peers' v1 writers corrupt the neighbouring zero points of such words and no
// loader can undo that (§1.3). g_idx that equals k / group_size comes back empty.
QuantizedLinear gptq_unpack(const TensorSource& src, const std::string& module, const GptqConfig& config,
                            std::vector<std::string>* warnings = nullptr);

}  // namespace lowbit
