// The pre-tokenized string of Hugging Face tokenizers (tokenizer/pre_tokenizer.rs) without
// offset tracking: a list of splits, each either plain text still to be processed or an
// added token already decided. Also Pattern::find_matches and NormalizedString::split
// (tokenizer/pattern.rs, tokenizer/normalizer.rs), which every splitting component shares.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/tokenizer_json/regex.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

struct Split {
  std::string text;
  int32_t added_id = -1;   // >= 0: an added token; later stages leave it alone
  bool at_origin = false;  // begins at byte 0 of the original input (Metaspace "first")
};
using Splits = std::vector<Split>;

// A piece of a string and whether the pattern matched it.
struct Span {
  size_t start, end;
  bool is_match;
};

enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Pattern::find_matches for a regex: alternating unmatched / matched spans covering the
// text ("" gives one empty unmatched span). `invert` flips every flag (pattern::Invert).
void regex_spans(const Regex& re, std::string_view text, bool invert, std::vector<Span>& out);

// Pattern::find_matches for a character predicate: each matching char is its own span.
template <class Pred>
void char_spans(Pred pred, std::string_view text, bool invert, std::vector<Span>& out) {
  out.clear();
  if (text.empty()) {
    out.push_back({0, 0, invert});
    return;
  }
  size_t last = 0, i = 0;
  while (i < text.size()) {
    const size_t b = i;
    const char32_t c = utf8_next(text, i);
    if (pred(c)) {
      if (last < b) out.push_back({last, b, invert});
      out.push_back({b, i, !invert});
      last = i;
    }
  }
  if (last < text.size()) out.push_back({last, text.size(), invert});
}

// NormalizedString::split: the [start, end) ranges that remain as pieces, in order.
void apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior,
                    std::vector<std::pair<size_t, size_t>>& pieces);

// Replaces every plain split by the pieces of `text` given by `ranges`, dropping empty
// ones (PreTokenizedString::split); added-token splits pass through.
template <class F>
void for_each_plain(Splits& splits, F split_fn) {
  Splits out;
  out.reserve(splits.size());
  for (auto& s : splits) {
    if (s.added_id >= 0) {
      out.push_back(std::move(s));
      continue;
    }
    split_fn(std::move(s), out);
  }
  splits = std::move(out);
}

// Appends the pieces of `parent` cut at `ranges` (non-empty ones only) to `out`.
void push_pieces(const Split& parent, const std::vector<std::pair<size_t, size_t>>& ranges, Splits& out);

}  // namespace lowbit::tok
