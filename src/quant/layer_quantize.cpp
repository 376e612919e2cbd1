#include "quant/layer_quantize.h"

#include <chrono>
#include <vector>

#include "algorithms/awq.h"
#include "algorithms/gptq.h"
#include "algorithms/rtn.h"
#include "core/error.h"

namespace lowbit {
namespace {

constexpr int idx(LinearKind k) { return static_cast<int>(k); }

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class HessianObserver : public ActivationObserver {
 public:
  HessianObserver(LinearKind kind, int64_t n_in) : kind_(kind), h_(n_in) {}
  void observe(int, LinearKind kind, const float* x, int m, int) override {
    if (kind != kind_) return;
    const auto t0 = Clock::now();
    h_.add_batch(x, m, 1);  // one sequence = one sample, as GPTQ counts them
    seconds_ += since(t0);
  }
  std::vector<float> take() { return h_.take(); }
  double seconds() const { return seconds_; }  // in add_batch, so the forward's own time can be told apart

 private:
  LinearKind kind_;
  GptqHessian h_;
  double seconds_ = 0.0;
};

// Copies the inputs of q (= k, v), o, gate (= up) and down.
class CaptureObserver : public ActivationObserver {
 public:
  void observe(int, LinearKind kind, const float* x, int m, int k) override {
    if (kind == LinearKind::K || kind == LinearKind::V || kind == LinearKind::Up) return;
    const auto t0 = Clock::now();
    x_[idx(kind)].insert(x_[idx(kind)].end(), x, x + static_cast<size_t>(m) * k);
    seconds_ += since(t0);
  }
  std::vector<float>& x(LinearKind kind) { return x_[idx(kind)]; }
  double seconds() const { return seconds_; }

 private:
  std::array<std::vector<float>, kNumLinearKinds> x_;
  double seconds_ = 0.0;
};

void set_dequantized(LayerF32& L, LinearKind k, const QuantizedLinear& q) {
  std::vector<float>& w = L.weight(k);
  q.dequantize(w.data());
}

// GPTQ returns g_idx = i / group_size without act-order; formats expect "no g_idx" then.
void drop_trivial_g_idx(QuantizedLinear& q) {
  for (int64_t i = 0; i < q.n_in; ++i)
    if (q.g_idx[i] != static_cast<int32_t>(i / q.group_size)) return;
  q.g_idx.clear();
}

void quantize_gptq(LayerF32& L, int layer, const ModelConfig& c, const HfQuantizeOptions& opt, LayerRunner& runner,
                   const float* x, int n_seqs, const std::array<bool, kNumLinearKinds>& quantize,
                   LayerQuantResult& r) {
  GptqOptions g;
  g.bits = opt.bits;
  g.group_size = opt.group_size;
  g.sym = opt.sym;
  g.desc_act = opt.desc_act;
  g.percdamp = opt.damp_percent;
  const std::vector<std::vector<LinearKind>> stages = {{LinearKind::Q, LinearKind::K, LinearKind::V},
                                                       {LinearKind::O},
                                                       {LinearKind::Gate, LinearKind::Up},
                                                       {LinearKind::Down}};
  for (const auto& stage : stages) {
    bool any = false;
    for (LinearKind k : stage) any = any || quantize[idx(k)];
    if (!any) continue;
    const int64_t n_in = linear_shape(c, stage[0])[1];
    HessianObserver obs(stage[0], n_in);
    const auto t0 = Clock::now();
    runner.run(L, layer, x, n_seqs, nullptr, &obs, &stage[0]);
    r.forward_s += since(t0) - obs.seconds();
    r.stats_s += obs.seconds();
    std::vector<float> h = obs.take();
    const auto t1 = Clock::now();
    LinearKind last = stage[0];
    for (LinearKind k : stage)
      if (quantize[idx(k)]) last = k;
    for (LinearKind k : stage) {
      if (!quantize[idx(k)]) continue;
      const auto [n_out, n_in_k] = linear_shape(c, k);
      // The stage's last linear may consume H (gptq_quantize works in it): no K^2 copy.
      QuantizedLinear q =
          k == last ? gptq_quantize(L.weight(k).data(), n_out, n_in_k, std::move(h), g)
                    : gptq_quantize(L.weight(k).data(), n_out, n_in_k, static_cast<const float*>(h.data()), g);
      if (!q.g_idx.empty()) drop_trivial_g_idx(q);
      set_dequantized(L, k, q);
      r.q[idx(k)] = std::move(q);
    }
    r.solve_s += since(t1);
  }
}

// Sum of squared differences of a module's output over the search sequences, / numel
// (AutoAWQ's _compute_loss).
template <class Fn>
double module_mse(int n_seqs, int64_t n_per_seq, const std::vector<float>& ref, Fn&& out_of_seq) {
  std::vector<float> y(n_per_seq);
  double sum = 0.0;
  for (int s = 0; s < n_seqs; ++s) {
    out_of_seq(s, y.data());
    const float* yr = &ref[static_cast<size_t>(s) * n_per_seq];
    for (int64_t i = 0; i < n_per_seq; ++i) {
      const double d = static_cast<double>(yr[i]) - y[i];
      sum += d * d;
    }
  }
  return sum / (static_cast<double>(n_seqs) * n_per_seq);
}

void divide_columns(std::vector<float>& x, int64_t n_in, const std::vector<float>& s) {
  for (size_t i = 0; i < x.size(); ++i) x[i] /= s[i % n_in];
}

void quantize_awq(LayerF32& L, int layer, const ModelConfig& c, const HfQuantizeOptions& opt, LayerRunner& runner,
                  const float* x, int n_seqs, const std::array<bool, kNumLinearKinds>& quantize,
                  LayerQuantResult& r) {
  AwqOptions a;
  a.bits = opt.bits;
  a.group_size = opt.group_size;
  a.zero_point = !opt.sym;
  a.max_search_tokens = opt.awq_search_tokens;
  const int T = runner.seq_len();
  const int n_search = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n_seqs, opt.awq_search_tokens / T)));
  const int64_t n_tok = static_cast<int64_t>(n_search) * T;
  const int64_t H = c.hidden_size, F = c.intermediate_size, QD = c.q_dim(), KVD = c.kv_dim();
  CaptureObserver cap;
  const auto t0 = Clock::now();
  runner.run(L, layer, x, n_search, nullptr, &cap);
  r.forward_s += since(t0) - cap.seconds();
  r.stats_s += cap.seconds();
  const auto t1 = Clock::now();
  auto q_of = [&](LinearKind k) { return quantize[idx(k)]; };
  auto w = [&](LinearKind k) { return L.weight(k).data(); };

  // input_layernorm -> q, k, v; loss on the self_attn output.
  if (q_of(LinearKind::Q) && q_of(LinearKind::K) && q_of(LinearKind::V)) {
    const std::vector<float>& xq = cap.x(LinearKind::Q);
    std::vector<float> ref(static_cast<size_t>(n_tok * H));
    for (int s = 0; s < n_search; ++s)
      runner.attention_out(L, &xq[s * T * H], w(LinearKind::Q), w(LinearKind::K), w(LinearKind::V), &ref[s * T * H]);
    AwqModuleLoss loss = [&](const std::vector<const float*>& wh) {
      return module_mse(n_search, T * H, ref, [&](int s, float* y) {
        runner.attention_out(L, &xq[s * T * H], wh[0], wh[1], wh[2], y);
      });
    };
    const AwqScaleResult sr = awq_search_scales(
        {{w(LinearKind::Q), QD}, {w(LinearKind::K), KVD}, {w(LinearKind::V), KVD}}, H, xq.data(), n_tok, a, loss);
    awq_fold_into_norm(L.attn_norm.data(), nullptr, H, sr.scales.data());
    for (LinearKind k : {LinearKind::Q, LinearKind::K, LinearKind::V})
      awq_scale_input_columns(w(k), linear_shape(c, k)[0], H, sr.scales.data());
    divide_columns(cap.x(LinearKind::Q), H, sr.scales);
  }
  // v -> o, only when the shapes match (no GQA), as AutoAWQ.
  if (q_of(LinearKind::O) && KVD == QD) {
    std::vector<float>& xo = cap.x(LinearKind::O);
    const AwqScaleResult sr = awq_search_scales({{w(LinearKind::O), H}}, QD, xo.data(), n_tok, a);
    auto& vb = L.bias[idx(LinearKind::V)];
    awq_fold_into_linear(w(LinearKind::V), vb.empty() ? nullptr : vb.data(), KVD, H, sr.scales.data(), QD);
    awq_scale_input_columns(w(LinearKind::O), H, QD, sr.scales.data());
    divide_columns(xo, QD, sr.scales);
  }
  // post_attention_layernorm -> gate, up; loss on the MLP output.
  if (q_of(LinearKind::Gate) && q_of(LinearKind::Up)) {
    const std::vector<float>& xg = cap.x(LinearKind::Gate);
    std::vector<float> ref(static_cast<size_t>(n_tok * H));
    for (int s = 0; s < n_search; ++s) runner.mlp_out(L, &xg[s * T * H], w(LinearKind::Gate), w(LinearKind::Up), &ref[s * T * H]);
    AwqModuleLoss loss = [&](const std::vector<const float*>& wh) {
      return module_mse(n_search, T * H, ref, [&](int s, float* y) { runner.mlp_out(L, &xg[s * T * H], wh[0], wh[1], y); });
    };
    const AwqScaleResult sr =
        awq_search_scales({{w(LinearKind::Gate), F}, {w(LinearKind::Up), F}}, H, xg.data(), n_tok, a, loss);
    awq_fold_into_norm(L.ffn_norm.data(), nullptr, H, sr.scales.data());
    for (LinearKind k : {LinearKind::Gate, LinearKind::Up}) awq_scale_input_columns(w(k), F, H, sr.scales.data());
    divide_columns(cap.x(LinearKind::Gate), H, sr.scales);
  }
  // up -> down.
  if (q_of(LinearKind::Down)) {
    std::vector<float>& xd = cap.x(LinearKind::Down);
    const AwqScaleResult sr = awq_search_scales({{w(LinearKind::Down), H}}, F, xd.data(), n_tok, a);
    auto& ub = L.bias[idx(LinearKind::Up)];
    awq_fold_into_linear(w(LinearKind::Up), ub.empty() ? nullptr : ub.data(), F, H, sr.scales.data(), F);
    awq_scale_input_columns(w(LinearKind::Down), H, F, sr.scales.data());
    divide_columns(xd, F, sr.scales);
  }
  // Clipping (not q/k: their product makes clipping harmful, AutoAWQ), then quantize.
  for (int k = 0; k < kNumLinearKinds; ++k) {
    if (!quantize[k]) continue;
    const auto kind = static_cast<LinearKind>(k);
    const auto [n_out, n_in] = linear_shape(c, kind);
    if (kind != LinearKind::Q && kind != LinearKind::K) {
      const LinearKind src = kind == LinearKind::V ? LinearKind::Q : kind == LinearKind::Up ? LinearKind::Gate : kind;
      const std::vector<float>& xi = cap.x(src);
      const std::vector<float> max_val = awq_search_clip(w(kind), n_out, n_in, xi.data(), n_tok, a);
      awq_apply_clip(w(kind), n_out, n_in, max_val, a.group_size > 0 ? a.group_size : static_cast<int>(n_in));
    }
    QuantizedLinear q = awq_pseudo_quantize(w(kind), n_out, n_in, a);
    set_dequantized(L, kind, q);
    r.q[k] = std::move(q);
  }
  r.solve_s += since(t1);  // the searches run the attention / MLP many times: that is AWQ's cost
}

}  // namespace

LayerQuantResult quantize_layer(LayerF32& L, int layer, const ModelConfig& c, const HfQuantizeOptions& opt,
                                LayerRunner* runner, const float* x, int n_seqs,
                                const std::array<bool, kNumLinearKinds>& quantize) {
  LayerQuantResult r;
  switch (opt.method) {
    case QuantMethod::Rtn:
    case QuantMethod::Hqq: {
      const auto t0 = Clock::now();
      for (int k = 0; k < kNumLinearKinds; ++k) {
        if (!quantize[k]) continue;
        const auto [n_out, n_in] = linear_shape(c, static_cast<LinearKind>(k));
        float* w = L.w[k].data();
        if (opt.method == QuantMethod::Rtn) {
          RtnOptions o;
          o.bits = opt.bits;
          o.group_size = opt.group_size;
          o.sym = opt.sym;
          r.q[k] = rtn_quantize(w, n_out, n_in, o);
          set_dequantized(L, static_cast<LinearKind>(k), *r.q[k]);
        } else {
          r.hqq[k] = hqq_quantize(w, n_out, n_in, hqq_base_options(opt.bits, opt.group_size, opt.hqq_axis));
          for (int64_t f = 0; f < n_out * n_in; ++f) w[f] = r.hqq[k]->dequant(f);
        }
      }
      r.solve_s = since(t0);
      break;
    }
    case QuantMethod::Gptq:
      if (!runner || !x) fail("gptq", "needs calibration inputs");
      quantize_gptq(L, layer, c, opt, *runner, x, n_seqs, quantize, r);
      break;
    case QuantMethod::Awq:
      if (!runner || !x) fail("awq", "needs calibration inputs");
      quantize_awq(L, layer, c, opt, *runner, x, n_seqs, quantize, r);
      break;
  }
  return r;
}

}  // namespace lowbit
