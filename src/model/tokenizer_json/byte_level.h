// GPT-2's byte-to-unicode table (pre_tokenizers/byte_level.rs bytes_char): every byte is
// shown as a printable char, so byte-level BPE vocabularies are valid UTF-8 strings.
// Bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68 bytes map to
// U+0100 + n in byte order ("Ġ" is the space, "Ċ" the newline).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lowbit::tok {

char32_t byte_to_char(uint8_t b);
// The byte a char stands for, or nullopt if it is not one of the 256.
std::optional<uint8_t> char_to_byte(char32_t c);
// Appends the byte-level form of every byte of `bytes` to `out`.
void bytes_to_byte_level(std::string_view bytes, std::string& out);

}  // namespace lowbit::tok
