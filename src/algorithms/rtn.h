// Round-to-nearest (RTN) weight quantization with GPTQ's grid conventions, and the shared
// min-max parameter rule that GPTQ calls for every group.
//
// Parameter rule = AutoGPTQ auto_gptq/quantization/quantizer.py Quantizer.find_params
// (perchannel=True, weight=True), specs/gptq.md §3 "Per-group parameter rule", in fp32:
//   xmin = min(0, min(x)), xmax = max(0, max(x))
//   sym:  xmax = max(|xmin|, xmax); if xmin < 0: xmin = -xmax
//   xmin == xmax == 0  ->  xmin = -1, xmax = +1
//   scale = (xmax - xmin) / maxq,  maxq = 2^bits - 1
//   zero  = sym ? (maxq + 1) / 2 : round(-xmin / scale)        (round half to even, as torch)
// and the code of w is clamp(round(w / scale) + zero, 0, maxq) (a division, as quantize()).
// Quirks kept on purpose, because checkpoints and goldens depend on them: the range always
// includes 0; symmetric groups with no negative value keep xmin = 0, so their positive half
// clips at maxq (code - zero <= maxq/2).
// Optional mse=True search (Quantizer(mse=True)): shrink the range by p = 1 - i/grid for
// i < maxshrink*grid, keep the p minimising sum |dequant - x|^norm per row.
#pragma once
#include <cstdint>

#include "algorithms/quantized_linear.h"

namespace lowbit {

struct GridParams {
  float scale = 1.0f;
  float zero = 0.0f;  // integer-valued, in code units
};

struct MseSearch {
  bool enabled = false;
  float norm = 2.4f;
  int grid = 100;
  float max_shrink = 0.8f;
};

// find_params over n_elems values x[0], x[stride], ... of one row's group.
GridParams gptq_find_params(const float* x, int64_t n_elems, int64_t stride, int bits, bool sym,
                            const MseSearch& mse = {});

inline int gptq_maxq(int bits) { return (1 << bits) - 1; }

// clamp(round(w / scale) + zero, 0, maxq), round half to even. NaN w gives code 0
// (callers reject non-finite weights first).
uint8_t gptq_code(float w, GridParams p, int maxq);
// scale * (code - zero): what GPTQ writes into layer.weight (AutoGPTQ quantize()).
inline float gptq_dequant(uint8_t code, GridParams p) { return p.scale * (static_cast<float>(code) - p.zero); }

struct RtnOptions {
  int bits = 4;          // 1..8 (GPTQ checkpoints: 2, 3, 4, 8)
  int group_size = 128;  // columns per group; <= 0 means per output channel (one group)
  bool sym = true;       // AutoGPTQ's default
  MseSearch mse;         // off by default, as in GPTQ
};

// w: f32 [n_out, n_in] row-major. With g_idx (n_in entries, values in [0, n_groups)) the
// parameters of group g come from the columns with g_idx == g, as for act-order checkpoints;
// without it group g is columns [g*group_size, (g+1)*group_size). The result's group_size
// is n_in for per-channel. Throws lowbit::Error for bad sizes/options, non-finite weights
// or an out-of-range g_idx.
QuantizedLinear rtn_quantize(const float* w, int64_t n_out, int64_t n_in, const RtnOptions& opt,
                             const int32_t* g_idx = nullptr);

// Shared option checks (also used by GPTQ): throws Error("<what>", reason). A group_size
// larger than n_in is accepted (one partial group).
void check_grid_options(const char* what, int64_t n_out, int64_t n_in, int bits, int group_size);
// Throws Error(what, "non-finite weight at row r, column c") for the first NaN/Inf.
void check_finite_weights(const char* what, const float* w, int64_t n_out, int64_t n_in);

}  // namespace lowbit
