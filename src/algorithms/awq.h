// AWQ (activation-aware weight quantization), as AutoAWQ @ 88e4c76b awq/quantize/quantizer.py
// runs it (specs/awq.md §1, §5): per-input-channel scale search over the activation-magnitude
// grid, clipping search, then group quantization with AutoAWQ's pseudo_quantize_tensor.
//
// Division of labour: these functions find scales and clip values and quantize; folding the
// scales into the preceding RMSNorm / linear (so the network function is unchanged) and
// feeding each scaling group's inputs belong to the layer-wise pipeline. The small fold
// helpers at the end do the arithmetic of awq.md §5 step 5 for it.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "algorithms/quantized_linear.h"

namespace lowbit {

struct AwqOptions {
  int bits = 4;              // AutoAWQ packs 4 only; the search works for 1..8
  int group_size = 128;      // <= 0: one group per row; otherwise must divide n_in
  bool zero_point = true;    // asymmetric (AutoAWQ default); false: max|w| / (2^(b-1) - 1)
  bool fp16 = true;          // pseudo-quantize in fp16 one op at a time, as AutoAWQ does on
                             // its fp16 model (bit-exact with it); false: plain fp32
  // Scale search (_search_best_scale / _compute_best_scale)
  bool duo_scaling = true;   // s = x_mean^a / (w_mean^(1-a) + 1e-4); false: x_mean^a (llm-awq)
  int n_grid = 20;           // a = 0, 1/n_grid, ..., (n_grid-1)/n_grid
  int64_t max_search_tokens = 0;  // 0: all tokens in the loss; else an even subsample (CPU time)
  // Clip search (_compute_best_clip)
  int clip_n_grid = 20;
  float max_shrink = 0.5f;
  int64_t clip_n_sample_tokens = 512;
};

// ---- pseudo_quantize_tensor (awq.md §1) --------------------------------------------------
// Codes/scales/zeros of w [n_out, n_in] on AutoAWQ's grid; w_hat (optional, [n_out*n_in]) gets
// the fake-quantized weight (q - z) * s, fp16-rounded in fp16 mode. In fp16 mode the input is
// first rounded to fp16 and every scale is an fp16 value. zero_point=false stores codes
// q + 2^(b-1) with zeros 2^(b-1) so QuantizedLinear's formula holds.
QuantizedLinear awq_pseudo_quantize(const float* w, int64_t n_out, int64_t n_in, const AwqOptions& opt,
                                    float* w_hat = nullptr);

// ---- scale search (awq.md §5 steps 3-4) ----------------------------------------------------
// One scaling group: the linears that read the same input (q/k/v, gate/up, or one linear),
// each [n_out_j, n_in] row-major.
struct AwqLinearRef {
  const float* w = nullptr;
  int64_t n_out = 0;
};

// The caller's loss for a candidate: gets the fake-quantized weights Q(W_j * s) / s of each
// linear (same shapes as the inputs) and returns the error of the inspected module
// (AutoAWQ: mean squared difference of module2inspect's output vs the original).
using AwqModuleLoss = std::function<double(const std::vector<const float*>& w_hat)>;

struct AwqScaleResult {
  std::vector<float> scales;   // [n_in], the per-input-channel scale s (W[:, j] *= s[j])
  float best_ratio = 0.0f;     // the alpha that won; -1: none had a finite loss, s = 1
  std::vector<double> losses;  // one per grid point
};

// x: the group's input activations [n_tokens, n_in] (the original, unscaled ones). Without a
// module loss the loss is AutoAWQ's for module2inspect = the linears themselves:
// sum over tokens and outputs of (x W_hat^T - x W^T)^2 / numel, all linears concatenated.
// Throws Error for bad shapes or non-finite inputs. If no grid point gives a finite loss
// (fp16 overflow of W * s), the result is s = 1 with best_ratio = -1 (AutoAWQ raises there).
AwqScaleResult awq_search_scales(const std::vector<AwqLinearRef>& linears, int64_t n_in, const float* x,
                                 int64_t n_tokens, const AwqOptions& opt, const AwqModuleLoss& module_loss = {});

// Statistics the search uses, exposed for tests and the pipeline's reporting:
// x_mean[j] = mean over tokens of |x[:, j]|; w_mean[j] = mean over all rows of the group-
// normalised |w| (|w| / (max over the quantization group of |w| + 1e-6)).
std::vector<float> awq_x_mean(const float* x, int64_t n_tokens, int64_t n_in);
std::vector<float> awq_w_mean(const std::vector<AwqLinearRef>& linears, int64_t n_in, int group_size);

// ---- clipping search (awq.md §5 step 6) -----------------------------------------------------
// Best max |w| per (row, group) [n_out * n_groups] for w [n_out, n_in] (already scaled by s)
// and its input x [n_tokens, n_in] (already divided by s). Tokens are subsampled with stride
// max(1, n_tokens / clip_n_sample_tokens) as AutoAWQ does. AutoAWQ skips q/k projections; the
// caller decides.
std::vector<float> awq_search_clip(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_tokens,
                                   const AwqOptions& opt);
// w = clamp(w, -max, max) per (row, group).
void awq_apply_clip(float* w, int64_t n_out, int64_t n_in, const std::vector<float>& max_val, int group_size);

// ---- the whole per-linear flow, for callers without a preceding op to fold into -----------
// Scale search on this one linear, W * s, clip search (x / s) if clip, pseudo-quantize. The
// result's input_scales holds s: it dequantizes to W*s, so the effective weight is
// dequant[:, j] / s[j] (or fold 1/s into whatever produces x).
QuantizedLinear awq_quantize(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_tokens,
                             const AwqOptions& opt, bool clip = true);

// ---- folding helpers (awq.md §5 step 5) ------------------------------------------------------
void awq_scale_input_columns(float* w, int64_t n_out, int64_t n_in, const float* s);    // W[:, j] *= s[j]
void awq_fold_into_norm(float* norm_weight, float* norm_bias, int64_t n, const float* s);  // /= s (bias may be null)
// Previous linear [n_out_prev, n_in_prev]: its last n_s output rows (and bias) /= s.
void awq_fold_into_linear(float* w_prev, float* bias_prev, int64_t n_out_prev, int64_t n_in_prev, const float* s,
                          int64_t n_s);

}  // namespace lowbit
