// The model-level side of the checkpoint formats for quantize_hf: which linears a format can
// hold, packing one layer's linears through src/io/checkpoints, and the quantization_config
// transformers / vLLM read (specs/gptq.md §2, awq.md §4, compressed-tensors.md §1,
// other-formats.md §1).
//
// Rule for shapes a format cannot hold (e.g. stories260K's 172-wide MLP under GPTQ's int32
// packing, or a group size that does not divide n_in): the linear stays unquantized in the
// source dtype and is named in the format's skip list (GPTQ: GPTQModel's "dynamic" negative
// rules plus optimum's modules_in_block_to_quantize; AWQ: modules_to_not_convert;
// compressed-tensors: ignore; HQQ: skip_modules). quantize_hf reports each one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "algorithms/hqq.h"
#include "algorithms/quantized_linear.h"
#include "core/dtype.h"
#include "io/checkpoints/named_tensor.h"
#include "quant/hf_quantize.h"

namespace lowbit {

// Empty if the format can store a [n_out, n_in] linear with these options; else the reason.
std::string checkpoint_cannot_hold(const HfQuantizeOptions& opt, int64_t n_out, int64_t n_in);
// Checks the method/format/bits/group combination once, before any work (Error on --to/--format).
void check_method_and_format(const HfQuantizeOptions& opt);

// One quantized linear's tensors (suffixes, e.g. "qweight"). hqq is used for the HQQ format,
// q for every other one. scale_dtype: the model dtype for scales (F16 or BF16).
std::vector<NamedTensor> pack_linear(const HfQuantizeOptions& opt, const QuantizedLinear* q, const HqqResult* hqq,
                                     DType scale_dtype, std::vector<std::string>* warnings);

// quantization_config for config.json. skipped: full module names kept unquantized;
// skipped_in_block: the same as names inside a block ("mlp.down_proj"), for optimum.
nlohmann::json make_quantization_config(const HfQuantizeOptions& opt, const std::vector<std::string>& skipped,
                                        const std::vector<std::string>& quantized_in_block);

}  // namespace lowbit
