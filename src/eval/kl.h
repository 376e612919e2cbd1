// KL divergence between a base model's next-token distributions and another model's, over
// the same scored positions, with the summary llama-perplexity --kl-divergence reports.
#pragma once
#include <cstdint>
#include <vector>

namespace lowbit {

struct KlResult {
  int64_t n = 0;          // positions compared
  double mean = 0;        // mean KL(base || model), nats
  double mean_stderr = 0;
  double median = 0;
  double p99 = 0;
  double max = 0;
  double top1_pct = 0;    // % positions where the models' argmax tokens agree
  double top1_stderr_pct = 0;
  double base_mean_nll = 0, base_ppl = 0;    // the base file's, on the same positions
  double model_mean_nll = 0, model_ppl = 0;
  double delta_ppl = 0;      // model_ppl - base_ppl
  double ln_ppl_ratio = 0;   // ln(model_ppl / base_ppl) = model_mean_nll - base_mean_nll
};

// KL(p || q) = sum_j p_j (log p_j - log q_j) for normalized log-probs (double), >= 0.
// Terms with p_j == 0 contribute nothing.
double kl_divergence(const double* base_logprobs, const double* model_logprobs, int n);

// Per-position inputs -> summary. kl, base_nll, model_nll: one value per position;
// same_top1: 1 where the argmax tokens agree.
KlResult summarize_kl(std::vector<double> kl, const std::vector<double>& base_nll,
                      const std::vector<double>& model_nll, const std::vector<uint8_t>& same_top1);

// q-quantile (0..1) of sorted values with linear interpolation between order statistics.
double quantile_sorted(const std::vector<double>& sorted, double q);

}  // namespace lowbit
