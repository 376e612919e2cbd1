#include "model/tokenizer_json/normalizers.h"

#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

void StripNormalizer::normalize(std::string& s) const {
  size_t begin = 0, end = s.size();
  if (left_) {
    while (begin < end) {
      size_t i = begin;
      if (!is_whitespace(utf8_next(s, i))) break;
      begin = i;
    }
  }
  if (right_) {
    while (end > begin) {
      size_t lead = end - 1;
      while (lead > begin && (static_cast<unsigned char>(s[lead]) & 0xC0) == 0x80) --lead;
      size_t i = lead;
      if (!is_whitespace(utf8_next(s, i))) break;
      end = lead;
    }
  }
  s = s.substr(begin, end - begin);
}

void StripAccentsNormalizer::normalize(std::string& s) const {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t b = i;
    const char32_t c = utf8_next(s, i);
    if (c < 0x80 || !is_combining_mark(c)) out.append(s, b, i - b);
  }
  s = std::move(out);
}

std::string replace_all(const Regex& re, std::string_view s, std::string_view content) {
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  matches.clear();
  re.find_all(s, matches);
  if (matches.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size() + matches.size() * content.size());
  size_t prev = 0;
  for (auto [b, e] : matches) {
    out.append(s.substr(prev, b - prev));
    out.append(content);
    prev = e;
  }
  out.append(s.substr(prev));
  return out;
}

void ReplaceNormalizer::normalize(std::string& s) const {
  if (literal_.empty()) {
    s = replace_all(re_, s, content_);
    return;
  }
  size_t pos = s.find(literal_);
  if (pos == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t prev = 0;
  for (; pos != std::string::npos; pos = s.find(literal_, prev)) {
    out.append(s, prev, pos - prev);
    out.append(content_);
    prev = pos + literal_.size();
  }
  out.append(s, prev, std::string::npos);
  s = std::move(out);
}

}  // namespace lowbit::tok
