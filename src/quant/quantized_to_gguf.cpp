#include "quant/quantized_to_gguf.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/progress.h"
#include "io/gguf.h"
#include "io/gguf_mix.h"
#include "io/hf_to_gguf.h"
#include "io/safetensors.h"
#include "quant/gguf_exact.h"
#include "quant/layer_forward.h"
#include "quant/quantized_source.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

using LinearShapes = std::map<std::string, std::array<int64_t, 2>>;  // module -> {n_out, n_in}

const FormatTraits* requantize_format(const std::string& name) {
  if (name.empty()) return nullptr;
  const FormatTraits* f = find_format(name);
  if (!f || !f->quantize)
    fail("--requantize", "\"" + name + "\" is not a ggml type lowbit quantizes to (e.g. Q4_K, Q6_K, Q8_0, F16)");
  if (f->id == FormatId::Q8_1 || f->id == FormatId::Q8_K)
    fail("--requantize", std::string(f->name) + " is an activation type; llama.cpp does not run weights in it");
  if (f->requires_importance)
    fail("--requantize", std::string(f->name) + " needs an importance matrix, which convert does not take");
  return f;
}

// Every linear a Llama layer (and lm_head) can have, with its shape under the config.
LinearShapes linear_shapes(const ModelConfig& c) {
  LinearShapes m;
  for (int l = 0; l < c.n_layers; ++l)
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const auto kind = static_cast<LinearKind>(k);
      m[linear_module_name(l, kind)] = linear_shape(c, kind);
    }
  m["lm_head"] = {c.vocab_size, c.hidden_size};
  return m;
}

// The linear module a tensor belongs to ("" if none) and the rest of its name ("qweight").
std::string owning_module(const std::string& name, const LinearShapes& linears, std::string& suffix) {
  for (size_t dot = name.rfind('.'); dot != std::string::npos && dot > 0; dot = name.rfind('.', dot - 1)) {
    std::string prefix = name.substr(0, dot);
    if (linears.count(prefix)) {
      suffix = name.substr(dot + 1);
      return prefix;
    }
  }
  return "";
}

// llama.cpp's general.file_type for the type holding most linear weights, if a mix has it.
void set_file_type(GgufWriter& w, const ConvertResult& r) {
  std::map<FormatId, int64_t> n_elems;
  for (const ConvertTensor& t : r.plan)
    if (t.how != ConvertHow::Copy && t.how != ConvertHow::Refuse) {
      int64_t n = 1;
      for (int64_t d : t.ne) n *= d;
      n_elems[t.type] += n;
    }
  if (n_elems.empty()) return;
  auto top = n_elems.begin();
  for (auto it = n_elems.begin(); it != n_elems.end(); ++it)
    if (it->second > top->second) top = it;
  const GgufMix* mix = find_gguf_mix(format(top->first).name);
  if (mix && mix->default_type == top->first) w.set_u32("general.file_type", static_cast<uint32_t>(mix->file_type));
}

// Decoded to f32 (the checkpoint's formula) and quantized with the registry's reference
// quantizer, as llama-quantize would quantize that f32 tensor.
std::vector<uint8_t> requantized(const QuantizedLinear& q, const FormatTraits& type) {
  std::vector<float> w(static_cast<size_t>(q.n_out * q.n_in));
  q.dequantize(w.data());
  std::vector<uint8_t> bytes(type.row_bytes(q.n_in) * static_cast<size_t>(q.n_out));
  quantize_rows(type.id, w.data(), bytes.data(), q.n_out, q.n_in);
  return bytes;
}

std::string refusal_message(const std::string& module, const ConvertTensor& p, const ExactGgufType& e,
                            const QuantizedLinear& q) {
  const std::string widen_hint =
      e.widens ? fmt::format("--widen (exact as {}, {} bits per weight) or ", format(e.wide_type).name,
                             format(e.wide_type).bits_per_weight())
               : "";
  return fmt::format("{} ({}, {}) has no exact GGUF type: {}; use {}--requantize {} (lossy)", module, p.name, p.source,
                     e.why_not, widen_hint, suggested_requantize_type(q));
}

struct Converter {
  const std::string& in_dir;
  const ConvertOptions& opts;
  const FormatTraits* requantize;
  const QuantizedHfModel& qm;
  ModelSource& src;
  ConvertResult& r;

  // Errors of the packers (which name no file) as errors of this input and module.
  template <class F>
  std::vector<uint8_t> guarded(const std::string& module, F&& make) const {
    try {
      return make();
    } catch (const Error& err) {
      fail(in_dir, module + ": " + err.detail());
    }
  }

  // One packed linear: exact, widened, requantized, or refused. Appends to src.tensors and r.plan.
  void add_packed(const std::string& module, const std::array<int64_t, 2>& shape) {
    const auto [n_out, n_in] = shape;
    const std::optional<QuantizedLinear> q = qm.linear(module, n_out, n_in);
    if (!q) fail(in_dir, module + " has packed tensors that lowbit's " + r.method + " reader does not decode");
    if (std::string bad = non_finite_parameter(*q); !bad.empty()) fail(in_dir, module + ": " + bad);
    ConvertTensor p;
    p.hf_name = module;
    p.name = hf_gguf_name(module + ".weight", in_dir);
    p.ne = {n_in, n_out};
    p.source = r.method + " " + describe_quantized_linear(*q);
    const ExactGgufType e = exact_gguf_type(*q);
    std::vector<uint8_t> bytes;
    if (e.exact || (opts.widen && e.widens)) {
      p.how = e.exact ? ConvertHow::Exact : ConvertHow::Widen;
      p.type = e.exact ? e.type : e.wide_type;
      p.why_not = e.why_not;
      if (!opts.dry_run) bytes = guarded(module, [&] { return pack_exact_gguf(*q, p.type); });
    } else if (requantize) {
      p.how = ConvertHow::Requantize;
      p.type = requantize->id;
      p.why_not = e.why_not;
      if (n_in % requantize->block_elems != 0)
        fail(in_dir, fmt::format("{} ({}): n_in {} is not a multiple of {}'s block of {}; pick a type with smaller "
                                 "blocks (Q8_0, Q4_1, F16)",
                                 module, p.name, n_in, requantize->name, requantize->block_elems));
      if (!opts.dry_run) bytes = guarded(module, [&] { return requantized(*q, *requantize); });
    } else {
      const std::string msg = refusal_message(module, p, e, *q);
      if (!opts.dry_run) fail(in_dir, msg);
      p.how = ConvertHow::Refuse;
      p.why_not = e.why_not;
      if (r.refusal.empty()) r.refusal = msg;
    }
    // Packed rows permute like float rows: each is a whole number of blocks (hf_to_gguf.h).
    if (const int n_heads = hf_gguf_permute_heads(p.name, qm.config()); n_heads > 0 && !bytes.empty())
      bytes = permute_qk_rows(bytes.data(), n_out, bytes.size() / static_cast<size_t>(n_out), n_heads, module, in_dir);
    SourceTensor t{p.name, p.ne, static_cast<uint32_t>(p.type), nullptr, 0};
    if (p.how != ConvertHow::Refuse) t.n_bytes = format(p.type).row_bytes(n_in) * static_cast<size_t>(n_out);
    if (!bytes.empty()) t.data = src.owned.emplace_back(std::move(bytes)).data();
    src.tensors.push_back(std::move(t));
    r.plan.push_back(std::move(p));
  }

  // A float tensor, as the HF -> GGUF path converts it (or drops it).
  void add_float(const SafetensorsTensor& t) {
    const size_t before = src.tensors.size();
    add_hf_float_tensor(src, t, qm.config(), in_dir);
    if (src.tensors.size() == before) return;
    ConvertTensor p;
    p.name = src.tensors.back().name;
    p.hf_name = t.name;
    p.ne = src.tensors.back().ne;
    p.source = std::string(dtype_name(t.dtype));
    p.type = static_cast<FormatId>(src.tensors.back().ggml_type);
    r.plan.push_back(std::move(p));
  }
};

void tally(ConvertResult& r, const std::vector<SourceTensor>& tensors) {
  std::map<FormatId, ConvertTypeStats> by_type;
  for (size_t i = 0; i < r.plan.size(); ++i) {
    const ConvertTensor& p = r.plan[i];
    if (p.how == ConvertHow::Refuse) {
      ++r.n_refused;
      continue;
    }
    ConvertTypeStats& s = by_type.try_emplace(p.type, ConvertTypeStats{p.type}).first->second;
    ++s.n_tensors;
    int64_t n = 1;
    for (int64_t d : p.ne) n *= d;
    s.n_elems += n;
    s.n_bytes += tensors[i].n_bytes;
    r.n_bytes_out += tensors[i].n_bytes;
    switch (p.how) {
      case ConvertHow::Exact: ++s.n_exact, ++r.n_exact; break;
      case ConvertHow::Widen: ++s.n_widened, ++r.n_widened; break;
      case ConvertHow::Requantize: ++s.n_requantized, ++r.n_requantized; break;
      default: ++s.n_copied, ++r.n_copied; break;
    }
  }
  for (const auto& [type, s] : by_type) r.by_type.push_back(s);
}

}  // namespace

const char* convert_how_name(ConvertHow h) {
  switch (h) {
    case ConvertHow::Copy: return "copy";
    case ConvertHow::Exact: return "exact";
    case ConvertHow::Widen: return "widen";
    case ConvertHow::Requantize: return "requantize";
    case ConvertHow::Refuse: return "refused";
  }
  return "?";
}

ConvertResult convert_quantized_to_gguf(const std::string& in_dir, const std::string& out_path,
                                        const ConvertOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  const FormatTraits* requantize = requantize_format(opts.requantize);
  if (!opts.dry_run && out_path.empty()) fail("-o", "an output .gguf file is required (or use --dry-run)");
  std::error_code ec;
  if (!fs::is_directory(in_dir, ec)) fail(in_dir, "no such directory (expected a quantized HF checkpoint folder)");
  if (!hf_dir_is_quantized(in_dir))
    fail(in_dir, "config.json has no quantization_config: not a quantized checkpoint (a float model converts with "
                 "lowbit quantize MODEL --to gguf:TYPE)");
  const auto qm = QuantizedHfModel::open(in_dir);
  ConvertResult r;
  r.method = qm->method();
  const ModelConfig& c = qm->config();
  const auto src = hf_gguf_skeleton(in_dir, c);
  for (const SourceTensor& t : src->tensors)  // rope_freqs.weight, computed from the config
    r.plan.push_back({t.name, "", t.ne, "config", static_cast<FormatId>(t.ggml_type), ConvertHow::Copy, ""});

  // A module is packed when it has tensors besides .weight / .bias (qweight, W_q, ...).
  const LinearShapes linears = linear_shapes(c);
  const std::vector<const SafetensorsTensor*>& tensors = qm->safetensors().tensors();
  std::set<std::string> packed, done;
  std::string suffix;
  for (const SafetensorsTensor* t : tensors) {
    const std::string m = owning_module(t->name, linears, suffix);
    if (!m.empty() && suffix != "weight" && suffix != "bias") packed.insert(m);
  }
  if (packed.empty()) fail(in_dir, "no packed linear in the safetensors, although config.json has a quantization_config");

  Converter cv{in_dir, opts, requantize, *qm, *src, r};
  Progress progress("convert", static_cast<int64_t>(tensors.size()), opts.progress && !opts.dry_run);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SafetensorsTensor& t = *tensors[i];
    const std::string m = owning_module(t.name, linears, suffix);
    if (packed.count(m) && suffix != "bias") {
      if (done.insert(m).second) cv.add_packed(m, linears.at(m));  // at its first tensor
    } else {
      cv.add_float(t);
    }
    progress.update(static_cast<int64_t>(i + 1), t.name);
  }
  progress.finish();
  tally(r, src->tensors);

  if (!opts.dry_run) {
    GgufWriter w;
    for (const GgufKv& kv : src->metadata) w.set(kv.key, kv.value);
    w.set_u32("general.quantization_version", 2);  // GGML_QNT_VERSION, as llama-quantize writes it
    set_file_type(w, r);
    for (const SourceTensor& t : src->tensors) w.add_tensor(t.name, t.ggml_type, t.ne, t.data, t.n_bytes);
    w.write(out_path);
    r.written = true;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace lowbit
