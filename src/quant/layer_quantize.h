// Quantizes one decoder layer's linears with RTN, GPTQ, AWQ or HQQ, given the calibration
// hidden states entering the layer (GPTQ, AWQ). On return the layer's weights hold the
// dequantized values (so the next layer's inputs see the quantization error, as in
// GPTQModel's sequential pipeline) and, for AWQ, its norms / previous linears hold the folded
// input scales.
//
// GPTQ (specs/gptq.md §3, true_sequential): [q, k, v] share the Hessian of the attention
// input; o_proj's input is recomputed after q/k/v are quantized; [gate, up] share the MLP
// input's, recomputed after o; down_proj's after gate/up. Hessians accumulate per sequence
// (n counts samples, GPTQ.add_batch).
// AWQ (specs/awq.md §5, AutoAWQ's per-layer order): one forward captures every linear's
// input; scaling groups input_layernorm -> [q,k,v] (loss: self_attn output), v -> o (only
// without GQA, when the shapes match), post_attention_layernorm -> [gate, up] (loss: MLP
// output), up -> down; scales fold into the norm / previous linear; clip search for all but
// q/k; then pseudo-quantize. CPU budget: the AWQ captures and losses use the first
// awq_search_tokens worth of whole sequences (AutoAWQ uses all 128 x 512 tokens).
#pragma once
#include <array>
#include <optional>

#include "algorithms/hqq.h"
#include "algorithms/quantized_linear.h"
#include "quant/hf_quantize.h"
#include "quant/layer_forward.h"

namespace lowbit {

struct LayerQuantResult {
  std::array<std::optional<QuantizedLinear>, kNumLinearKinds> q;  // RTN / GPTQ / AWQ
  std::array<std::optional<HqqResult>, kNumLinearKinds> hqq;       // HQQ
  double forward_s = 0.0, stats_s = 0.0, solve_s = 0.0;            // QuantTimes' parts for this layer
};

// x: the layer's calibration inputs [n_seqs * runner.seq_len(), hidden] (unused, may be
// null, for RTN and HQQ). quantize[k]: whether linear k is quantized (the format can hold
// it); the others keep their f32 values (possibly rescaled by AWQ, which keeps the layer's
// function).
LayerQuantResult quantize_layer(LayerF32& L, int layer, const ModelConfig& c, const HfQuantizeOptions& opt,
                                LayerRunner* runner, const float* x, int n_seqs,
                                const std::array<bool, kNumLinearKinds>& quantize);

}  // namespace lowbit
