// llama-quantize's per-tensor type choice (llama.cpp src/llama-quant.cpp at 16cc3c60, Dec
// 2025: llama_tensor_get_type and the loop of llama_model_quantize_impl), rule for rule, in
// the same order, with the same counters. See gguf_mix.h for where lowbit departs from it.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <regex>

#include "core/error.h"
#include "io/gguf_mix.h"

namespace lowbit {
namespace {

using FT = LlamaFileType;
using T = FormatId;

bool has(const std::string& name, const char* part) { return name.find(part) != std::string::npos; }

int n_dims(const std::vector<int64_t>& ne) {  // ggml_n_dims: trailing 1-dims do not count
  int n = static_cast<int>(ne.size());
  while (n > 1 && ne[static_cast<size_t>(n - 1)] == 1) --n;
  return std::max(n, 1);
}

// tensor_allows_quantization / the `quantize &=` chain of the main loop.
bool allows_quantization(const std::string& name, const std::vector<int64_t>& ne) {
  if (n_dims(ne) < 2) return false;  // only 2-D and 3-D (expert) tensors
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) return false;
  if (has(name, "_norm.weight")) return false;
  static const char* const kNever[] = {
      "ffn_gate_inp.weight",  // MoE routers
      "altup", "laurel", "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight",
      "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
      "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
      "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
      "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
      "attn_rel_b.weight"};
  for (const char* p : kNever)
    if (has(name, p)) return false;
  return name != "position_embd.weight" && name != "token_types.weight";  // BERT
}

bool is_iq_low(FT ft) {  // the IQ1/IQ2 mixes share one branch
  return ft == FT::IQ2_XXS || ft == FT::IQ2_XS || ft == FT::IQ1_S || ft == FT::IQ2_S || ft == FT::IQ2_M ||
         ft == FT::IQ1_M;
}

struct Rules {
  const MixModel& m;
  FT ft;
  bool has_imatrix;
  bool has_output = false;  // false: token_embd doubles as the output (tied) and is treated as it
  bool is_70b = false;      // llama.cpp's LLM_TYPE_70B: llama, 80 layers, GQA
  int n_attention_wv = 0, i_attention_wv = 0;
  int n_ffn = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;

  static bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

  // layer_info: the running counter, or for MoE models the layer parsed from the name.
  int layer(int counter, const std::string& name) const {
    if (std::max(1, m.n_expert) <= 1) return counter;
    int i = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &i) != 1) fail("", "cannot determine the layer of tensor " + name);
    if (i < 0 || i >= n_ffn) fail("", fmt::format("bad layer {} for tensor {} (model has {})", i, name, n_ffn));
    return i;
  }

  // llama_tensor_get_type before its fallback step. t: the mix's default type.
  T choose(T t, const std::string& name, const std::vector<int64_t>& ne) {
    const bool falcon = m.arch == "falcon";
    const int gqa = m.n_gqa();
    if (name == "output.weight" || (!has_output && name == "token_embd.weight")) {
      const int64_t qk = format(t).block_elems;
      if (ft == FT::MXFP4_MOE) return T::Q8_0;
      if (falcon || ne[0] % qk != 0) return T::Q8_0;
      if (is_iq_low(ft) || ft == FT::IQ3_XXS) return T::Q5_K;
      return t != T::Q8_0 ? T::Q6_K : t;
    }
    if (ft == FT::MXFP4_MOE) return n_dims(ne) >= 3 && ne[2] > 1 ? T::MXFP4 : T::Q8_0;  // experts only
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") {
      if (ft == FT::IQ2_XXS || ft == FT::IQ2_XS || ft == FT::IQ1_S || ft == FT::IQ1_M) return T::Q2_K;
      if (ft == FT::IQ2_S || ft == FT::IQ2_M || ft == FT::IQ3_XXS) return T::IQ3_S;
      if (t == T::TQ1_0 || t == T::TQ2_0) return T::Q4_K;
      return t;
    }
    if (is_iq_low(ft)) {
      const bool s_or_m = ft == FT::IQ2_S || ft == FT::IQ2_M;
      if (has(name, "attn_v.weight")) {
        ++i_attention_wv;
        if (gqa >= 4 || m.n_expert >= 4) return T::Q4_K;
        return s_or_m ? T::IQ3_S : T::Q2_K;
      }
      if (m.n_expert == 8 && has(name, "attn_k.weight")) return T::Q4_K;
      if (has(name, "ffn_down")) {
        const bool first = i_ffn_down < n_ffn / 8;
        ++i_ffn_down;
        return first ? (s_or_m ? T::IQ3_S : T::Q2_K) : t;
      }
      if (has(name, "attn_output.weight")) {
        if (m.n_expert == 8) return T::Q5_K;
        if (ft == FT::IQ1_S || ft == FT::IQ1_M) return T::IQ2_XXS;
        if (s_or_m) return T::IQ3_S;
      }
      return t;
    }
    if (has(name, "attn_v.weight")) {
      const int i = i_attention_wv;
      if (ft == FT::Q2_K) t = gqa >= 4 ? T::Q4_K : T::Q3_K;
      else if (ft == FT::Q2_K_S && gqa >= 4) t = T::Q4_K;
      else if (ft == FT::IQ3_XXS) t = gqa >= 4 ? T::Q4_K : !has_imatrix ? T::IQ3_S : T::IQ3_XXS;
      else if ((ft == FT::IQ3_XS || ft == FT::IQ3_S) && gqa >= 4) t = T::Q4_K;
      else if (ft == FT::IQ3_M) t = T::Q4_K;
      else if (ft == FT::Q3_K_M) t = i < 2 ? T::Q5_K : T::Q4_K;
      else if (ft == FT::Q3_K_L) t = T::Q5_K;
      else if ((ft == FT::IQ4_NL || ft == FT::IQ4_XS) && gqa >= 4) t = T::Q5_K;
      else if ((ft == FT::Q4_K_M || ft == FT::Q5_K_M) && more_bits(i, n_attention_wv)) t = T::Q6_K;
      else if (ft == FT::Q4_K_S && i < 4) t = T::Q5_K;
      // 70B: 8 heads share attn_v, so it is 8x smaller than attn_q: more bits are cheap.
      if (is_70b && (t == T::Q3_K || t == T::Q4_K)) t = T::Q5_K;
      if (m.n_expert == 8) t = T::Q8_0;
      ++i_attention_wv;
      return t;
    }
    if (has(name, "attn_k.weight")) {
      if (m.n_expert == 8) return T::Q8_0;
      if (ft == FT::IQ3_XS) return T::IQ3_XXS;
      if (ft == FT::IQ3_XXS) return T::IQ2_S;
      return t;
    }
    if (has(name, "attn_q.weight")) {
      if (ft == FT::IQ3_XS) return T::IQ3_XXS;
      if (ft == FT::IQ3_XXS) return T::IQ2_S;
      return t;
    }
    if (has(name, "ffn_down")) {
      const int i = layer(i_ffn_down, name), n = n_ffn;
      if (ft == FT::Q2_K) t = T::Q3_K;
      else if (ft == FT::Q2_K_S) { if (i < n / 8) t = T::Q4_K; }
      else if (ft == FT::IQ3_XXS && !has_imatrix) t = i < n / 8 ? T::Q4_K : T::Q3_K;
      else if (ft == FT::Q3_K_M) t = i < n / 16 ? T::Q5_K : (!falcon || more_bits(i, n)) ? T::Q4_K : T::Q3_K;
      else if (ft == FT::IQ3_M && (i < n / 8 || (m.n_expert == 8 && more_bits(i, n)))) t = T::Q4_K;
      else if (ft == FT::Q3_K_L) t = falcon ? T::Q4_K : T::Q5_K;
      else if (ft == FT::Q4_K_M) {
        if (falcon) t = i < n / 16 ? T::Q6_K : more_bits(i, n) ? T::Q5_K : T::Q4_K;
        else if (more_bits(i, n)) t = T::Q6_K;
      }
      else if (i < n / 8 && (ft == FT::IQ4_NL || ft == FT::IQ4_XS) && !has_imatrix) t = T::Q5_K;
      else if (ft == FT::Q5_K_M && more_bits(i, n)) t = T::Q6_K;
      else if (ft == FT::Q4_K_S && !falcon && i < n / 8) t = T::Q5_K;
      // Guards the first ffn_down layers of Q4_0/Q5_0, only with an imatrix so that a plain
      // run keeps its old output (llama.cpp's comment).
      else if ((ft == FT::Q4_0 || ft == FT::Q5_0) && has_imatrix && i < n / 8) t = ft == FT::Q4_0 ? T::Q4_1 : T::Q5_1;
      ++i_ffn_down;
      return t;
    }
    if (has(name, "attn_output.weight")) {
      if (!falcon) {
        if (m.n_expert == 8) {
          static constexpr FT kUp[] = {FT::Q2_K, FT::IQ3_XS, FT::IQ3_XXS, FT::Q3_K_S, FT::Q3_K_M, FT::IQ4_NL,
                                       FT::Q4_K_S, FT::Q4_K_M, FT::IQ3_S, FT::IQ3_M, FT::IQ4_XS};
          if (std::find(std::begin(kUp), std::end(kUp), ft) != std::end(kUp)) t = T::Q5_K;
        } else {
          if (ft == FT::Q2_K) t = T::Q3_K;
          else if (ft == FT::IQ3_XXS) t = T::IQ3_S;
          else if (ft == FT::Q3_K_M) t = T::Q4_K;
          else if (ft == FT::Q3_K_L) t = T::Q5_K;
          else if (ft == FT::IQ3_M) t = T::Q4_K;
        }
      } else if (ft == FT::Q3_K_L) {
        t = T::Q4_K;
      }
      return t;
    }
    if (has(name, "attn_qkv.weight")) {
      if (ft == FT::Q3_K_M || ft == FT::Q3_K_L || ft == FT::IQ3_M) return T::Q4_K;
      if (ft == FT::Q4_K_M) return T::Q5_K;
      if (ft == FT::Q5_K_M) return T::Q6_K;
      return t;
    }
    if (has(name, "ffn_gate") || has(name, "ffn_up")) {
      int& counter = has(name, "ffn_gate") ? i_ffn_gate : i_ffn_up;
      const int i = layer(counter, name), n = n_ffn;
      if (ft == FT::IQ3_XS && i >= n / 8 && i < 7 * n / 8) t = T::IQ3_XXS;
      ++counter;
      return t;
    }
    return t;
  }
};

// The shape fallback of llama_tensor_get_type (convert_incompatible_tensor), extended so that
// no row length aborts: a type that does not fit and has no llama.cpp fallback becomes F16.
T fit_row(T t, int64_t n_cols, TensorPlan& p) {
  const int64_t qk = format(t).block_elems;
  if (n_cols % qk == 0) return t;
  T f;
  switch (t) {
    case T::TQ1_0: case T::TQ2_0: f = T::Q4_0; break;  // llama.cpp: "TODO: use a symmetric type"
    case T::IQ2_XXS: case T::IQ2_XS: case T::IQ2_S: case T::IQ3_XXS: case T::IQ3_S: case T::IQ1_S:
    case T::IQ1_M: case T::Q2_K: case T::Q3_K: case T::IQ4_XS: f = T::IQ4_NL; break;
    case T::Q4_K: f = T::Q5_0; break;
    case T::Q5_K: f = T::Q5_1; break;
    case T::Q6_K: f = T::Q8_0; break;
    default: f = T::F16; p.lowbit_fallback = true; break;  // llama.cpp: "Unsupported tensor size"
  }
  if (n_cols % format(f).block_elems != 0) f = T::F16;
  p.fallback = fmt::format("{} -> {} (ne[0] = {} is not a multiple of {})", format(t).name, format(f).name, n_cols, qk);
  return f;
}

// llama.cpp (16cc3c60) refuses these without an imatrix ("Missing importance matrix for tensor").
bool needs_imatrix(T t, FT ft, const std::string& name) {
  if (t == T::IQ2_XXS || t == T::IQ2_XS || t == T::IQ2_S || t == T::IQ1_S) return true;
  if (t == T::IQ1_M) return name != "token_embd.weight" && name != "output.weight";
  return t == T::Q2_K && ft == FT::Q2_K_S && name != "token_embd.weight";
}

}  // namespace

std::vector<TensorPlan> plan_gguf_mix(const GgufMix& mix, const MixModel& model, std::vector<MixTensor> tensors,
                                      const MixOptions& opts) {
  std::stable_sort(tensors.begin(), tensors.end(),
                   [](const MixTensor& a, const MixTensor& b) { return llama_tensor_order_less(a.name, b.name); });
  Rules r{model, mix.file_type, opts.has_imatrix};
  r.n_ffn = model.n_layer;
  r.is_70b = model.arch == "llama" && model.n_layer == 80 && model.n_head != model.n_head_kv;
  for (const MixTensor& t : tensors) {  // counted over all tensors, quantized or not
    if (has(t.name, "attn_v.weight") || has(t.name, "attn_qkv.weight") || has(t.name, "attn_kv_b.weight"))
      ++r.n_attention_wv;
    if (t.name == "output.weight") r.has_output = true;
  }
  std::vector<std::pair<std::regex, FormatId>> overrides;
  for (const TypeOverride& o : opts.overrides) overrides.emplace_back(std::regex(o.pattern), o.type);

  std::vector<TensorPlan> plan;
  plan.reserve(tensors.size());
  for (MixTensor& t : tensors) {
    TensorPlan p;
    p.name = std::move(t.name);
    p.ne = std::move(t.ne);
    p.src_type = t.src_type;
    p.type = t.src_type;
    p.quantizable = !p.ne.empty() && allows_quantization(p.name, p.ne);
    if (p.quantizable) {
      T ty = mix.default_type;
      if (mix.is_quantized()) ty = r.choose(ty, p.name, p.ne);
      for (const auto& [re, o] : overrides)  // the last match wins
        if (std::regex_search(p.name, re)) {
          ty = o;
          p.overridden = true;
        }
      p.type = fit_row(ty, p.ne[0], p);
      p.requires_imatrix = needs_imatrix(p.type, mix.file_type, p.name);
    }
    plan.push_back(std::move(p));
  }
  return plan;
}

}  // namespace lowbit
