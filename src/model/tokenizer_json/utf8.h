// UTF-8 helpers for the tokenizer pipeline. Hugging Face tokenizers works on Rust `String`s,
// which are always valid UTF-8; lowbit takes arbitrary bytes, so input is first made valid
// the way Rust's String::from_utf8_lossy does (each maximal invalid subpart -> U+FFFD,
// WHATWG/Unicode §3.9 "substitution of maximal subparts"). Every later stage may then
// assume valid UTF-8.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lowbit::tok {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Length in bytes of the valid UTF-8 sequence at s[i], or 0 if s[i..] does not start one.
size_t utf8_valid_len(std::string_view s, size_t i);
// Whether the whole string is valid UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool utf8_is_valid(std::string_view s);
// s with every maximal invalid subpart replaced by U+FFFD (Rust from_utf8_lossy).
std::string utf8_lossy(std::string_view s);

// Decodes the code point at s[i] of a *valid* UTF-8 string; advances i.
inline char32_t utf8_next(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if (b0 < 0xE0) {
    char32_t c = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
    i += 2;
    return c;
  }
  if (b0 < 0xF0) {
    char32_t c = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                 (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
    i += 3;
    return c;
  }
  char32_t c = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
               ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
               (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
  i += 4;
  return c;
}

// Byte length of the (valid) sequence whose lead byte is b.
inline size_t utf8_lead_len(unsigned char b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }

void utf8_append(std::string& out, char32_t c);
inline std::string utf8_encode(char32_t c) {
  std::string s;
  utf8_append(s, c);
  return s;
}
size_t utf8_n_chars(std::string_view s);

}  // namespace lowbit::tok
