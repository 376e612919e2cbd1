#include "model/tokenizer_json/byte_level.h"

#include <array>

#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

namespace {

struct Tables {
  std::array<char32_t, 256> to_char{};
  std::array<std::string, 256> to_utf8;
  std::array<int16_t, 512> to_byte{};  // chars are < U+0200; -1 where none
  Tables() {
    to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool self = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = self ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      to_utf8[b] = utf8_encode(to_char[b]);
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }

std::optional<uint8_t> char_to_byte(char32_t c) {
  if (c >= 512) return std::nullopt;
  const int16_t b = tables().to_byte[c];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

void bytes_to_byte_level(std::string_view bytes, std::string& out) {
  const Tables& t = tables();
  out.reserve(out.size() + bytes.size() * 2);
  for (char ch : bytes) out += t.to_utf8[static_cast<uint8_t>(ch)];
}

}  // namespace lowbit::tok
