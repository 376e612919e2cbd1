// The llama-quantize driver (llama.cpp src/llama-quant.cpp llama_model_quantize_impl and
// tools/quantize/quantize.cpp at 16cc3c60): check everything, then quantize tensor by
// tensor in llama-quantize's order and write the GGUF atomically.
#include "io/gguf_quantize.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "calib/imatrix.h"
#include "core/error.h"
#include "core/progress.h"
#include "io/gguf_types.h"

namespace lowbit {
namespace {

// The imatrix as llama-quantize uses it: per weight name, the mean squared activation of
// every column, experts one after another (quantize.cpp load_imatrix: in_sum2 / count, or
// 1 where an expert saw no token).
using Importance = std::unordered_map<std::string, std::vector<float>>;

Importance importance_of(const Imatrix& m, const std::string& path) {
  Importance out;
  for (const auto& [name, e] : m.entries) {
    std::vector<float>& v = out[name];
    for (int64_t x = 0; x < e.n_expert; ++x) {
      const std::vector<float> mean = e.mean(x);
      v.insert(v.end(), mean.begin(), mean.end());
    }
    for (float f : v)  // llama.cpp: "imatrix contains non-finite value"
      if (!std::isfinite(f)) fail(path, "entry " + name + " contains a non-finite value");
  }
  return out;
}

const FormatTraits* traits(FormatId id) { return is_ggml_type(id) ? find_format(id) : nullptr; }

std::string type_name(FormatId id) { return ggml_type_label(static_cast<uint32_t>(id)); }

size_t tensor_n_bytes(FormatId type, const std::vector<int64_t>& ne) {
  const FormatTraits& f = format(type);
  int64_t n_rows = 1;
  for (size_t d = 1; d < ne.size(); ++d) n_rows *= ne[d];
  return f.row_bytes(ne.empty() ? 1 : ne[0]) * static_cast<size_t>(n_rows);
}

void warn(GgufQuantizeResult& r, const GgufQuantizeOptions& opts, std::string msg) {
  if (opts.on_warning) opts.on_warning(msg);
  r.warnings.push_back(std::move(msg));
}

// The source's f32 values of one tensor: the data itself for F32, else decoded.
const float* f32_of(const SourceTensor& t, const TensorPlan& p, std::vector<float>& buf, const std::string& path) {
  if (t.ggml_type == kGgmlTypeF32) return reinterpret_cast<const float*>(t.data);
  const FormatTraits* f = traits(static_cast<FormatId>(t.ggml_type));
  if (!f || !f->dequantize) fail(path, "tensor " + t.name + " has type " + ggml_type_label(t.ggml_type) + ", which lowbit cannot decode");
  const int64_t n = p.n_elems();
  buf.resize(static_cast<size_t>(n));
  if (n == 0) return buf.data();
  dequantize_rows(f->id, t.data, buf.data(), n / p.ne[0], p.ne[0]);
  return buf.data();
}

void add_metadata(GgufWriter& w, const ModelSource& src, const GgufMix& mix, const GgufQuantizeOptions& opts,
                  const Imatrix* im) {
  for (const GgufKv& kv : src.metadata) {
    if (kv.key == "split.no" || kv.key == "split.count" || kv.key == "split.tensors.count") continue;
    w.set(kv.key, kv.value);
  }
  // gguf_set_val_* removes an existing key and appends it again; do the same.
  w.remove("general.quantization_version");
  w.set_u32("general.quantization_version", 2);  // GGML_QNT_VERSION
  w.remove("general.file_type");
  w.set_u32("general.file_type", static_cast<uint32_t>(mix.file_type));
  if (im) {  // quantize.cpp: kv overrides, integers as u32
    w.set_string("quantize.imatrix.file", opts.imatrix_path);
    if (!im->datasets.empty()) w.set_string("quantize.imatrix.dataset", im->datasets[0]);
    w.set_u32("quantize.imatrix.entries_count", static_cast<uint32_t>(im->entries.size()));
    if (im->chunk_count > 0) w.set_u32("quantize.imatrix.chunks_count", im->chunk_count);
  }
}

}  // namespace

std::vector<TensorPlan> plan_gguf_quantize(const ModelSource& src, const GgufMix& mix, bool has_imatrix,
                                           const std::vector<TypeOverride>& overrides) {
  std::vector<MixTensor> ts;
  ts.reserve(src.tensors.size());
  for (const SourceTensor& t : src.tensors) ts.push_back({t.name, t.ne, static_cast<FormatId>(t.ggml_type)});
  MixOptions mo;
  mo.has_imatrix = has_imatrix;
  mo.overrides = overrides;
  return plan_gguf_mix(mix, mix_model_from_metadata(src.metadata, src.path), std::move(ts), mo);
}

GgufQuantizeResult quantize_gguf(const std::string& model_path, const std::string& out_path,
                                 const GgufQuantizeOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  GgufQuantizeResult r;
  r.mix = find_gguf_mix(opts.mix);
  if (!r.mix) fail("--to", "unknown GGUF type \"" + opts.mix + "\" (known: " + gguf_mix_names() + ")");
  std::vector<TypeOverride> overrides;
  for (const std::string& s : opts.tensor_types) overrides.push_back(parse_type_override(s));

  const auto src = open_model_source(model_path);
  std::unique_ptr<Imatrix> im;
  Importance importance;
  if (!opts.imatrix_path.empty()) {
    im = std::make_unique<Imatrix>(read_imatrix(opts.imatrix_path));
    importance = importance_of(*im, opts.imatrix_path);
  }
  r.plan = plan_gguf_quantize(*src, *r.mix, im != nullptr, overrides);

  std::map<std::string, const SourceTensor*> by_name;
  for (const SourceTensor& t : src->tensors) by_name[t.name] = &t;
  std::map<FormatId, std::vector<std::string>> missing;  // type -> tensors
  std::map<std::string, const float*> imat_of;            // tensor -> importance (nullptr: none)
  for (const TensorPlan& p : r.plan) {
    if (!p.fallback.empty() && p.lowbit_fallback)
      warn(r, opts, p.name + ": " + p.fallback + "; llama.cpp aborts here, lowbit uses F16");
    if (!p.converts()) continue;
    const FormatTraits* dst = traits(p.type);
    if (!dst || !dst->quantize) missing[p.type].push_back(p.name);
    const FormatTraits* s = traits(p.src_type);
    if (p.src_type != FormatId::F32 && (!s || !s->dequantize))
      fail(model_path, "tensor " + p.name + " has type " + type_name(p.src_type) + ", which lowbit cannot decode");
    const float* w = nullptr;
    if (auto it = importance.find(p.name); it != importance.end()) {
      const int64_t n_expert = p.ne.size() > 2 ? p.ne[2] : 1;
      if (static_cast<int64_t>(it->second.size()) == p.ne[0] * n_expert) {
        w = it->second.data();
      } else if (p.name != "token_embd.weight") {  // llama.cpp lets token_embd pass with a warning
        fail(opts.imatrix_path, fmt::format("imatrix size {} is different from tensor size {} for {}",
                                            it->second.size(), p.ne[0] * n_expert, p.name));
      }
    }
    if (p.requires_imatrix && !w)
      fail(im ? opts.imatrix_path : model_path,
           fmt::format("tensor {} becomes {}, which needs an importance matrix{} (llama.cpp refuses it too)", p.name,
                       type_name(p.type), im ? " entry for it" : " (--imatrix)"));
    imat_of[p.name] = w;
  }
  if (!missing.empty()) {  // one message naming every type the plan needs and lowbit lacks
    std::string list;
    for (const auto& [type, names] : missing) {
      list += fmt::format("{}{} ({} tensor{}, e.g. {})", list.empty() ? "" : ", ", format(type).name, names.size(),
                          names.size() == 1 ? "" : "s", names.front());
      r.missing_quantizers.push_back(std::string(format(type).name));
    }
    const std::string msg = "mix " + std::string(r.mix->name) + " needs types with no quantizer in lowbit yet: " + list;
    if (!opts.dry_run) fail("--to gguf:" + std::string(r.mix->name), msg);
    warn(r, opts, msg);
  }
  bool requantize_warned = false;
  for (const TensorPlan& p : r.plan) {
    const SourceTensor& t = *by_name.at(p.name);
    r.n_bytes_in += t.n_bytes;
    r.n_elems += p.n_elems();
    if (p.converts() && !requantize_warned && traits(p.src_type) && traits(p.src_type)->block_elems > 1) {
      warn(r, opts, "requantizing: " + p.name + " is " + type_name(p.src_type) +
                        " in the source; it is dequantized first, which loses quality");
      requantize_warned = true;
    }
  }

  GgufWriter w;
  add_metadata(w, *src, *r.mix, opts, im.get());
  std::deque<std::vector<uint8_t>> outputs;  // the writer copies at write() time
  std::vector<float> f32_buf;
  Progress progress("quantize", static_cast<int64_t>(r.plan.size()), opts.progress && !opts.dry_run);
  std::map<FormatId, GgufTypeStats> stats;
  for (size_t i = 0; i < r.plan.size(); ++i) {
    const TensorPlan& p = r.plan[i];
    const SourceTensor& t = *by_name.at(p.name);
    const void* data = t.data;
    size_t n_bytes = t.n_bytes;
    if (p.converts()) {
      n_bytes = tensor_n_bytes(p.type, p.ne);
      if (!opts.dry_run) {
        const float* x = f32_of(t, p, f32_buf, model_path);
        std::vector<uint8_t>& out = outputs.emplace_back(n_bytes);
        // Experts (ne[2]) one by one: each has its own slice of the importance vector.
        const int64_t n_per_row = p.ne[0], n_rows = p.ne.size() > 1 ? p.ne[1] : 1;
        int64_t n_mats = 1;
        for (size_t d = 2; d < p.ne.size(); ++d) n_mats *= p.ne[d];
        const size_t mat_bytes = n_mats > 0 ? n_bytes / static_cast<size_t>(n_mats) : 0;
        const float* imat = imat_of.at(p.name);
        try {
          for (int64_t e = 0; e < n_mats; ++e)
            quantize_rows(p.type, x + e * n_rows * n_per_row, out.data() + static_cast<size_t>(e) * mat_bytes, n_rows,
                          n_per_row, imat ? imat + (p.ne.size() > 2 ? (e % p.ne[2]) * n_per_row : 0) : nullptr);
        } catch (const Error& err) {
          fail(model_path, "tensor " + p.name + ": " + err.detail());
        }
        data = out.data();
      }
    }
    if (!opts.dry_run) w.add_tensor(p.name, static_cast<uint32_t>(p.type), p.ne, data, n_bytes);
    GgufTypeStats& s = stats[p.type];
    s.type = p.type;
    ++s.n_tensors;
    s.n_elems += p.n_elems();
    s.n_bytes += n_bytes;
    r.n_bytes_out += n_bytes;
    progress.update(static_cast<int64_t>(i + 1), p.name);
  }
  progress.finish();
  for (const auto& [type, s] : stats) r.by_type.push_back(s);
  if (!opts.dry_run) {
    w.write(out_path);
    r.written = true;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace lowbit
