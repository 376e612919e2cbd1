// compressed-tensors quantization_config: parsing, writing, presets and the module -> scheme
// match (compressed_tensors/utils/match.py, specs/compressed-tensors.md §1).
#include <regex>

#include "core/error.h"
#include "io/checkpoints/compressed_tensors.h"
#include "io/checkpoints/json_fields.h"
#include "io/checkpoints/ql_checks.h"

namespace lowbit {
namespace {

const char* strategy_name(CtStrategy s) {
  switch (s) {
    case CtStrategy::Tensor: return "tensor";
    case CtStrategy::Channel: return "channel";
    case CtStrategy::Group: return "group";
    case CtStrategy::Block: return "block";
    case CtStrategy::Token: return "token";
    case CtStrategy::TensorGroup: return "tensor_group";
    case CtStrategy::AttnHead: return "attn_head";
  }
  return "tensor";
}

CtStrategy parse_strategy(const std::string& s, const std::string& where) {
  for (CtStrategy v : {CtStrategy::Tensor, CtStrategy::Channel, CtStrategy::Group, CtStrategy::Block,
                       CtStrategy::Token, CtStrategy::TensorGroup, CtStrategy::AttnHead})
    if (s == strategy_name(v)) return v;
  fail(where, "compressed-tensors strategy \"" + s + "\" is unknown");
}

CtQuantArgs parse_args(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "compressed-tensors QuantizationArgs");
  CtQuantArgs a;
  a.num_bits = static_cast<int>(json_int(j, "num_bits", where).value_or(8));
  a.type = json_string(j, "type", where).value_or("int");
  if (a.type != "int" && a.type != "float") fail(where, "compressed-tensors type \"" + a.type + "\" is unknown");
  a.symmetric = json_bool(j, "symmetric", where).value_or(true);
  if (auto gs = json_int(j, "group_size", where)) a.group_size = static_cast<int>(*gs);
  // quant_args.py validate_model_after: a missing strategy follows group_size.
  if (auto s = json_string(j, "strategy", where)) {
    a.strategy = parse_strategy(*s, where);
  } else {
    a.strategy = !a.group_size ? CtStrategy::Tensor : *a.group_size > 0 ? CtStrategy::Group : CtStrategy::Channel;
  }
  if (auto it = j.find("dynamic"); it != j.end() && !it->is_null()) {
    if (it->is_boolean()) a.dynamic = it->get<bool>();
    else if (it->is_string()) a.dynamic = true;  // "local" (NVFP4 activations)
    else fail(where, "compressed-tensors \"dynamic\" is neither a boolean nor a string");
  }
  // actorder: true / "dynamic" are aliases of "group", "static" of "weight".
  if (auto it = j.find("actorder"); it != j.end() && !it->is_null()) {
    if (it->is_boolean()) {
      a.actorder = it->get<bool>() ? "group" : "";
    } else if (it->is_string()) {
      const std::string s = it->get<std::string>();
      a.actorder = s == "dynamic" ? "group" : s == "static" ? "weight" : s;
      if (a.actorder != "group" && a.actorder != "weight") fail(where, "compressed-tensors actorder \"" + s + "\"");
    } else {
      fail(where, "compressed-tensors \"actorder\" is neither a boolean nor a string");
    }
  }
  if (auto o = json_string(j, "observer", where)) a.observer = *o;
  return a;
}

nlohmann::json args_to_json(const CtQuantArgs& a) {
  nlohmann::json j;
  j["num_bits"] = a.num_bits;
  j["type"] = a.type;
  j["symmetric"] = a.symmetric;
  j["group_size"] = a.group_size ? nlohmann::json(*a.group_size) : nlohmann::json(nullptr);
  j["strategy"] = strategy_name(a.strategy);
  j["block_structure"] = nullptr;
  j["dynamic"] = a.dynamic;
  j["actorder"] = a.actorder.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.actorder);
  j["observer"] = a.observer;
  j["observer_kwargs"] = nlohmann::json::object();
  return j;
}

std::optional<CtQuantArgs> optional_args(const nlohmann::json& scheme, const char* key, const std::string& where) {
  auto it = scheme.find(key);
  if (it == scheme.end() || it->is_null()) return std::nullopt;
  return parse_args(*it, where);
}

// match.py _match_name: exact, or "re:" + re.match (anchored at the start only).
bool name_matches(const std::string& name, const std::string& target, const std::string& where) {
  if (target.rfind("re:", 0) != 0) return target == name;
  try {
    const std::regex re(target.substr(3), std::regex::ECMAScript);
    return std::regex_search(name, re, std::regex_constants::match_continuous);
  } catch (const std::regex_error&) {
    fail(where, "compressed-tensors target \"" + target + "\" is not a regex this reader understands");
  }
}

}  // namespace

CtScheme ct_scheme_w4a16(int group_size, bool symmetric) {
  CtScheme s;
  s.targets = {"Linear"};
  CtQuantArgs a;
  a.num_bits = 4;
  a.symmetric = symmetric;
  if (group_size > 0) {
    a.strategy = CtStrategy::Group;
    a.group_size = group_size;
  } else {
    a.strategy = CtStrategy::Channel;
  }
  s.weights = a;
  return s;
}

CtScheme ct_scheme_w8a16(bool symmetric) {
  CtScheme s = ct_scheme_w4a16(0, symmetric);
  s.weights->num_bits = 8;
  return s;
}

CtQuantArgs ct_weight_args_for(const QuantizedLinear& q) {
  CtQuantArgs a;
  a.num_bits = q.bits;
  a.symmetric = q.sym;
  if (q.n_groups() > 1) {
    a.strategy = CtStrategy::Group;
    a.group_size = q.group_size;
  } else {
    a.strategy = CtStrategy::Channel;
  }
  if (!g_idx_is_trivial(q.g_idx, q.group_size)) a.actorder = "group";
  return a;
}

CtConfig ct_config_from_json(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "quantization_config");
  if (auto m = json_string(j, "quant_method", where); m && *m != "compressed-tensors")
    fail(where, "quantization_config quant_method is \"" + *m + "\", not \"compressed-tensors\"");
  CtConfig c;
  c.format = json_string(j, "format", where).value_or("dense");
  c.quantization_status = json_string(j, "quantization_status", where).value_or("compressed");
  c.version = json_string(j, "version", where).value_or("");
  c.ignore = json_strings(j, "ignore", where);
  if (auto it = j.find("kv_cache_scheme"); it != j.end()) c.kv_cache_scheme = *it;
  if (auto it = j.find("sparsity_config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) fail(where, "compressed-tensors sparsity_config is not an object");
    c.sparsity_config = *it;
  }
  auto groups = j.find("config_groups");
  if (groups != j.end() && !groups->is_null()) {
    require_object(*groups, where, "compressed-tensors config_groups");
    for (const auto& [name, sj] : groups->items()) {
      require_object(sj, where, "config_groups[\"" + name + "\"]");
      CtScheme s;
      s.targets = json_strings(sj, "targets", where);
      s.weights = optional_args(sj, "weights", where);
      s.input_activations = optional_args(sj, "input_activations", where);
      s.output_activations = optional_args(sj, "output_activations", where);
      s.format = json_string(sj, "format", where).value_or("");
      c.config_groups.emplace_back(name, std::move(s));
    }
  }
  return c;
}

nlohmann::json ct_config_to_json(const CtConfig& c) {
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [name, s] : c.config_groups) {
    nlohmann::json g;
    g["targets"] = s.targets;
    g["weights"] = s.weights ? args_to_json(*s.weights) : nlohmann::json(nullptr);
    g["input_activations"] = s.input_activations ? args_to_json(*s.input_activations) : nlohmann::json(nullptr);
    g["output_activations"] = s.output_activations ? args_to_json(*s.output_activations) : nlohmann::json(nullptr);
    if (!s.format.empty()) g["format"] = s.format;
    groups[name] = g;
  }
  nlohmann::json j;
  j["quant_method"] = "compressed-tensors";
  j["version"] = c.version;
  j["format"] = c.format;
  j["quantization_status"] = c.quantization_status;
  j["global_compression_ratio"] = nullptr;
  j["config_groups"] = groups;
  j["ignore"] = c.ignore;
  j["kv_cache_scheme"] = c.kv_cache_scheme;
  j["sparsity_config"] = c.sparsity_config;
  j["transform_config"] = nlohmann::json::object();
  return j;
}

const CtScheme* ct_scheme_for(const CtConfig& config, const std::string& module_name, const std::string& class_name) {
  const std::string where = "quantization_config";
  for (const auto& ign : config.ignore)
    if (name_matches(module_name, ign, where) || ign == class_name) return nullptr;
  // match_targets order: exact names, then regexes, then class names.
  for (int pass = 0; pass < 3; ++pass)
    for (const auto& [name, s] : config.config_groups)
      for (const auto& t : s.targets) {
        const bool is_re = t.rfind("re:", 0) == 0;
        if ((pass == 0 && !is_re && t == module_name) || (pass == 1 && is_re && name_matches(module_name, t, where)) ||
            (pass == 2 && !is_re && t == class_name))
          return &s;
      }
  return nullptr;
}

std::string ct_format_for(const CtConfig& config, const CtScheme& scheme) {
  return scheme.format.empty() ? config.format : scheme.format;
}

}  // namespace lowbit
