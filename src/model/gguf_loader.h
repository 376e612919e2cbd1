// Loads a llama.cpp GGUF model (general.architecture llama, qwen2 or qwen3) into the
// runtime's ModelWeights. Quantized tensors stay packed in their block format (the
// kernels decode them); Q/K rows of llama-arch files are un-permuted back to the HF
// rotate_half layout (specs/gguf.md §2.2), which is exact for quantized rows too because
// every row is a whole number of blocks.
#pragma once
#include <memory>
#include <string>

#include "io/gguf.h"
#include "model/weights.h"

namespace lowbit {

std::unique_ptr<ModelWeights> load_gguf_weights(const std::string& path);
ModelConfig gguf_model_config(const GgufFile& f);

// A model path is a GGUF file or an HF directory (or its model.safetensors).
bool is_gguf_path(const std::string& path);
std::unique_ptr<ModelWeights> load_model_weights(const std::string& path);

}  // namespace lowbit
