// GPTQ fasterquant (specs/gptq.md §3 steps 1-10), op for op as AutoGPTQ gptq.py /
// GPTQModel gptq.py, except that the integer codes are kept directly instead of being
// recovered later by the packer (round(Q/s + z) gives the same codes, golden/hf/README §1).
//
// Every output row is independent given U (its group parameters, error feedback and
// updates only touch that row), so each 128-column block runs row-parallel with OpenMP and
// the lazy update of the remaining columns is one sgemm.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "algorithms/gptq.h"
#include "core/error.h"

namespace lowbit {
namespace {

void check_hessian(const float* h, int64_t n) {
  if (h == nullptr) fail("gptq", "no Hessian");
  for (int64_t i = 0; i < n * n; ++i)
    if (!std::isfinite(h[i])) fail("gptq", "non-finite Hessian entry at " + std::to_string(i / n) + ", " + std::to_string(i % n));
  for (int64_t k = 0; k < n; ++k)
    if (h[k * n + k] < 0.0f) fail("gptq", "negative Hessian diagonal at " + std::to_string(k) + " (not X^T X)");
}

}  // namespace

QuantizedLinear gptq_quantize(const float* w, int64_t n_out, int64_t n_in, const float* h, const GptqOptions& opt,
                              GptqStats* stats) {
  check_grid_options("gptq", n_out, n_in, opt.bits, opt.group_size);
  if (h == nullptr) fail("gptq", "no Hessian");
  return gptq_quantize(w, n_out, n_in, std::vector<float>(h, h + n_in * n_in), opt, stats);
}

QuantizedLinear gptq_quantize(const float* w, int64_t n_out, int64_t n_in, std::vector<float> H,
                              const GptqOptions& opt, GptqStats* stats) {
  check_grid_options("gptq", n_out, n_in, opt.bits, opt.group_size);
  check_finite_weights("gptq", w, n_out, n_in);
  if (H.size() != static_cast<size_t>(n_in * n_in))
    fail("gptq", "Hessian has " + std::to_string(H.size()) + " entries, expected " + std::to_string(n_in * n_in));
  check_hessian(H.data(), n_in);
  if (opt.block_size < 1) fail("gptq", "block_size must be >= 1");
  if (!(opt.percdamp > 0.0f && opt.percdamp < 1.0f)) fail("gptq", "percdamp must be in (0, 1)");
  if (!(opt.damp_auto_increment >= 0.0f)) fail("gptq", "damp_auto_increment must be >= 0");

  const int64_t N = n_out, K = n_in;
  const int64_t gs = opt.group_size <= 0 ? -1 : opt.group_size;  // GPTQ's -1 = per channel
  const int64_t gs_eff = gs == -1 ? K : gs;
  const int64_t n_groups = (K + gs_eff - 1) / gs_eff;
  const bool use_static = opt.static_groups && gs != -1;
  const int maxq = gptq_maxq(opt.bits);

  std::vector<float> W(w, w + N * K);

  // Step 1: per-row params from the whole W, before the dead columns are zeroed (used for
  // per-channel quantization; overwritten per group otherwise).
  std::vector<GridParams> cur(static_cast<size_t>(N));
  for (int64_t o = 0; o < N; ++o) cur[o] = gptq_find_params(&W[o * K], K, 1, opt.bits, opt.sym, opt.mse);

  // Step 2: dead inputs.
  int64_t n_dead = 0;
  for (int64_t k = 0; k < K; ++k) {
    if (H[k * K + k] != 0.0f) continue;
    H[k * K + k] = 1.0f;
    for (int64_t o = 0; o < N; ++o) W[o * K + k] = 0.0f;
    ++n_dead;
  }

  // Step 3: static groups on the original column order.
  std::vector<GridParams> group_params(static_cast<size_t>(N * n_groups));  // [N, n_groups]
  if (use_static) {
    for (int64_t o = 0; o < N; ++o)
      for (int64_t g = 0; g < n_groups; ++g) {
        const int64_t c0 = g * gs, n = std::min(gs, K - c0);
        group_params[o * n_groups + g] = gptq_find_params(&W[o * K + c0], n, 1, opt.bits, opt.sym, opt.mse);
      }
  }

  // Step 4: act-order. torch.argsort is not stable; ties (equal diag(H)) keep column order here.
  std::vector<int64_t> perm(static_cast<size_t>(K));
  std::iota(perm.begin(), perm.end(), 0);
  if (opt.desc_act) {
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return H[a * K + a] > H[b * K + b]; });
    std::vector<float> Wp(W.size()), Hp(H.size());
    for (int64_t o = 0; o < N; ++o)
      for (int64_t c = 0; c < K; ++c) Wp[o * K + c] = W[o * K + perm[c]];
    for (int64_t r = 0; r < K; ++r)
      for (int64_t c = 0; c < K; ++c) Hp[r * K + c] = H[perm[r] * K + perm[c]];
    W.swap(Wp);
    H.swap(Hp);
  }

  // Steps 5-6: damping and the inverse Cholesky factor, with GPTQModel's damp recovery. In
  // place: H becomes U (a failed try leaves H as it was).
  float damp = opt.percdamp;
  while (!gptq_inverse_cholesky_in_place(H.data(), K, damp)) {
    if (opt.damp_auto_increment <= 0.0f || damp + opt.damp_auto_increment >= 1.0f)
      fail("gptq", "Hessian is not positive definite even with percdamp " + std::to_string(damp));
    damp += opt.damp_auto_increment;
  }
  const std::vector<float> U = std::move(H);

  QuantizedLinear q;
  q.n_out = N;
  q.n_in = K;
  q.bits = opt.bits;
  q.group_size = static_cast<int>(gs_eff);
  q.sym = opt.sym;
  q.codes.assign(static_cast<size_t>(N * K), 0);

  // Step 7: blocks with lazy updates.
  const int64_t B = opt.block_size;
  std::vector<float> W1(static_cast<size_t>(N * std::min(B, K))), Err1(W1.size());
  std::vector<double> row_loss(static_cast<size_t>(N), 0.0);
  for (int64_t i1 = 0; i1 < K; i1 += B) {
    const int64_t i2 = std::min(i1 + B, K), count = i2 - i1;
#pragma omp parallel for schedule(static) if (N * count > 4096)
    for (int64_t o = 0; o < N; ++o) {
      float* w1 = &W1[o * count];
      float* e1 = &Err1[o * count];
      const float* wrow = &W[o * K];
      std::copy(wrow + i1, wrow + i2, w1);
      double loss = 0.0;
      for (int64_t i = 0; i < count; ++i) {
        const int64_t c = i1 + i;
        if (gs != -1) {
          if (!use_static) {
            // Params from the outer W: it has every earlier block's lazy update but not this
            // block's pending ones (gptq.md §3 step 7a; equal when group_size == block_size).
            if (c % gs == 0) {
              cur[o] = gptq_find_params(wrow + c, std::min(gs, K - c), 1, opt.bits, opt.sym, opt.mse);
              group_params[o * n_groups + c / gs] = cur[o];
            }
          } else {
            cur[o] = group_params[o * n_groups + perm[c] / gs];
          }
        }
        const GridParams p = cur[o];
        const float wv = w1[i];
        const uint8_t code = gptq_code(wv, p, maxq);
        const float qv = gptq_dequant(code, p);
        q.codes[o * K + perm[c]] = code;
        const float d = U[c * K + c];
        const float diff = wv - qv;
        loss += static_cast<double>(diff * diff / (d * d));
        const float err = diff / d;
        const float* urow = &U[c * K + i1];
        for (int64_t j = i; j < count; ++j) w1[j] -= err * urow[j];
        e1[i] = err;
      }
      row_loss[o] += loss / 2.0;
    }
    if (i2 < K) {
      // W[:, i2:] -= Err1 @ U[i1:i2, i2:]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(N), static_cast<int>(K - i2),
                  static_cast<int>(count), -1.0f, Err1.data(), static_cast<int>(count), &U[i1 * K + i2],
                  static_cast<int>(K), 1.0f, &W[i2], static_cast<int>(K));
    }
  }

  // Steps 8-10: scales/zeros per group, g_idx un-permuted.
  q.scales.resize(static_cast<size_t>(N * n_groups));
  q.zeros.resize(q.scales.size());
  for (int64_t o = 0; o < N; ++o)
    for (int64_t g = 0; g < n_groups; ++g) {
      const GridParams p = gs == -1 ? cur[o] : group_params[o * n_groups + g];
      q.scales[o * n_groups + g] = p.scale;
      q.zeros[o * n_groups + g] = p.zero;
    }
  q.g_idx.resize(static_cast<size_t>(K));
  for (int64_t c = 0; c < K; ++c) {
    const int64_t g = (use_static && opt.desc_act) ? perm[c] / gs_eff : c / gs_eff;
    q.g_idx[perm[c]] = static_cast<int32_t>(g);
  }

  if (stats != nullptr) {
    stats->loss = std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
    stats->percdamp_used = damp;
    stats->n_dead = n_dead;
  }
  return q;
}

}  // namespace lowbit
