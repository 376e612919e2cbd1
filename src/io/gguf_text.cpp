#include "io/gguf_text.h"

#include <fmt/format.h>

namespace lowbit {

std::string gguf_printable(std::string_view s, size_t max_len) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string gguf_quote(std::string_view s) {
  std::string out = "\"";
  out += gguf_printable(s);
  out += '"';
  return out;
}

std::string gguf_shape_str(const std::vector<int64_t>& ne) {
  return fmt::format("[{}]", fmt::join(ne, ", "));
}

}  // namespace lowbit
