#include "model/tokenizer_json/json_util.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

json parse_json_limited(std::string_view text, const std::string& origin) {
  auto cb = [&](int depth, json::parse_event_t ev, json&) -> bool {
    if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) && depth >= kMaxJsonDepth)
      fail(origin, "JSON is nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    std::string_view w = e.what();
    if (!w.empty() && w.front() == '[') {
      auto p = w.find("] ");
      if (p != std::string_view::npos) w.remove_prefix(p + 2);
    }
    fail(origin, "invalid JSON: " + utf8_lossy(w.substr(0, 300)));
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail(path, "read error");
  return ss.str();
}

void JsonReader::fail_at(std::string_view where, const std::string& what) const {
  fail(origin_, std::string(where) + ": " + what);
}

const json* JsonReader::member(const json& obj, std::string_view where, const char* key) const {
  if (!obj.is_object()) fail_at(where, std::string("expected an object, got ") + obj.type_name());
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& JsonReader::require(const json& obj, std::string_view where, const char* key) const {
  const json* v = member(obj, where, key);
  if (!v) fail_at(where, std::string("missing \"") + key + "\"");
  return *v;
}

bool JsonReader::boolean(const json& obj, std::string_view where, const char* key, bool dflt) const {
  const json* v = member(obj, where, key);
  if (!v) return dflt;
  if (!v->is_boolean()) fail_at(where, std::string("\"") + key + "\" must be true or false");
  return v->get<bool>();
}

std::string JsonReader::string(const json& obj, std::string_view where, const char* key) const {
  const json& v = require(obj, where, key);
  if (!v.is_string()) fail_at(where, std::string("\"") + key + "\" must be a string");
  return v.get<std::string>();
}

std::optional<std::string> JsonReader::opt_string(const json& obj, std::string_view where, const char* key) const {
  const json* v = member(obj, where, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail_at(where, std::string("\"") + key + "\" must be a string");
  return v->get<std::string>();
}

uint64_t JsonReader::unsigned_int(const json& obj, std::string_view where, const char* key, uint64_t dflt) const {
  const json* v = member(obj, where, key);
  if (!v) return dflt;
  if (!v->is_number_unsigned()) fail_at(where, std::string("\"") + key + "\" must be a non-negative integer");
  return v->get<uint64_t>();
}

const json& JsonReader::array(const json& obj, std::string_view where, const char* key) const {
  const json& v = require(obj, where, key);
  if (!v.is_array()) fail_at(where, std::string("\"") + key + "\" must be an array");
  return v;
}

char32_t JsonReader::one_char(const json& obj, std::string_view where, const char* key) const {
  const std::string s = string(obj, where, key);
  size_t i = 0;
  if (s.empty() || !utf8_is_valid(s)) fail_at(where, std::string("\"") + key + "\" must be one character");
  const char32_t c = utf8_next(s, i);
  if (i != s.size()) fail_at(where, std::string("\"") + key + "\" must be one character");
  return c;
}

std::string JsonReader::type_of(const json& obj, std::string_view where) const {
  if (!obj.is_object()) fail_at(where, std::string("expected an object, got ") + obj.type_name());
  return string(obj, where, "type");
}

}  // namespace lowbit::tok
