#include "model/tokenizer_json/added_vocab.h"

#include <algorithm>

#include "core/error.h"
#include "model/tokenizer_json/pre_tokenizers.h"
#include "model/tokenizer_json/unicode.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

namespace {

// Rust regex \w, used by single_word (added_vocabulary.rs STARTS_WITH_WORD / ENDS_WITH_WORD).
bool is_word_char(std::string_view s, size_t pos) {
  static const Regex re(std::string("[") + kRustWordItems + "]", false, "added tokens");
  thread_local std::vector<std::pair<size_t, size_t>> m;
  m.clear();
  size_t i = pos;
  utf8_next(s, i);
  re.find_all(s.substr(pos, i - pos), m);
  return !m.empty();
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t lead = s.size() - 1;
  while (lead > 0 && (static_cast<unsigned char>(s[lead]) & 0xC0) == 0x80) --lead;
  return is_word_char(s, lead);
}

bool starts_with_word(std::string_view s) { return !s.empty() && is_word_char(s, 0); }

}  // namespace

void AddedVocab::Trie::insert(std::string_view s, int32_t id) {
  int32_t n = 0;
  for (char ch : s) {
    const auto b = static_cast<uint8_t>(ch);
    auto& next = nodes[n].next;
    auto it = std::find_if(next.begin(), next.end(), [b](const auto& e) { return e.first == b; });
    if (it != next.end()) {
      n = it->second;
    } else {
      const auto child = static_cast<int32_t>(nodes.size());
      nodes[n].next.emplace_back(b, child);
      nodes.emplace_back();
      n = child;
    }
  }
  nodes[n].value = id;
  first_byte[static_cast<uint8_t>(s[0])] = true;
}

std::pair<size_t, int32_t> AddedVocab::Trie::longest(std::string_view text, size_t pos) const {
  std::pair<size_t, int32_t> best{pos, -1};
  int32_t n = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto b = static_cast<uint8_t>(text[i]);
    const auto& next = nodes[n].next;
    auto it = std::find_if(next.begin(), next.end(), [b](const auto& e) { return e.first == b; });
    if (it == next.end()) break;
    n = it->second;
    if (nodes[n].value >= 0) best = {i + 1, nodes[n].value};
  }
  return best;
}

void AddedVocab::add_tokens(const std::vector<AddedToken>& tokens, const BpeModel& model,
                            const Normalizer* normalizer) {
  const auto vocab_len = static_cast<int64_t>(model.vocab_len());
  int64_t next_id = vocab_len;
  if (!by_id_.empty()) {
    int64_t max_id = -1;
    for (const auto& [id, t] : by_id_) max_id = std::max<int64_t>(max_id, id);
    next_id = (max_id >= vocab_len || vocab_len == 0) ? max_id + 1 : vocab_len;
  }
  for (const auto& t : tokens) {
    if (t.content.empty()) continue;
    if (auto it = by_content_.find(t.content); it != by_content_.end()) {
      auto jt = by_id_.find(it->second);
      if (jt != by_id_.end() && jt->second == t) continue;
    }
    int64_t id;
    if (auto it = by_content_.find(t.content); it != by_content_.end())
      id = it->second;
    else if (auto mid = model.token_to_id(t.content))
      id = *mid;
    else
      id = next_id++;
    if (id > kMaxTokenId) fail("", "added token id out of range");
    if (t.normalized && normalizer) {
      std::string n = t.content;
      normalizer->normalize(n);
      if (n != t.content) normalized_form_[static_cast<int32_t>(id)] = n;
    }
    by_content_[t.content] = static_cast<int32_t>(id);
    if (t.special) special_.insert(t.content);
    by_id_[static_cast<int32_t>(id)] = t;
  }
  rebuild();
}

void AddedVocab::rebuild() {
  raw_trie_ = Trie{};
  normalized_trie_ = Trie{};
  // Sorted by id so that two tokens with the same pattern resolve the same way every time.
  std::vector<int32_t> ids;
  for (const auto& [id, t] : by_id_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (int32_t id : ids) {
    const AddedToken& t = by_id_.at(id);
    if (t.normalized) {
      auto it = normalized_form_.find(id);
      const std::string& pattern = it != normalized_form_.end() ? it->second : t.content;
      if (!pattern.empty()) normalized_trie_.insert(pattern, id);
    } else {
      raw_trie_.insert(t.content, id);
    }
  }
}

void AddedVocab::find_matches(const Trie& trie, const Split& split, Splits& out) const {
  const std::string& s = split.text;
  size_t start_offset = 0;
  auto push_plain = [&](size_t b, size_t e) {
    if (b >= e) return;
    Split p;
    p.text.assign(s, b, e - b);
    p.at_origin = split.at_origin && b == 0;
    out.push_back(std::move(p));
  };
  size_t pos = 0;
  while (pos < s.size()) {
    if (!trie.first_byte[static_cast<uint8_t>(s[pos])]) {
      ++pos;
      continue;
    }
    auto [stop, id] = trie.longest(s, pos);
    if (id < 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    pos = stop;  // the automaton resumes after this match whether it is used or not
    const AddedToken& t = by_id_.at(id);
    if (t.single_word) {
      const bool start_space = start == 0 || !ends_with_word(std::string_view(s).substr(0, start));
      const bool stop_space = stop == s.size() || !starts_with_word(std::string_view(s).substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      // \s*$ on s[..start]: the leftmost start of the trailing whitespace run.
      size_t b = start;
      while (b > 0) {
        size_t lead = b - 1;
        while (lead > 0 && (static_cast<unsigned char>(s[lead]) & 0xC0) == 0x80) --lead;
        size_t k = lead;
        if (!is_whitespace(utf8_next(s, k))) break;
        b = lead;
      }
      start = std::max(b, start_offset);
    }
    if (t.rstrip) {
      size_t e = stop;
      while (e < s.size()) {
        size_t k = e;
        if (!is_whitespace(utf8_next(s, k))) break;
        e = k;
      }
      stop = e;  // (the automaton still resumes at the end of the match itself)
    }
    push_plain(start_offset, start);
    Split tok;
    tok.text.assign(s, start, stop - start);  // may overlap the previous one after an rstrip
    tok.added_id = id;
    out.push_back(std::move(tok));
    start_offset = stop;
  }
  push_plain(start_offset, s.size());
}

void AddedVocab::extract(Splits& splits, bool normalized_pass) const {
  const Trie& trie = normalized_pass ? normalized_trie_ : raw_trie_;
  if (trie.empty()) return;
  Splits out;
  out.reserve(splits.size());
  for (auto& s : splits) {
    if (s.added_id >= 0) {
      out.push_back(std::move(s));
      continue;
    }
    find_matches(trie, s, out);
  }
  splits = std::move(out);
}

std::optional<int32_t> AddedVocab::token_to_id(std::string_view s) const {
  auto it = by_content_.find(std::string(s));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocab::id_to_string(int32_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  if (auto n = normalized_form_.find(id); n != normalized_form_.end()) return &n->second;
  return &it->second.content;
}

const AddedToken* AddedVocab::token(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

}  // namespace lowbit::tok
