#include "model/tokenizer_json/pre_tokenizers.h"

#include "model/tokenizer_json/byte_level.h"
#include "model/tokenizer_json/unicode.h"

namespace lowbit::tok {

namespace {

struct Scratch {
  std::vector<Span> spans;
  std::vector<std::pair<size_t, size_t>> pieces;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

void cut_with_regex(Splits& splits, const Regex& re, bool invert, SplitBehavior behavior) {
  Scratch& sc = scratch();
  for_each_plain(splits, [&](Split&& s, Splits& out) {
    regex_spans(re, s.text, invert, sc.spans);
    apply_behavior(sc.spans, behavior, sc.pieces);
    if (sc.pieces.size() == 1 && sc.pieces[0].first == 0 && sc.pieces[0].second == s.text.size()) {
      if (!s.text.empty()) out.push_back(std::move(s));
      return;
    }
    push_pieces(s, sc.pieces, out);
  });
}

template <class Pred>
void cut_with_pred(Splits& splits, Pred pred, SplitBehavior behavior) {
  Scratch& sc = scratch();
  for_each_plain(splits, [&](Split&& s, Splits& out) {
    char_spans(pred, s.text, false, sc.spans);
    apply_behavior(sc.spans, behavior, sc.pieces);
    push_pieces(s, sc.pieces, out);
  });
}

}  // namespace

const char* ByteLevelPreTokenizer::kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
  if (use_regex_) re_.emplace(kGpt2Pattern, true, "ByteLevel");
}

void ByteLevelPreTokenizer::pre_tokenize(Splits& splits) const {
  if (add_prefix_space_ || use_regex_) {
    for_each_plain(splits, [&](Split&& s, Splits& out) {
      if (add_prefix_space_ && (s.text.empty() || s.text[0] != ' ')) s.text.insert(0, 1, ' ');
      if (!use_regex_) {
        if (!s.text.empty()) out.push_back(std::move(s));
        return;
      }
      Scratch& sc = scratch();
      regex_spans(*re_, s.text, false, sc.spans);
      apply_behavior(sc.spans, SplitBehavior::Isolated, sc.pieces);
      push_pieces(s, sc.pieces, out);
    });
  }
  std::string mapped;
  for (auto& s : splits) {
    if (s.added_id >= 0) continue;
    mapped.clear();
    bytes_to_byte_level(s.text, mapped);
    s.text.swap(mapped);
  }
}

void SplitPreTokenizer::pre_tokenize(Splits& splits) const { cut_with_regex(splits, re_, invert_, behavior_); }

MetaspacePreTokenizer::MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
    : replacement_(replacement), rep_utf8_(utf8_encode(replacement)), scheme_(scheme), split_(split) {}

void MetaspacePreTokenizer::pre_tokenize(Splits& splits) const {
  Scratch& sc = scratch();
  for_each_plain(splits, [&](Split&& s, Splits& out) {
    std::string t;
    t.reserve(s.text.size() + 8);
    for (char ch : s.text) {
      if (ch == ' ')
        t += rep_utf8_;
      else
        t += ch;
    }
    const bool starts_with_rep = t.compare(0, rep_utf8_.size(), rep_utf8_) == 0;
    if (!starts_with_rep && !t.empty() &&
        (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && s.at_origin)))
      t.insert(0, rep_utf8_);
    s.text = std::move(t);
    if (!split_) {
      if (!s.text.empty()) out.push_back(std::move(s));
      return;
    }
    const char32_t rep = replacement_;
    char_spans([rep](char32_t c) { return c == rep; }, s.text, false, sc.spans);
    apply_behavior(sc.spans, SplitBehavior::MergedWithNext, sc.pieces);
    push_pieces(s, sc.pieces, out);
  });
}

void CharClassPreTokenizer::cut(Splits& splits, int which, SplitBehavior behavior) const {
  switch (which) {
    case 0: cut_with_pred(splits, is_numeric, behavior); break;
    case 1: cut_with_pred(splits, is_punctuation, behavior); break;
    case 2: cut_with_pred(splits, is_whitespace, behavior); break;
    default: {
      const char32_t d = delimiter_;
      cut_with_pred(splits, [d](char32_t c) { return c == d; }, behavior);
    }
  }
}

void CharClassPreTokenizer::pre_tokenize(Splits& splits) const {
  switch (kind_) {
    case Kind::Digits: cut(splits, 0, behavior_); break;
    case Kind::Punctuation: cut(splits, 1, behavior_); break;
    case Kind::WhitespaceSplit: cut(splits, 2, SplitBehavior::Removed); break;
    case Kind::Bert:
      cut(splits, 2, SplitBehavior::Removed);
      cut(splits, 1, SplitBehavior::Isolated);
      break;
    case Kind::CharDelimiter: cut(splits, 3, SplitBehavior::Removed); break;
  }
}

WhitespacePreTokenizer::WhitespacePreTokenizer()
    : re_(std::string("[") + kRustWordItems + "]+|[^" + kRustWordItems + kRustSpaceItems + "]+", false,
          "Whitespace") {}

void WhitespacePreTokenizer::pre_tokenize(Splits& splits) const {
  cut_with_regex(splits, re_, true, SplitBehavior::Removed);
}

}  // namespace lowbit::tok
