#include "model/tokenizer_json/decoders.h"

#include "model/tokenizer_json/byte_level.h"
#include "model/tokenizer_json/normalizers.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string bytes;
  for (const auto& t : tokens) {
    // A token with any char outside the table is kept as its own UTF-8 (byte_level.rs).
    const size_t mark = bytes.size();
    bool all_mapped = true;
    size_t i = 0;
    while (i < t.size()) {
      auto b = char_to_byte(utf8_next(t, i));
      if (!b) {
        all_mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(*b));
    }
    if (!all_mapped) {
      bytes.resize(mark);
      bytes += t;
    }
  }
  tokens.assign(1, utf8_lossy(bytes));
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t k = 0; k < tokens.size(); ++k) {
    const std::string& t = tokens[k];
    std::string out;
    out.reserve(t.size());
    size_t i = 0;
    while (i < t.size()) {
      const size_t b = i;
      const char32_t c = utf8_next(t, i);
      if (c == replacement_) {
        if (!(k == 0 && scheme_ != PrependScheme::Never)) out += ' ';
      } else {
        out.append(t, b, i - b);
      }
    }
    tokens[k] = std::move(out);
  }
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string pending;
  auto flush = [&] {
    if (pending.empty()) return;
    if (utf8_is_valid(pending)) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending.size(); ++k) out.emplace_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  for (auto& t : tokens) {
    // u8::from_str_radix(&token[3..5], 16): two hex digits (a leading '+' also parses).
    int value = -1;
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
      const int hi = hex_value(t[3]), lo = hex_value(t[4]);
      if (lo >= 0 && hi >= 0) value = hi * 16 + lo;
      if (lo >= 0 && t[3] == '+') value = lo;
    }
    if (value >= 0) {
      pending.push_back(static_cast<char>(value));
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string all;
  for (const auto& t : tokens) all += t;
  tokens.assign(1, std::move(all));
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::u32string chars;
  for (auto& t : tokens) {
    chars.clear();
    size_t i = 0;
    while (i < t.size()) chars.push_back(utf8_next(t, i));
    size_t start_cut = 0;
    for (size_t k = 0; k < start_ && k < chars.size(); ++k) {
      if (chars[k] != content_) break;
      start_cut = k + 1;
    }
    // decoders/strip.rs indexes chars[len - i - 1] for i < stop without a bound check;
    // past the start it would panic, here the scan just stops.
    size_t stop_cut = chars.size();
    for (size_t k = 0; k < stop_ && k < chars.size(); ++k) {
      const size_t idx = chars.size() - k - 1;
      if (chars[idx] != content_) break;
      stop_cut = idx;
    }
    std::string out;  // (an overlap of the two cuts would panic in Rust; here it is empty)
    for (size_t k = start_cut; k < stop_cut; ++k) utf8_append(out, chars[k]);
    t = std::move(out);
  }
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (auto& t : tokens) t = replace_all(re_, t, content_);
}

void BpeSuffixDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t k = 0; k < tokens.size(); ++k) {
    const std::string repl = k + 1 == tokens.size() ? "" : " ";
    std::string& t = tokens[k];
    if (suffix_.empty()) continue;
    std::string out;
    size_t prev = 0, pos;
    while ((pos = t.find(suffix_, prev)) != std::string::npos) {
      out.append(t, prev, pos - prev);
      out += repl;
      prev = pos + suffix_.size();
    }
    out.append(t, prev, std::string::npos);
    t = std::move(out);
  }
}

}  // namespace lowbit::tok
