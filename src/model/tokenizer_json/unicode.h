// Unicode character properties and normalization forms the Hugging Face tokenizers
// components rely on, backed by utf8proc (Debian libutf8proc-dev, Unicode 15). The Rust
// library uses std's char methods and the unicode-normalization-alignments crate; the
// predicates here follow the same definitions:
//   is_whitespace   Rust char::is_whitespace = the White_Space property
//   is_numeric      Rust char::is_numeric    = general category Nd, Nl or No
//   is_punctuation  ASCII punctuation or general category P* (pre_tokenizers/punctuation.rs)
//   lowercase       Rust char::to_lowercase (full mapping: U+0130 -> "i\u0307")
#pragma once
#include <string>
#include <string_view>

namespace lowbit::tok {

bool is_whitespace(char32_t c);
bool is_numeric(char32_t c);
bool is_punctuation(char32_t c);
bool is_combining_mark(char32_t c);  // general category M*

enum class NormForm { NFC, NFD, NFKC, NFKD };
// s must be valid UTF-8.
std::string normalize_unicode(std::string_view s, NormForm form);
std::string lowercase(std::string_view s);

}  // namespace lowbit::tok
