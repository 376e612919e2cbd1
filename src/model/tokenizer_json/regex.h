// Regular expressions for tokenizer.json patterns, through PCRE2 (UTF + UCP, JIT).
//
// Hugging Face tokenizers compiles Split/Replace patterns with Oniguruma (the Rust `onig`
// crate, Ruby syntax). PCRE2 reads the same syntax for everything tokenizers use, except
// that a few escapes mean something else; with onig_syntax the pattern is rewritten so
// PCRE2 gives Oniguruma's meaning (Oniguruma doc/RE, Unicode case):
//   \s  U+0009..U+000D, U+0085, Zs, Zl, Zp   (PCRE2 adds U+180E)
//   \w  Letter | Mark | Number | Connector_Punctuation   (PCRE2: L, N and '_')
//   \h  a hexadecimal digit                  (PCRE2: horizontal space)
// and the negated forms outside character classes.
//
// find_all() iterates like onig's FindMatches: leftmost matches, non-overlapping, and an
// empty match that starts where the previous match ended is skipped (the search moves
// one character on). Matching is bounded (match and depth limits): a pattern that
// backtracks catastrophically raises Error instead of hanging.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lowbit::tok {

class Regex {
 public:
  // Throws Error(origin, "invalid regex ...") for a pattern PCRE2 rejects.
  Regex(std::string_view pattern, bool onig_syntax, const std::string& origin);
  // A regex matching `literal` exactly (regex::escape + compile, as tokenizers does).
  static Regex literal(std::string_view literal, const std::string& origin);

  // Appends [start, end) byte ranges of the matches in `text` (valid UTF-8).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;  // as given
};

// Rewrites an Oniguruma pattern for PCRE2 (see top); exposed for tests.
std::string onig_to_pcre2(std::string_view pattern);

}  // namespace lowbit::tok
