#include "algorithms/rtn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"

namespace lowbit {

void check_grid_options(const char* what, int64_t n_out, int64_t n_in, int bits, int group_size) {
  if (n_out <= 0 || n_in <= 0)
    fail(what, "weight shape [" + std::to_string(n_out) + ", " + std::to_string(n_in) + "] is empty");
  if (n_in > (int64_t{1} << 40) / n_out) fail(what, "weight is too large");
  if (bits < 1 || bits > 8) fail(what, "bits must be in 1..8, got " + std::to_string(bits));
  // group_size > n_in is allowed: one (partial) group, as GPTQ's find_params on W[:, 0:gs] does.
}

void check_finite_weights(const char* what, const float* w, int64_t n_out, int64_t n_in) {
  if (w == nullptr) fail(what, "no weight data");
  for (int64_t i = 0; i < n_out * n_in; ++i)
    if (!std::isfinite(w[i]))
      fail(what, "non-finite weight at row " + std::to_string(i / n_in) + ", column " + std::to_string(i % n_in));
}

uint8_t gptq_code(float w, GridParams p, int maxq) {
  // torch.round is round-half-to-even: nearbyint in the default rounding mode.
  const float q = std::nearbyint(w / p.scale) + p.zero;
  if (!(q > 0.0f)) return 0;  // also NaN
  return static_cast<uint8_t>(q >= static_cast<float>(maxq) ? maxq : q);
}

namespace {

GridParams params_from_range(float xmin, float xmax, int maxq, bool sym) {
  GridParams p;
  p.scale = (xmax - xmin) / static_cast<float>(maxq);
  p.zero = sym ? static_cast<float>(maxq + 1) / 2.0f : std::nearbyint(-xmin / p.scale);
  return p;
}

}  // namespace

GridParams gptq_find_params(const float* x, int64_t n_elems, int64_t stride, int bits, bool sym, const MseSearch& mse) {
  const int maxq = gptq_maxq(bits);
  float mn = std::numeric_limits<float>::infinity(), mx = -mn;
  for (int64_t i = 0; i < n_elems; ++i) {
    mn = std::min(mn, x[i * stride]);
    mx = std::max(mx, x[i * stride]);
  }
  float xmin = std::min(mn, 0.0f), xmax = std::max(mx, 0.0f);
  if (sym) {
    xmax = std::max(std::fabs(xmin), xmax);
    if (xmin < 0.0f) xmin = -xmax;
  }
  if (xmin == 0.0f && xmax == 0.0f) {
    xmin = -1.0f;
    xmax = 1.0f;
  }
  GridParams best = params_from_range(xmin, xmax, maxq, sym);
  if (!mse.enabled) return best;

  // Quantizer(mse=True): try shrunken ranges, keep the lowest sum |q - x|^norm.
  double best_err = std::numeric_limits<double>::infinity();
  const int n_steps = static_cast<int>(mse.max_shrink * static_cast<float>(mse.grid));
  for (int i = 0; i < n_steps; ++i) {
    const float p = static_cast<float>(1.0 - static_cast<double>(i) / mse.grid);
    GridParams c = params_from_range(p * xmin, p * xmax, maxq, sym);
    if (sym) c.zero = best.zero;  // the symmetric zero never changes
    double err = 0.0;
    for (int64_t k = 0; k < n_elems; ++k) {
      const float v = x[k * stride];
      const float d = std::fabs(gptq_dequant(gptq_code(v, c, maxq), c) - v);
      err += std::pow(static_cast<double>(d), static_cast<double>(mse.norm));
    }
    if (err < best_err) {
      best_err = err;
      best = c;
    }
  }
  return best;
}

QuantizedLinear rtn_quantize(const float* w, int64_t n_out, int64_t n_in, const RtnOptions& opt, const int32_t* g_idx) {
  check_grid_options("rtn", n_out, n_in, opt.bits, opt.group_size);
  check_finite_weights("rtn", w, n_out, n_in);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = opt.bits;
  q.group_size = opt.group_size <= 0 ? static_cast<int>(std::min<int64_t>(n_in, INT32_MAX)) : opt.group_size;
  q.sym = opt.sym;
  const int64_t n_groups = q.n_groups();
  const int maxq = gptq_maxq(opt.bits);

  // Column lists per group: contiguous ranges, or gathered through g_idx (act-order).
  std::vector<std::vector<int64_t>> cols(static_cast<size_t>(n_groups));
  if (g_idx != nullptr) {
    q.g_idx.assign(g_idx, g_idx + n_in);
    for (int64_t i = 0; i < n_in; ++i) {
      if (g_idx[i] < 0 || g_idx[i] >= n_groups)
        fail("rtn", "g_idx[" + std::to_string(i) + "] = " + std::to_string(g_idx[i]) + " is outside [0, " +
                        std::to_string(n_groups) + ")");
      cols[g_idx[i]].push_back(i);
    }
  } else {
    for (int64_t i = 0; i < n_in; ++i) cols[i / q.group_size].push_back(i);
  }

  q.codes.resize(static_cast<size_t>(n_out * n_in));
  q.scales.resize(static_cast<size_t>(n_out * n_groups));
  q.zeros.resize(static_cast<size_t>(n_out * n_groups));
#pragma omp parallel for schedule(static) if (n_out * n_in > (1 << 16))
  for (int64_t o = 0; o < n_out; ++o) {
    std::vector<float> buf;
    const float* row = w + o * n_in;
    for (int64_t g = 0; g < n_groups; ++g) {
      const auto& c = cols[g];
      GridParams p;
      if (c.empty()) {
        p = gptq_find_params(nullptr, 0, 1, opt.bits, opt.sym, opt.mse);  // unused group: [-1, 1]
      } else {
        buf.resize(c.size());
        for (size_t k = 0; k < c.size(); ++k) buf[k] = row[c[k]];
        p = gptq_find_params(buf.data(), static_cast<int64_t>(buf.size()), 1, opt.bits, opt.sym, opt.mse);
      }
      q.scales[o * n_groups + g] = p.scale;
      q.zeros[o * n_groups + g] = p.zero;
      for (int64_t i : c) q.codes[o * n_in + i] = gptq_code(row[i], p, maxq);
    }
  }
  return q;
}

}  // namespace lowbit
