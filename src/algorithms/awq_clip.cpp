// AWQ clipping search (awq.md §5 step 6, AutoAWQ _compute_best_clip) and the per-linear
// flow awq_quantize (search scales -> scale -> clip -> pseudo-quantize).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "algorithms/awq.h"
#include "algorithms/awq_grid.h"
#include "core/error.h"

namespace lowbit {

using awq_detail::r16;

std::vector<float> awq_search_clip(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_tokens,
                                   const AwqOptions& opt) {
  awq_detail::check_options(opt, n_in);
  if (n_out <= 0 || n_tokens <= 0 || w == nullptr || x == nullptr) fail("awq", "clip search needs weights and tokens");
  for (int64_t i = 0; i < n_out * n_in; ++i)
    if (!std::isfinite(w[i])) fail("awq", "non-finite weight at element " + std::to_string(i));
  for (int64_t i = 0; i < n_tokens * n_in; ++i)
    if (!std::isfinite(x[i])) fail("awq", "non-finite activation at element " + std::to_string(i));
  const bool h = opt.fp16;
  const int64_t gs = awq_detail::group_len(opt, n_in);
  const int64_t n_groups = n_in / gs;
  // input_feat[:, ::step_size], step = max(1, n_tokens // n_sample_token)
  const int64_t step = std::max<int64_t>(1, n_tokens / opt.clip_n_sample_tokens);
  const int64_t n_t = (n_tokens + step - 1) / step;
  const int64_t n_shrink = static_cast<int64_t>(opt.max_shrink * static_cast<float>(opt.clip_n_grid));
  std::vector<float> best_max(static_cast<size_t>(n_out * n_groups));
  for (int64_t o = 0; o < n_out; ++o)
    for (int64_t g = 0; g < n_groups; ++g) {
      float m = 0.0f;
      for (int64_t i = g * gs; i < (g + 1) * gs; ++i) m = std::max(m, std::fabs(r16(w[o * n_in + i], h)));
      best_max[o * n_groups + g] = m;
    }
  if (n_shrink <= 0) return best_max;

  // AutoAWQ's error for a clipped candidate q of row o, group g is the mean over the sampled
  // tokens of (x_t . (q - w))^2 = d^T G d / n_t with d = q - w and G = X_g^T X_g, the Gram
  // matrix of the group's input columns: the same number, without the per-token products
  // for every (row, candidate). All rows and candidates of a group go through one sgemm.
  std::vector<float> xg(static_cast<size_t>(n_t * gs)), gram(static_cast<size_t>(gs * gs));
  std::vector<float> d(static_cast<size_t>(n_out * n_shrink * gs)), e(d.size());
  std::vector<float> cand(static_cast<size_t>(n_out * n_shrink));
  for (int64_t g = 0; g < n_groups; ++g) {
    const int64_t c0 = g * gs;
    for (int64_t t = 0; t < n_t; ++t) std::copy(x + t * step * n_in + c0, x + t * step * n_in + c0 + gs, &xg[t * gs]);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(gs), static_cast<int>(n_t), 1.0f, xg.data(),
                static_cast<int>(gs), 0.0f, gram.data(), static_cast<int>(gs));
    for (int64_t a = 0; a < gs; ++a)
      for (int64_t b = a + 1; b < gs; ++b) gram[b * gs + a] = gram[a * gs + b];
#pragma omp parallel for schedule(static) if (n_out * gs * n_shrink > (1 << 14))
    for (int64_t o = 0; o < n_out; ++o) {
      std::vector<float> wg(static_cast<size_t>(gs));
      for (int64_t i = 0; i < gs; ++i) wg[i] = r16(w[o * n_in + c0 + i], h);
      const float org_max = best_max[o * n_groups + g];
      for (int64_t i_s = 0; i_s < n_shrink; ++i_s) {
        const float max_val = r16(org_max * static_cast<float>(1.0 - static_cast<double>(i_s) / opt.clip_n_grid), h);
        float* dr = &d[(o * n_shrink + i_s) * gs];
        for (int64_t i = 0; i < gs; ++i) dr[i] = std::min(std::max(wg[i], -max_val), max_val);
        awq_detail::fake_quant_group(dr, gs, opt);
        for (int64_t i = 0; i < gs; ++i) dr[i] -= wg[i];
        cand[o * n_shrink + i_s] = max_val;
      }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n_out * n_shrink), static_cast<int>(gs),
                static_cast<int>(gs), 1.0f, d.data(), static_cast<int>(gs), gram.data(), static_cast<int>(gs), 0.0f,
                e.data(), static_cast<int>(gs));
#pragma omp parallel for schedule(static) if (n_out * gs * n_shrink > (1 << 14))
    for (int64_t o = 0; o < n_out; ++o) {
      double min_err = 1e9;  // AutoAWQ's initial min_errs
      for (int64_t i_s = 0; i_s < n_shrink; ++i_s) {
        const float* dr = &d[(o * n_shrink + i_s) * gs];
        const float* er = &e[(o * n_shrink + i_s) * gs];
        double err = 0.0;
        for (int64_t i = 0; i < gs; ++i) err += static_cast<double>(dr[i]) * er[i];
        err /= static_cast<double>(n_t);
        if (err < min_err) {
          min_err = err;
          best_max[o * n_groups + g] = cand[o * n_shrink + i_s];
        }
      }
    }
  }
  return best_max;
}

void awq_apply_clip(float* w, int64_t n_out, int64_t n_in, const std::vector<float>& max_val, int group_size) {
  const int64_t gs = group_size > 0 ? group_size : n_in;
  if (n_in % gs != 0 || static_cast<int64_t>(max_val.size()) != n_out * (n_in / gs))
    fail("awq", "clip values do not match the weight shape");
  const int64_t n_groups = n_in / gs;
  for (int64_t o = 0; o < n_out; ++o)
    for (int64_t i = 0; i < n_in; ++i) {
      const float m = max_val[o * n_groups + i / gs];
      w[o * n_in + i] = std::min(std::max(w[o * n_in + i], -m), m);
    }
}

QuantizedLinear awq_quantize(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_tokens,
                             const AwqOptions& opt, bool clip) {
  const AwqScaleResult sr = awq_search_scales({AwqLinearRef{w, n_out}}, n_in, x, n_tokens, opt);
  const std::vector<float>& s = sr.scales;
  // W * s in the model dtype (AutoAWQ apply_scale: fc.weight.mul_(scales) on fp16 weights).
  std::vector<float> ws(w, w + n_out * n_in);
  for (int64_t o = 0; o < n_out; ++o)
    for (int64_t j = 0; j < n_in; ++j) ws[o * n_in + j] = r16(r16(ws[o * n_in + j], opt.fp16) * s[j], opt.fp16);
  if (clip) {
    std::vector<float> xs(x, x + n_tokens * n_in);  // the inputs as the scaled linear sees them
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t j = 0; j < n_in; ++j) xs[t * n_in + j] /= s[j];
    awq_apply_clip(ws.data(), n_out, n_in, awq_search_clip(ws.data(), n_out, n_in, xs.data(), n_tokens, opt),
                   opt.group_size);
  }
  QuantizedLinear q = awq_pseudo_quantize(ws.data(), n_out, n_in, opt);
  q.input_scales = s;
  return q;
}

}  // namespace lowbit
