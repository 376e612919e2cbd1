// Message helpers for the GGUF reader and writer: names and keys from a file may hold any
// bytes, so they are escaped and cut before going into a one-line Error.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

// Control bytes, quotes and backslashes escaped as \xNN, cut to max_len bytes with "...".
std::string gguf_printable(std::string_view s, size_t max_len = 160);
// gguf_printable(s) in double quotes.
std::string gguf_quote(std::string_view s);
// "[4096, 32000]"
std::string gguf_shape_str(const std::vector<int64_t>& ne);

}  // namespace lowbit
