// Typed, checked access to quantization_config fields: a wrong type is an Error naming the
// key (never a json exception or a silent default); a missing key gives the default.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lowbit {

// j must be an object; throws Error(where, "quantization_config is not an object") if not.
void require_object(const nlohmann::json& j, const std::string& where, const std::string& what);

// Missing or null -> nullopt. Ints accept integral numbers only; doubles any number.
std::optional<int64_t> json_int(const nlohmann::json& j, const std::string& key, const std::string& where);
std::optional<bool> json_bool(const nlohmann::json& j, const std::string& key, const std::string& where);
std::optional<double> json_number(const nlohmann::json& j, const std::string& key, const std::string& where);
std::optional<std::string> json_string(const nlohmann::json& j, const std::string& key, const std::string& where);
// A list of strings; a single string counts as a list of one.
std::vector<std::string> json_strings(const nlohmann::json& j, const std::string& key, const std::string& where);

}  // namespace lowbit
