// HQQ Quantizer.quantize + optimize_weights_proximal_legacy, fp32, op for op (see hqq.h).
// Element-wise steps use the same fp32 operations in the same order as the torch code; the
// reductions (group means, the whole-tensor error) are summed in double, which is within an
// ulp or so of torch's pairwise fp32 sums: the goldens hold to 1e-6 relative.
#include "algorithms/hqq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace lowbit {
namespace {

// clamp(round(w * s_inv + z), 0, qmax): torch.round is half-to-even (nearbyint).
inline float hqq_code(float w, float s_inv, float z, float qmax) {
  const float v = std::nearbyint(w * s_inv + z);
  return std::min(std::max(v, 0.0f), qmax);
}

// shrink_lp_op: sign(x) * relu(|x| - (1/beta) * |x|^(p-1))   (|x| - 1/beta for p == 1)
inline float shrink_lp(float x, float inv_beta, float p_minus_1, bool l1) {
  const float a = std::fabs(x);
  float out = l1 ? a - inv_beta : a - inv_beta * std::pow(a, p_minus_1);
  out = std::max(out, 0.0f);
  const float sign = x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
  return out * sign;
}

}  // namespace

QuantizedLinear HqqResult::to_linear() const {
  if (axis != 1 || group_size <= 0 || n_in % group_size != 0)
    fail("hqq", "only axis-1 groups that tile the input dimension map to QuantizedLinear (axis " +
                    std::to_string(axis) + ", group " + std::to_string(group_size) + ", n_in " + std::to_string(n_in) + ")");
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = nbits;
  q.group_size = static_cast<int>(group_size);
  q.sym = false;
  q.codes = codes;
  q.scales = scale;  // group j = o * (n_in / gs) + i / gs: the same order as [n_out, n_groups]
  q.zeros = zero;
  return q;
}

HqqResult hqq_quantize(const float* w, int64_t n_out, int64_t n_in, const HqqOptions& opt) {
  if (n_out <= 0 || n_in <= 0) fail("hqq", "empty weight");
  if (n_in > (int64_t{1} << 40) / n_out) fail("hqq", "weight is too large");
  if (opt.nbits < 1 || opt.nbits > 8) fail("hqq", "nbits must be in 1..8, got " + std::to_string(opt.nbits));
  if (opt.axis != 0 && opt.axis != 1) fail("hqq", "axis must be 0 or 1");
  if (opt.optimize && (!(opt.beta > 0.0f) || !(opt.lp_norm > 0.0f && opt.lp_norm <= 1.0f) || opt.iters < 0))
    fail("hqq", "optimizer needs beta > 0, 0 < lp_norm <= 1, iters >= 0");
  if (w == nullptr) fail("hqq", "no weight data");
  const int64_t numel = n_out * n_in;
  const int64_t gs = opt.group_size > 0 ? opt.group_size : (opt.axis == 1 ? n_in : n_out);
  if (numel % gs != 0)
    fail("hqq", "group_size " + std::to_string(gs) + " does not divide the " + std::to_string(numel) + " weights");
  for (int64_t i = 0; i < numel; ++i)
    if (!std::isfinite(w[i]))
      fail("hqq", "non-finite weight at row " + std::to_string(i / n_in) + ", column " + std::to_string(i % n_in));

  const int64_t M = numel / gs;  // number of groups
  // Group j's elements contiguous: G[j*gs + t].
  auto flat_index = [&](int64_t j, int64_t t) { return opt.axis == 1 ? j * gs + t : t * M + j; };
  std::vector<float> G(static_cast<size_t>(numel));
  for (int64_t j = 0; j < M; ++j)
    for (int64_t t = 0; t < gs; ++t) G[j * gs + t] = w[flat_index(j, t)];

  // Min-max init (Quantizer.quantize), fp32: s_inv = qmax / (max - min), 1 where the range
  // is <= 1e-4, clamped to 2e4; zero = -min * s_inv, rounded with round_zero.
  const float qmax = static_cast<float>((1 << opt.nbits) - 1);
  std::vector<float> s_inv(static_cast<size_t>(M)), z(static_cast<size_t>(M));
  for (int64_t j = 0; j < M; ++j) {
    const float* g = &G[j * gs];
    const auto [mn, mx] = std::minmax_element(g, g + gs);
    const float denom = *mx - *mn;
    // `max_v / denom` with a Python number on the left is torch's __rtruediv__:
    // reciprocal(denom) * max_v, not a division.
    float s = (1.0f / denom) * qmax;
    if (std::fabs(denom) <= 1e-4f) s = 1.0f;
    s = std::min(s, 2e4f);
    float zz = -*mn * s;
    if (opt.round_zero) zz = std::nearbyint(zz);
    s_inv[j] = s;
    z[j] = zz;
  }

  HqqResult r;
  if (opt.optimize) {
    // optimize_weights_proximal_legacy: W_r from the current zero, then the zero update;
    // stop at the first iteration whose error is not better, keeping that iteration's
    // (updated) zero -- the legacy quirk (other-formats.md §1.1).
    const float inv_beta = static_cast<float>(1.0 / static_cast<double>(opt.beta));
    const float p_minus_1 = static_cast<float>(static_cast<double>(opt.lp_norm) - 1.0);
    const bool l1 = opt.lp_norm == 1.0f;
    std::vector<double> group_err(static_cast<size_t>(M));
    float best_error = std::numeric_limits<float>::infinity();
    for (int it = 0; it < opt.iters; ++it) {
#pragma omp parallel for schedule(static) if (numel > (1 << 16))
      for (int64_t j = 0; j < M; ++j) {
        const float* g = &G[j * gs];
        const float s = s_inv[j], zz = z[j];
        double err = 0.0, acc = 0.0;
        for (int64_t t = 0; t < gs; ++t) {
          const float wq = hqq_code(g[t], s, zz, qmax);
          const float wr = (wq - zz) / s;
          const float d = g[t] - wr;
          err += std::fabs(d);
          const float we = shrink_lp(d, inv_beta, p_minus_1, l1);
          acc += wq - (g[t] - we) * s;
        }
        group_err[j] = err;
        z[j] = static_cast<float>(acc / static_cast<double>(gs));
      }
      double total = 0.0;
      for (double e : group_err) total += e;
      const float current_error = static_cast<float>(total / static_cast<double>(numel));
      r.n_iters_run = it + 1;
      if (current_error < best_error) {
        best_error = current_error;
      } else {
        break;
      }
    }
  }

  r.n_out = n_out;
  r.n_in = n_in;
  r.nbits = opt.nbits;
  r.axis = opt.axis;
  r.group_size = gs;
  r.codes.resize(static_cast<size_t>(numel));
  r.scale.resize(static_cast<size_t>(M));
  r.zero = z;
  for (int64_t j = 0; j < M; ++j) {
    r.scale[j] = 1.0f / s_inv[j];
    for (int64_t t = 0; t < gs; ++t)
      r.codes[flat_index(j, t)] = static_cast<uint8_t>(hqq_code(G[j * gs + t], s_inv[j], z[j], qmax));
  }
  return r;
}

}  // namespace lowbit
