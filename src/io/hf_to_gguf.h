// The pieces of the HF -> GGUF conversion (hf_to_gguf.cpp) that build a ModelSource: the
// skeleton (llama.* metadata, tokenizer.ggml.*, rope_freqs.weight), tensor names, and the
// Q/K row permutation. hf_model_source (io/gguf_source.h) adds every float tensor with
// add_hf_float_tensor; `lowbit convert` (quant/quantized_to_gguf.h) adds its own packed
// linears beside them, so both write the same names, shapes and metadata.
// specs/gguf.md §2 (keys), §2.1 (names, reversed shapes, F32 norms), §2.2 (Q/K permutation).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/gguf_source.h"
#include "io/hf_config.h"

namespace lowbit {

struct SafetensorsTensor;

// Refuses (Error naming dir) anything but Llama / Mistral with consistent sizes.
void check_hf_gguf_config(const ModelConfig& c, const std::string& dir);

// A ModelSource with the converter's metadata and, for llama3 rope scaling,
// rope_freqs.weight; no weights yet, no safetensors attached.
std::unique_ptr<ModelSource> hf_gguf_skeleton(const std::string& dir, const ModelConfig& c);

// HF tensor name -> GGUF name; "" for tensors the converter drops (rotary inv_freq).
// Throws Error naming dir for a name a Llama model does not have.
std::string hf_gguf_name(const std::string& hf_name, const std::string& dir);

// The heads whose rows llama.cpp permutes in a GGUF tensor: n_heads for attn_q.*,
// n_kv_heads for attn_k.*, 0 for every other tensor.
int hf_gguf_permute_heads(const std::string& gguf_name, const ModelConfig& c);

// Rows of q_proj/k_proj from HF's rotate_half order to llama.cpp's interleaved pairs. Rows
// move whole (row_bytes each), so it applies to packed block rows as well as to floats.
std::vector<uint8_t> permute_qk_rows(const uint8_t* src, int64_t n_rows, size_t row_bytes, int n_heads,
                                     const std::string& name, const std::string& dir);

// Appends one float safetensors tensor as convert_hf_to_gguf writes it: GGUF name, reversed
// shape, Q/K permutation, 1-D tensors and norms as F32, other F32/F16/BF16 as they are.
// Dropped tensors are skipped. The data stays in the mapping unless it had to change.
void add_hf_float_tensor(ModelSource& s, const SafetensorsTensor& t, const ModelConfig& c, const std::string& dir);

}  // namespace lowbit
