// JSON reading for tokenizer.json / tokenizer_config.json: nlohmann::json with a nesting
// limit (a hostile file must not exhaust the stack), and typed field access that reports
// Error(origin, "<where>: <what was wrong>") instead of nlohmann's type_error.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace lowbit::tok {

using json = nlohmann::json;

// Real tokenizer.json files nest 6 levels deep; 64 leaves room for long Sequences.
inline constexpr int kMaxJsonDepth = 64;

json parse_json_limited(std::string_view text, const std::string& origin);
std::string read_text_file(const std::string& path);  // Error(path, ...) if unreadable

class JsonReader {
 public:
  explicit JsonReader(std::string origin) : origin_(std::move(origin)) {}
  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail_at(std::string_view where, const std::string& what) const;

  // The member `key` of object `obj`, or nullptr if it is absent or null.
  const json* member(const json& obj, std::string_view where, const char* key) const;
  const json& require(const json& obj, std::string_view where, const char* key) const;
  bool boolean(const json& obj, std::string_view where, const char* key, bool dflt) const;
  std::string string(const json& obj, std::string_view where, const char* key) const;
  std::optional<std::string> opt_string(const json& obj, std::string_view where, const char* key) const;
  uint64_t unsigned_int(const json& obj, std::string_view where, const char* key, uint64_t dflt) const;
  const json& array(const json& obj, std::string_view where, const char* key) const;
  // A string of exactly one char (Rust `char` fields).
  char32_t one_char(const json& obj, std::string_view where, const char* key) const;
  // "type" of a component object.
  std::string type_of(const json& obj, std::string_view where) const;

 private:
  std::string origin_;
};

}  // namespace lowbit::tok
