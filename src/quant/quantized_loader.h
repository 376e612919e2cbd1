// Loads an HF folder whose config.json carries a quantization_config (quant_method gptq,
// awq, hqq or compressed-tensors; lowbit's own output or the peers') into the runtime.
// Each linear is decoded through src/io/checkpoints' unpackers and DEQUANTIZED TO F32 at
// load: the runtime has no kernels for these packed layouts yet (issue 5 item 8 keeps them
// packed), so memory is that of the f32 model. Linears stored as plain ".weight" (modules
// the quantizer skipped) load as they are; embeddings, norms and lm_head as in
// load_hf_weights.
#pragma once
#include <memory>
#include <string>

#include "model/weights.h"

namespace lowbit {

// True if path is a directory (or a file in one) whose config.json has quantization_config.
bool hf_dir_is_quantized(const std::string& path);
std::unique_ptr<ModelWeights> load_quantized_hf_weights(const std::string& dir);

}  // namespace lowbit
