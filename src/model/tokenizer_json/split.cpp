#include "model/tokenizer_json/split.h"

#include <algorithm>

namespace lowbit::tok {

void regex_spans(const Regex& re, std::string_view text, bool invert, std::vector<Span>& out) {
  out.clear();
  if (text.empty()) {
    out.push_back({0, 0, invert});
    return;
  }
  thread_local std::vector<std::pair<size_t, size_t>> matches;
  matches.clear();
  re.find_all(text, matches);
  size_t prev = 0;
  for (auto [s, e] : matches) {
    if (prev != s) out.push_back({prev, s, invert});
    out.push_back({s, e, !invert});
    prev = e;
  }
  if (prev != text.size()) out.push_back({prev, text.size(), invert});
}

void apply_behavior(const std::vector<Span>& spans, SplitBehavior behavior,
                    std::vector<std::pair<size_t, size_t>>& pieces) {
  pieces.clear();
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const auto& s : spans) pieces.emplace_back(s.start, s.end);
      return;
    case SplitBehavior::Removed:
      for (const auto& s : spans)
        if (!s.is_match) pieces.emplace_back(s.start, s.end);
      return;
    case SplitBehavior::Contiguous: {
      bool prev_match = false;
      for (const auto& s : spans) {
        if (s.is_match == prev_match && !pieces.empty())
          pieces.back().second = s.end;
        else
          pieces.emplace_back(s.start, s.end);
        prev_match = s.is_match;
      }
      return;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool prev_match = false;
      for (const auto& s : spans) {
        if (s.is_match && !prev_match && !pieces.empty())
          pieces.back().second = s.end;
        else
          pieces.emplace_back(s.start, s.end);
        prev_match = s.is_match;
      }
      return;
    }
    case SplitBehavior::MergedWithNext: {
      // Folded from the right, then reversed (normalizer.rs).
      bool prev_match = false;
      for (size_t k = spans.size(); k-- > 0;) {
        const auto& s = spans[k];
        if (s.is_match && !prev_match && !pieces.empty())
          pieces.back().first = s.start;
        else
          pieces.emplace_back(s.start, s.end);
        prev_match = s.is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      return;
    }
  }
}

void push_pieces(const Split& parent, const std::vector<std::pair<size_t, size_t>>& ranges, Splits& out) {
  for (auto [s, e] : ranges) {
    if (s >= e) continue;
    Split p;
    p.text.assign(parent.text, s, e - s);
    p.at_origin = parent.at_origin && s == 0;
    out.push_back(std::move(p));
  }
}

}  // namespace lowbit::tok
