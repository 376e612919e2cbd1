// GPTQ (Frantar et al. 2022), as AutoGPTQ auto_gptq/quantization/gptq.py and GPTQModel
// gptqmodel/quantization/gptq.py run it (specs/gptq.md §3): per-matrix error feedback with
// the upper Cholesky factor of the damped inverse Hessian, lazy 128-column blocks,
// act-order, static groups, min-max group parameters from algorithms/rtn.h.
#pragma once
#include <cstdint>
#include <vector>

#include "algorithms/quantized_linear.h"
#include "algorithms/rtn.h"

namespace lowbit {

// H = (2/n) sum_samples X^T X for one linear's inputs, kept as a running average the way
// GPTQ.add_batch does (gptq.md §3 step 3): n counts samples (sequences), not tokens;
// per batch of b samples: H *= n/(n+b); n += b; H += (2/n) X^T X. fp32, [n_in, n_in].
// add_batch keeps only the upper triangle up to date (one ssyrk, its beta doing the decay);
// matrix() and take() fill in the lower one. Scaling and mirroring all K^2 entries per
// sequence cost more than the ssyrk itself for down_proj's 8192 columns.
class GptqHessian {
 public:
  explicit GptqHessian(int64_t n_in);
  // x: [n_tokens, n_in] row-major, the linear's inputs for n_samples sequences.
  // Throws Error for a non-finite input (it would poison every later column).
  void add_batch(const float* x, int64_t n_tokens, int64_t n_samples = 1);
  int64_t n_in() const { return n_in_; }
  int64_t n_samples() const { return n_samples_; }
  const std::vector<float>& matrix() const;  // symmetric, row-major
  std::vector<float> take();

 private:
  void mirror() const;
  int64_t n_in_;
  int64_t n_samples_ = 0;
  mutable std::vector<float> h_;   // upper triangle current; lower too when !lower_stale_
  mutable bool lower_stale_ = false;
};

struct GptqOptions {
  int bits = 4;              // 2, 3, 4, 8 for checkpoints; 1..8 accepted
  int group_size = 128;      // <= 0: one group per output channel (GPTQ's -1)
  bool sym = true;           // AutoGPTQ default
  bool desc_act = false;     // act-order: process columns by decreasing diag(H)
  bool static_groups = false;  // group params from the original columns before act-order
  float percdamp = 0.01f;    // damp = percdamp * mean(diag(H)) (AutoGPTQ default; optimum uses 0.1)
  // GPTQModel's recovery when Cholesky fails: raise percdamp by this step while it is < 1
  // (0 disables: fail at once).
  float damp_auto_increment = 0.0015f;
  int block_size = 128;      // lazy-batch width
  MseSearch mse;             // Quantizer(mse=...), off by default
};

struct GptqStats {
  double loss = 0.0;          // sum over the matrix of (w - q)^2 / d^2 / 2 (GPTQ's Losses)
  float percdamp_used = 0.0f; // after any automatic increase
  int64_t n_dead = 0;         // input columns with H[k,k] == 0 (zeroed, as GPTQ does)
};

// w: f32 [n_out, n_in] row-major (not modified); h: [n_in, n_in] Hessian (copied; the
// overload taking a vector works in it instead, so a caller done with H saves two K^2 copies:
// 512 MiB for Llama-3.2-1B's down_proj). The result
// has codes in the original column order, scales/zeros [n_out, n_groups] in GPTQ's group
// order, and g_idx always filled the way AutoGPTQ/GPTQModel produce it: i / group_size,
// or invperm[i] / group_size for act-order without static groups (gptq.md §1.5).
// Throws Error for bad shapes/options, non-finite input, or a Hessian that stays
// indefinite after damping.
QuantizedLinear gptq_quantize(const float* w, int64_t n_out, int64_t n_in, const float* h, const GptqOptions& opt,
                              GptqStats* stats = nullptr);
QuantizedLinear gptq_quantize(const float* w, int64_t n_out, int64_t n_in, std::vector<float> h,
                              const GptqOptions& opt, GptqStats* stats = nullptr);

// gptq.md §3 steps 5-6: damp H's diagonal by percdamp * mean(diag(H)), then the upper
// Cholesky factor U of the inverse (U^T U = (H + damp I)^-1), as torch's cholesky ->
// cholesky_inverse -> cholesky(upper=True). h and u are row-major [n, n]; only u's upper
// triangle is meaningful (the rest is zeroed). Returns false if the damped H is not
// positive definite (u is then unspecified).
bool gptq_inverse_cholesky(const float* h, int64_t n, float percdamp, std::vector<float>& u);
// The same in place, with no second n x n buffer: a holds the symmetric H; on success it holds
// U (upper triangle, the rest zeroed), bit for bit what gptq_inverse_cholesky gives; on
// failure it holds H again, so the caller can retry with more damping.
bool gptq_inverse_cholesky_in_place(float* a, int64_t n, float percdamp);

}  // namespace lowbit
