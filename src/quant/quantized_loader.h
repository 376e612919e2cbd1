// Loads an HF folder whose config.json carries a quantization_config (quant_method gptq,
// awq, hqq or compressed-tensors; lowbit's own output or the peers') into the runtime.
// Linears are read through quant/quantized_source.h; linears stored as plain ".weight"
// (modules the quantizer skipped) load as they are; embeddings, norms and lm_head as in
// load_hf_weights.
#pragma once
#include <memory>
#include <string>

#include "model/weights.h"
#include "quant/quantized_source.h"

namespace lowbit {

std::unique_ptr<ModelWeights> load_quantized_hf_weights(const std::string& dir);

}  // namespace lowbit
