#include "io/inspect.h"

#include "io/gguf.h"
#include "io/gguf_text.h"
#include "model/gguf_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/memory.h"
#include "io/safetensors.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A one-line summary of a GGUF value: scalars in full, strings cut, arrays by type and
// length with their first elements.
std::string gguf_value_summary(const GgufValue& v) {
  auto elem = [&](size_t i) -> std::string {
    switch (v.elem_type()) {
      case GgufType::U8: return std::to_string(v.at<uint8_t>(i));
      case GgufType::I8: return std::to_string(v.at<int8_t>(i));
      case GgufType::U16: return std::to_string(v.at<uint16_t>(i));
      case GgufType::I16: return std::to_string(v.at<int16_t>(i));
      case GgufType::U32: return std::to_string(v.at<uint32_t>(i));
      case GgufType::I32: return std::to_string(v.at<int32_t>(i));
      case GgufType::U64: return std::to_string(v.at<uint64_t>(i));
      case GgufType::I64: return std::to_string(v.at<int64_t>(i));
      case GgufType::F32: return fmt::format("{:g}", v.at<float>(i));
      case GgufType::F64: return fmt::format("{:g}", v.at<double>(i));
      case GgufType::BOOL: return v.at<bool>(i) ? "true" : "false";
      case GgufType::STRING: return gguf_quote(std::string_view(v.str(i)).substr(0, 60));
      default: return "?";
    }
  };
  if (!v.is_array()) return elem(0);
  std::string s = fmt::format("{} x {} [", v.type_label(), v.n_elems());
  for (size_t i = 0; i < v.n_elems() && i < 4; ++i) s += (i ? ", " : "") + elem(i);
  return s + (v.n_elems() > 4 ? ", ...]" : "]");
}

InspectReport inspect_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  InspectReport r;
  r.path = path;
  r.is_gguf = true;
  r.files.push_back(fs::path(path).filename().string());
  std::error_code ec;
  r.file_bytes = fs::file_size(path, ec);
  for (const auto& kv : f->metadata()) r.metadata[kv.key] = gguf_value_summary(kv.value);
  for (const GgufTensor& t : f->tensors()) {
    InspectTensor it;
    it.name = t.name;
    it.type = t.type_name();
    it.shape.assign(t.ne.rbegin(), t.ne.rend());
    it.n_elems = t.n_elems();
    it.n_bytes = t.n_bytes;
    it.file = r.files[0];
    r.n_params += it.n_elems;
    r.n_bytes += it.n_bytes;
    auto& d = r.by_dtype[it.type];
    d.n_tensors += 1;
    d.n_params += it.n_elems;
    d.n_bytes += it.n_bytes;
    r.tensors.push_back(std::move(it));
  }
  std::sort(r.tensors.begin(), r.tensors.end(),
            [](const InspectTensor& a, const InspectTensor& b) { return natural_less(a.name, b.name); });
  try {
    r.config = gguf_model_config(*f);
  } catch (const Error& e) {
    r.config_error = e.what();
  }
  return r;
}

bool has_gguf_magic(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char m[4] = {};
  const bool ok = std::fread(m, 1, 4, f) == 4 && std::memcmp(m, "GGUF", 4) == 0;
  std::fclose(f);
  return ok;
}

// A layer tensor: "model.layers.12.mlp.up_proj.weight" -> prefix "model.layers.", 12, suffix
// "mlp.up_proj.weight". The first dot-separated all-digit component is the layer index.
struct LayerName {
  std::string prefix;
  int64_t index = -1;
  std::string suffix;
};

std::optional<LayerName> split_layer(const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    if (end > start && end - start <= 9 && end < name.size() &&
        std::all_of(name.begin() + start, name.begin() + end, [](char c) { return c >= '0' && c <= '9'; })) {
      LayerName l;
      l.prefix = name.substr(0, start);
      l.index = std::stoll(name.substr(start, end - start));
      l.suffix = name.substr(end + 1);
      return l;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::string rope_scaling_str(const RopeScaling& r) {
  switch (r.type) {
    case RopeScaling::Type::None: return "none";
    case RopeScaling::Type::Linear: return fmt::format("linear (factor {:g})", r.factor);
    case RopeScaling::Type::Llama3:
      return fmt::format("llama3 (factor {:g}, low_freq {:g}, high_freq {:g}, original_max_pos {:g})", r.factor,
                         r.low_freq_factor, r.high_freq_factor, r.original_max_position_embeddings);
  }
  return "?";
}

json config_summary_json(const ModelConfig& c) {
  json j;
  j["architecture"] = c.architecture;
  j["model_type"] = c.model_type;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["intermediate_size"] = c.intermediate_size;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  switch (c.rope_scaling.type) {
    case RopeScaling::Type::None: j["rope_scaling"] = nullptr; break;
    case RopeScaling::Type::Linear:
      j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", c.rope_scaling.factor}};
      break;
    case RopeScaling::Type::Llama3:
      j["rope_scaling"] = {{"rope_type", "llama3"},
                           {"factor", c.rope_scaling.factor},
                           {"low_freq_factor", c.rope_scaling.low_freq_factor},
                           {"high_freq_factor", c.rope_scaling.high_freq_factor},
                           {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
      break;
  }
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["qkv_bias"] = c.qkv_bias;
  j["o_bias"] = c.o_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["qk_norm"] = c.qk_norm;
  j["sliding_window"] = c.sliding_window;
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_ids"] = c.eos_token_ids;
  j["torch_dtype"] = c.torch_dtype;
  return j;
}

std::string params_str(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1000) return fmt::format("{:.2f} K", n / 1e3);
  return std::to_string(n);
}

}  // namespace

std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && a[ie] >= '0' && a[ie] <= '9') ++ie;
      while (je < b.size() && b[je] >= '0' && b[je] <= '9') ++je;
      // Compare digit runs by value: strip leading zeros, then length, then digits.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      if (ie - i != je - j) return ie - i < je - j;  // "01" after "1"
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

InspectReport inspect_model(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) fail(path, "no such file or directory");
  const bool is_dir = fs::is_directory(st);
  if (!is_dir && (ends_with(path, ".gguf") || has_gguf_magic(path))) return inspect_gguf(path);

  auto model = SafetensorsModel::open(path);
  InspectReport r;
  r.path = path;
  r.metadata = model->metadata();
  std::set<std::string> seen_files;
  for (const SafetensorsTensor* t : model->tensors()) {
    InspectTensor it;
    it.name = t->name;
    it.type = std::string(dtype_name(t->dtype));
    it.shape = t->shape;
    it.n_elems = 1;
    for (int64_t d : t->shape) it.n_elems *= d;
    it.n_bytes = t->n_bytes;
    it.file = fs::path(t->file).filename().string();
    if (seen_files.insert(t->file).second) {
      r.files.push_back(it.file);
      r.file_bytes += fs::file_size(t->file, ec);
    }
    r.n_params += it.n_elems;
    r.n_bytes += it.n_bytes;
    auto& d = r.by_dtype[std::string(dtype_name(t->dtype))];
    d.n_tensors += 1;
    d.n_params += it.n_elems;
    d.n_bytes += it.n_bytes;
    r.tensors.push_back(std::move(it));
  }
  std::sort(r.tensors.begin(), r.tensors.end(),
            [](const InspectTensor& a, const InspectTensor& b) { return natural_less(a.name, b.name); });

  if (is_dir && fs::exists(p / "config.json", ec)) {
    try {
      r.config = load_hf_config(path);
    } catch (const Error& e) {
      r.config_error = e.what();
    }
  }
  return r;
}

std::string format_inspect(const InspectReport& r, bool all_tensors) {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };

  if (r.files.size() == 1)
    line(fmt::format("{}: {} ({})", r.path, r.files[0], format_bytes(r.file_bytes)));
  else
    line(fmt::format("{}: {} shards, {} ({} .. {})", r.path, r.files.size(), format_bytes(r.file_bytes),
                     r.files.front(), r.files.back()));

  if (r.metadata.empty()) {
    line("metadata: none");
  } else {
    line("metadata:");
    for (const auto& [k, v] : r.metadata) line(fmt::format("  {}: {}", k, v));
  }

  if (r.config) {
    const ModelConfig& c = *r.config;
    line(fmt::format("config: {}{}", c.architecture, c.model_type.empty() ? "" : " (" + c.model_type + ")"));
    line(fmt::format("  hidden {}, layers {}, heads {}, kv heads {}, head_dim {}, ffn {}, vocab {}", c.hidden_size,
                     c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.intermediate_size, c.vocab_size));
    line(fmt::format("  rope theta {:g}, scaling {}, max positions {}", c.rope_theta, rope_scaling_str(c.rope_scaling),
                     c.max_position_embeddings));
    std::vector<std::string> extras;
    if (c.qkv_bias) extras.push_back(c.o_bias ? "q/k/v/o bias" : "q/k/v bias");
    if (c.mlp_bias) extras.push_back("mlp bias");
    if (c.qk_norm) extras.push_back("q/k norm");
    if (c.sliding_window > 0) extras.push_back(fmt::format("sliding window {}", c.sliding_window));
    std::string eos;
    for (size_t i = 0; i < c.eos_token_ids.size(); ++i) eos += (i ? "," : "") + std::to_string(c.eos_token_ids[i]);
    line(fmt::format("  rms_norm_eps {:g}, tied embeddings {}, bos {}, eos {}{}{}{}", c.rms_norm_eps,
                     c.tie_word_embeddings ? "yes" : "no", c.bos_token_id >= 0 ? std::to_string(c.bos_token_id) : "-",
                     eos.empty() ? "-" : eos, c.torch_dtype.empty() ? "" : ", torch_dtype " + c.torch_dtype,
                     extras.empty() ? "" : ", ", fmt::format("{}", fmt::join(extras, ", "))));
  } else if (!r.config_error.empty()) {
    line("config: " + r.config_error);
  }

  // Which layer tensors to print: the first layer of each prefix, and any layer whose
  // signature differs from it; runs of identical layers become one summary line.
  struct Row {
    std::string name, dtype, shape, params, bytes;
  };
  std::vector<Row> rows;
  auto add_row = [&rows](const InspectTensor& t) {
    rows.push_back({t.name, t.type, shape_str(t.shape), with_commas(t.n_elems),
                    with_commas(static_cast<int64_t>(t.n_bytes))});
  };
  std::vector<std::pair<size_t, std::string>> notes;  // (row index to put it before, text)

  if (all_tensors) {
    for (const auto& t : r.tensors) add_row(t);
  } else {
    // prefix -> layer index -> signature lines
    std::map<std::string, std::map<int64_t, std::vector<std::string>>> sig;
    for (const auto& t : r.tensors)
      if (auto l = split_layer(t.name))
        sig[l->prefix][l->index].push_back(l->suffix + " " + t.type + " " + shape_str(t.shape));
    // Collapsed layers: prefix -> index -> (first, last) of its run, or absent when printed.
    std::map<std::string, std::map<int64_t, std::pair<int64_t, int64_t>>> collapsed;
    for (const auto& [prefix, layers] : sig) {
      const auto& first = layers.begin()->second;
      auto it = std::next(layers.begin());
      while (it != layers.end()) {
        if (it->second != first) {
          ++it;
          continue;
        }
        auto run_end = it;
        int64_t last = it->first;
        while (std::next(run_end) != layers.end() && std::next(run_end)->second == first &&
               std::next(run_end)->first == last + 1) {
          ++run_end;
          last = run_end->first;
        }
        for (auto k = it;; ++k) {
          collapsed[prefix][k->first] = {it->first, last};
          if (k == run_end) break;
        }
        it = std::next(run_end);
      }
    }
    std::set<std::pair<std::string, int64_t>> noted;
    for (const auto& t : r.tensors) {
      auto l = split_layer(t.name);
      if (l) {
        auto pit = collapsed.find(l->prefix);
        if (pit != collapsed.end()) {
          auto cit = pit->second.find(l->index);
          if (cit != pit->second.end()) {
            const auto [lo, hi] = cit->second;
            if (noted.insert({l->prefix, lo}).second) {
              const auto& layers = sig[l->prefix];
              const int64_t first_idx = layers.begin()->first;
              const size_t per = layers.begin()->second.size();
              notes.push_back({rows.size(), lo == hi ? fmt::format("{}{}: same as {}{} ({} tensors)", l->prefix, lo,
                                                                   l->prefix, first_idx, per)
                                                     : fmt::format("{}{{{}..{}}}: same as {}{} ({} tensors each)",
                                                                   l->prefix, lo, hi, l->prefix, first_idx, per)});
            }
            continue;
          }
        }
      }
      add_row(t);
    }
  }

  size_t wn = 4, wd = 5, ws = 5, wp = 6, wb = 5;
  for (const auto& row : rows) {
    wn = std::max(wn, row.name.size());
    wd = std::max(wd, row.dtype.size());
    ws = std::max(ws, row.shape.size());
    wp = std::max(wp, row.params.size());
    wb = std::max(wb, row.bytes.size());
  }
  line("");
  line(notes.empty() ? "tensors:" : "tensors (non-layer tensors and the first layer; --all prints every tensor):");
  line(fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}", "name", wn, "dtype", wd, "shape", ws, "params", wp,
                   "bytes", wb));
  size_t ni = 0;
  for (size_t i = 0; i <= rows.size(); ++i) {
    while (ni < notes.size() && notes[ni].first == i) line("  " + notes[ni++].second);
    if (i == rows.size()) break;
    const Row& row = rows[i];
    line(fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}", row.name, wn, row.dtype, wd, row.shape, ws,
                     row.params, wp, row.bytes, wb));
  }
  line("");
  line(fmt::format("totals: {} tensors, {} params ({}), {} bytes ({})", with_commas(static_cast<int64_t>(r.tensors.size())),
                   with_commas(r.n_params), params_str(r.n_params), with_commas(static_cast<int64_t>(r.n_bytes)),
                   format_bytes(r.n_bytes)));
  for (const auto& [dt, d] : r.by_dtype)
    line(fmt::format("  {}: {} tensor{}, {} params, {} bytes", dt, with_commas(d.n_tensors), d.n_tensors == 1 ? "" : "s",
                     with_commas(d.n_params),
                     with_commas(static_cast<int64_t>(d.n_bytes))));
  return out;
}

json inspect_to_json(const InspectReport& r) {
  json j;
  j["path"] = r.path;
  j["files"] = r.files;
  j["file_bytes"] = r.file_bytes;
  j["metadata"] = json::object();
  for (const auto& [k, v] : r.metadata) j["metadata"][k] = v;
  j["config"] = r.config ? config_summary_json(*r.config) : json(nullptr);
  j["config_error"] = r.config_error.empty() ? json(nullptr) : json(r.config_error);
  json totals;
  totals["tensors"] = r.tensors.size();
  totals["params"] = r.n_params;
  totals["bytes"] = r.n_bytes;
  totals["by_dtype"] = json::object();
  for (const auto& [dt, d] : r.by_dtype)
    totals["by_dtype"][dt] = {{"tensors", d.n_tensors}, {"params", d.n_params}, {"bytes", d.n_bytes}};
  j["totals"] = std::move(totals);
  json ts = json::array();
  for (const auto& t : r.tensors)
    ts.push_back({{"name", t.name},
                  {"dtype", t.type},
                  {"shape", t.shape},
                  {"params", t.n_elems},
                  {"bytes", t.n_bytes},
                  {"file", t.file}});
  j["tensors"] = std::move(ts);
  return j;
}

}  // namespace lowbit
