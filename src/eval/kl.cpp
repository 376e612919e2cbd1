#include "eval/kl.h"

#include <algorithm>
#include <cmath>

namespace lowbit {

double kl_divergence(const double* base_logprobs, const double* model_logprobs, int n) {
  double s = 0;
  for (int j = 0; j < n; ++j) {
    const double lp = base_logprobs[j];
    const double p = std::exp(lp);
    if (p == 0.0) continue;
    s += p * (lp - model_logprobs[j]);
  }
  // Both distributions are normalized, so KL >= 0; a tiny negative value is rounding.
  return s > 0 ? s : 0.0;
}

double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double f = pos - static_cast<double>(lo);
  return sorted[lo] + f * (sorted[hi] - sorted[lo]);
}

namespace {
// Mean and standard error of the mean (sample variance / (n-1)), as llama.cpp estimates it.
void mean_stderr(const std::vector<double>& v, double& mean, double& se) {
  const size_t n = v.size();
  mean = se = 0;
  if (n == 0) return;
  double s = 0;
  for (double x : v) s += x;
  mean = s / static_cast<double>(n);
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  se = n > 1 ? std::sqrt(ss / static_cast<double>(n) / static_cast<double>(n - 1)) : 0.0;
}
}  // namespace

KlResult summarize_kl(std::vector<double> kl, const std::vector<double>& base_nll,
                      const std::vector<double>& model_nll, const std::vector<uint8_t>& same_top1) {
  KlResult r;
  r.n = static_cast<int64_t>(kl.size());
  if (kl.empty()) return r;
  mean_stderr(kl, r.mean, r.mean_stderr);
  std::sort(kl.begin(), kl.end());
  r.median = quantile_sorted(kl, 0.5);
  r.p99 = quantile_sorted(kl, 0.99);
  r.max = kl.back();
  int64_t same = 0;
  for (uint8_t s : same_top1) same += s ? 1 : 0;
  const double n = static_cast<double>(r.n);
  const double p = static_cast<double>(same) / n;
  r.top1_pct = 100.0 * p;
  r.top1_stderr_pct = r.n > 1 ? 100.0 * std::sqrt(p * (1 - p) / (n - 1)) : 0.0;
  double sb = 0, sm = 0;
  for (double x : base_nll) sb += x;
  for (double x : model_nll) sm += x;
  r.base_mean_nll = sb / n;
  r.model_mean_nll = sm / n;
  r.base_ppl = std::exp(r.base_mean_nll);
  r.model_ppl = std::exp(r.model_mean_nll);
  r.delta_ppl = r.model_ppl - r.base_ppl;
  r.ln_ppl_ratio = r.model_mean_nll - r.base_mean_nll;
  return r;
}

}  // namespace lowbit
