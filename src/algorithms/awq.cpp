// AWQ pseudo-quantization and scale search (awq.md §1, §5 steps 3-4), AutoAWQ @ 88e4c76b
// AwqQuantizer.pseudo_quantize_tensor / _search_best_scale / _compute_best_scale.
#include <cblas.h>

#include <cmath>
#include <limits>
#include <string>

#include "algorithms/awq.h"
#include "algorithms/awq_grid.h"
#include "core/error.h"

namespace lowbit {
namespace awq_detail {

void check_options(const AwqOptions& opt, int64_t n_in) {
  if (opt.bits < (opt.zero_point ? 1 : 2) || opt.bits > 8) fail("awq", "bits " + std::to_string(opt.bits) + " is out of range");
  if (n_in <= 0) fail("awq", "empty input dimension");
  if (opt.group_size > 0 && n_in % opt.group_size != 0)
    fail("awq", "group_size " + std::to_string(opt.group_size) + " must divide n_in " + std::to_string(n_in) +
                    " (AutoAWQ asserts it)");
  if (opt.n_grid < 1 || opt.clip_n_grid < 1) fail("awq", "n_grid must be >= 1");
  if (!(opt.max_shrink >= 0.0f && opt.max_shrink < 1.0f)) fail("awq", "max_shrink must be in [0, 1)");
  if (opt.max_search_tokens < 0 || opt.clip_n_sample_tokens < 1) fail("awq", "token counts must be positive");
}

}  // namespace awq_detail

using awq_detail::r16;

namespace {

void check_finite(const char* what, const float* v, int64_t n) {
  if (n > 0 && v == nullptr) fail("awq", std::string("no ") + what + " data");
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i])) fail("awq", std::string("non-finite ") + what + " at element " + std::to_string(i));
}

}  // namespace

QuantizedLinear awq_pseudo_quantize(const float* w, int64_t n_out, int64_t n_in, const AwqOptions& opt, float* w_hat) {
  awq_detail::check_options(opt, n_in);
  if (n_out <= 0) fail("awq", "empty output dimension");
  check_finite("weight", w, n_out * n_in);
  const int64_t gs = awq_detail::group_len(opt, n_in);
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = opt.bits;
  q.group_size = static_cast<int>(gs);
  q.sym = !opt.zero_point;
  const int64_t n_groups = n_in / gs;
  q.codes.resize(static_cast<size_t>(n_out * n_in));
  q.scales.resize(static_cast<size_t>(n_out * n_groups));
  q.zeros.resize(q.scales.size());
#pragma omp parallel for schedule(static) if (n_out * n_in > (1 << 16))
  for (int64_t o = 0; o < n_out; ++o) {
    std::vector<float> buf(static_cast<size_t>(gs));
    for (int64_t g = 0; g < n_groups; ++g) {
      const int64_t c0 = g * gs;
      for (int64_t i = 0; i < gs; ++i) buf[i] = r16(w[o * n_in + c0 + i], opt.fp16);
      const awq_detail::GroupGrid grid = awq_detail::group_grid(buf.data(), gs, opt);
      q.scales[o * n_groups + g] = grid.scale;
      q.zeros[o * n_groups + g] = grid.zero;
      for (int64_t i = 0; i < gs; ++i)
        q.codes[o * n_in + c0 + i] =
            awq_detail::group_code(buf[i], grid, opt, w_hat ? &w_hat[o * n_in + c0 + i] : nullptr);
    }
  }
  return q;
}

std::vector<float> awq_x_mean(const float* x, int64_t n_tokens, int64_t n_in) {
  if (n_tokens <= 0) fail("awq", "no calibration tokens");
  std::vector<double> sum(static_cast<size_t>(n_in), 0.0);
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t j = 0; j < n_in; ++j) sum[j] += std::fabs(x[t * n_in + j]);
  std::vector<float> mean(static_cast<size_t>(n_in));
  for (int64_t j = 0; j < n_in; ++j) mean[j] = static_cast<float>(sum[j] / static_cast<double>(n_tokens));
  return mean;
}

std::vector<float> awq_w_mean(const std::vector<AwqLinearRef>& linears, int64_t n_in, int group_size) {
  const int64_t gs = group_size > 0 ? group_size : n_in;
  std::vector<double> sum(static_cast<size_t>(n_in), 0.0);
  int64_t n_rows = 0;
  for (const AwqLinearRef& l : linears) {
    for (int64_t o = 0; o < l.n_out; ++o) {
      const float* row = l.w + o * n_in;
      for (int64_t c0 = 0; c0 < n_in; c0 += gs) {
        float amax = 0.0f;
        for (int64_t i = c0; i < c0 + gs; ++i) amax = std::max(amax, std::fabs(row[i]));
        const float denom = amax + 1e-6f;
        for (int64_t i = c0; i < c0 + gs; ++i) sum[i] += std::fabs(row[i]) / denom;
      }
    }
    n_rows += l.n_out;
  }
  std::vector<float> mean(static_cast<size_t>(n_in));
  for (int64_t j = 0; j < n_in; ++j) mean[j] = static_cast<float>(sum[j] / static_cast<double>(n_rows));
  return mean;
}

namespace {

// One grid point's scales: (x_mean^a / (w_mean^(1-a) + 1e-4)).clamp(min=1e-4), normalised by
// sqrt(max * min), inf/nan -> 1, in the model dtype (fp16 ops in fp16 mode).
std::vector<float> candidate_scales(const std::vector<float>& x_mean, const std::vector<float>& w_mean, float ratio,
                                    const AwqOptions& opt) {
  const bool h = opt.fp16;
  const size_t n = x_mean.size();
  std::vector<float> s(n);
  for (size_t j = 0; j < n; ++j) {
    float v = r16(std::pow(x_mean[j], ratio), h);
    if (opt.duo_scaling) v = r16(v / r16(r16(std::pow(w_mean[j], 1.0f - ratio), h) + 1e-4f, h), h);
    s[j] = r16(std::max(v, 1e-4f), h);
  }
  float mx = s[0], mn = s[0];
  for (float v : s) {
    mx = std::max(mx, v);
    mn = std::min(mn, v);
  }
  float norm = r16(std::sqrt(r16(mx * mn, h)), h);
  // Where AutoAWQ's fp16 product overflows (it would go on with s = 0 or NaN and fail its
  // NaN assert), normalise in fp32 instead; results are unchanged wherever AutoAWQ works.
  if (!std::isfinite(norm)) norm = r16(std::sqrt(mx) * std::sqrt(mn), h);
  for (float& v : s) {
    v = r16(v / norm, h);
    if (!std::isfinite(v) || v == 0.0f) v = 1.0f;  // AutoAWQ: inf/nan -> 1; 0 would divide by 0
  }
  return s;
}

}  // namespace

AwqScaleResult awq_search_scales(const std::vector<AwqLinearRef>& linears, int64_t n_in, const float* x,
                                 int64_t n_tokens, const AwqOptions& opt, const AwqModuleLoss& module_loss) {
  awq_detail::check_options(opt, n_in);
  if (linears.empty()) fail("awq", "scale search needs at least one linear");
  for (const AwqLinearRef& l : linears) {
    if (l.n_out <= 0) fail("awq", "a linear has no output rows");
    check_finite("weight", l.w, l.n_out * n_in);
  }
  if (n_tokens <= 0) fail("awq", "no calibration tokens");
  check_finite("activation", x, n_tokens * n_in);
  const bool h = opt.fp16;

  // x_mean / w_mean in the model dtype (AutoAWQ: fp32 sums cast to fp16, fp16 weights).
  std::vector<float> x_mean = awq_x_mean(x, n_tokens, n_in);
  for (float& v : x_mean) v = r16(v, h);
  std::vector<float> w_mean = awq_w_mean(linears, n_in, opt.group_size);
  for (float& v : w_mean) v = r16(v, h);

  // Tokens for the default loss (optionally an even subsample).
  int64_t n_loss_tokens = n_tokens, stride = 1;
  if (opt.max_search_tokens > 0 && n_tokens > opt.max_search_tokens) {
    stride = n_tokens / opt.max_search_tokens;
    n_loss_tokens = (n_tokens + stride - 1) / stride;
  }
  std::vector<float> xs;
  const float* xl = x;
  if (stride > 1) {
    xs.resize(static_cast<size_t>(n_loss_tokens * n_in));
    for (int64_t t = 0; t < n_loss_tokens; ++t)
      std::copy(x + t * stride * n_in, x + (t * stride + 1) * n_in, xs.begin() + t * n_in);
    xl = xs.data();
  }
  int64_t n_out_total = 0;
  for (const AwqLinearRef& l : linears) n_out_total += l.n_out;
  std::vector<float> y_ref, y;
  if (!module_loss) {
    y_ref.resize(static_cast<size_t>(n_loss_tokens * n_out_total));
    y.resize(y_ref.size());
    int64_t col = 0;
    for (const AwqLinearRef& l : linears) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_loss_tokens), static_cast<int>(l.n_out),
                  static_cast<int>(n_in), 1.0f, xl, static_cast<int>(n_in), l.w, static_cast<int>(n_in), 0.0f,
                  &y_ref[col], static_cast<int>(n_out_total));
      col += l.n_out;
    }
  }

  std::vector<std::vector<float>> w_hat(linears.size());
  for (size_t k = 0; k < linears.size(); ++k) w_hat[k].resize(static_cast<size_t>(linears[k].n_out * n_in));
  const int64_t gs = awq_detail::group_len(opt, n_in);

  AwqScaleResult best;
  double best_error = std::numeric_limits<double>::infinity();
  for (int r = 0; r < opt.n_grid; ++r) {
    const float ratio = static_cast<float>(static_cast<double>(r) / opt.n_grid);
    std::vector<float> s = candidate_scales(x_mean, w_mean, ratio, opt);
    // Q(W * s) / s for every linear of the group.
    for (size_t k = 0; k < linears.size(); ++k) {
      const AwqLinearRef& l = linears[k];
      float* out = w_hat[k].data();
#pragma omp parallel for schedule(static) if (l.n_out * n_in > (1 << 16))
      for (int64_t o = 0; o < l.n_out; ++o) {
        float* row = out + o * n_in;
        for (int64_t j = 0; j < n_in; ++j) row[j] = r16(r16(l.w[o * n_in + j], h) * s[j], h);
        for (int64_t c0 = 0; c0 < n_in; c0 += gs) awq_detail::fake_quant_group(row + c0, gs, opt);
        for (int64_t j = 0; j < n_in; ++j) row[j] = r16(row[j] / s[j], h);
      }
    }
    double loss;
    if (module_loss) {
      std::vector<const float*> ptrs;
      for (const auto& v : w_hat) ptrs.push_back(v.data());
      loss = module_loss(ptrs);
    } else {
      int64_t col = 0;
      for (size_t k = 0; k < linears.size(); ++k) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n_loss_tokens),
                    static_cast<int>(linears[k].n_out), static_cast<int>(n_in), 1.0f, xl, static_cast<int>(n_in),
                    w_hat[k].data(), static_cast<int>(n_in), 0.0f, &y[col], static_cast<int>(n_out_total));
        col += linears[k].n_out;
      }
      double sum = 0.0;
      for (size_t i = 0; i < y.size(); ++i) {
        const double d = static_cast<double>(y_ref[i]) - y[i];
        sum += d * d;
      }
      loss = sum / static_cast<double>(y.size());
    }
    if (!std::isfinite(loss)) loss = std::numeric_limits<double>::infinity();  // e.g. fp16 overflow of W * s
    best.losses.push_back(loss);
    if (loss < best_error) {
      best_error = loss;
      best.best_ratio = ratio;
      best.scales = std::move(s);
    }
  }
  if (best.scales.empty()) {
    // Every candidate overflowed (fp16) or the caller's loss was never finite: no scaling
    // (s = 1) is always valid, and AutoAWQ would have raised instead.
    best.scales.assign(static_cast<size_t>(n_in), 1.0f);
    best.best_ratio = -1.0f;
  }
  return best;
}

void awq_scale_input_columns(float* w, int64_t n_out, int64_t n_in, const float* s) {
  for (int64_t o = 0; o < n_out; ++o)
    for (int64_t j = 0; j < n_in; ++j) w[o * n_in + j] *= s[j];
}

void awq_fold_into_norm(float* norm_weight, float* norm_bias, int64_t n, const float* s) {
  for (int64_t j = 0; j < n; ++j) {
    norm_weight[j] /= s[j];
    if (norm_bias) norm_bias[j] /= s[j];
  }
}

void awq_fold_into_linear(float* w_prev, float* bias_prev, int64_t n_out_prev, int64_t n_in_prev, const float* s,
                          int64_t n_s) {
  if (n_s > n_out_prev) fail("awq", "more scales than output rows of the previous linear");
  const int64_t r0 = n_out_prev - n_s;
  for (int64_t r = 0; r < n_s; ++r) {
    for (int64_t c = 0; c < n_in_prev; ++c) w_prev[(r0 + r) * n_in_prev + c] /= s[r];
    if (bias_prev) bias_prev[r0 + r] /= s[r];
  }
}

}  // namespace lowbit
