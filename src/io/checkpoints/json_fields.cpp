#include "io/checkpoints/json_fields.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace lowbit {
namespace {
const nlohmann::json* field(const nlohmann::json& j, const std::string& key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

void require_object(const nlohmann::json& j, const std::string& where, const std::string& what) {
  if (!j.is_object()) fail(where, what + " is not a JSON object");
}

std::optional<int64_t> json_int(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const nlohmann::json* v = field(j, key);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  fail(where, "quantization_config \"" + key + "\" is not an integer");
}

std::optional<bool> json_bool(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const nlohmann::json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail(where, "quantization_config \"" + key + "\" is not a boolean");
  return v->get<bool>();
}

std::optional<double> json_number(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const nlohmann::json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(where, "quantization_config \"" + key + "\" is not a number");
  return v->get<double>();
}

std::optional<std::string> json_string(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const nlohmann::json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail(where, "quantization_config \"" + key + "\" is not a string");
  return v->get<std::string>();
}

std::vector<std::string> json_strings(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const nlohmann::json* v = field(j, key);
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) fail(where, "quantization_config \"" + key + "\" is not a list of strings");
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) fail(where, "quantization_config \"" + key + "\" is not a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace lowbit
