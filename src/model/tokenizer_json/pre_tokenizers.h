// Pre-tokenizers of Hugging Face tokenizers (pre_tokenizers/*.rs): each cuts the plain
// splits into smaller ones (and ByteLevel / Metaspace also rewrite their text).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/tokenizer_json/regex.h"
#include "model/tokenizer_json/split.h"

namespace lowbit::tok {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(Splits& splits) const = 0;
};
using PreTokenizerPtr = std::unique_ptr<const PreTokenizer>;

// GPT-2's regex and byte-to-unicode mapping (pre_tokenizers/byte_level.rs).
class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void pre_tokenize(Splits& splits) const override;
  static const char* kGpt2Pattern;

 private:
  bool add_prefix_space_, use_regex_;
  std::optional<Regex> re_;
};

// Splits on a literal or a regex with one of the five behaviors (pre_tokenizers/split.rs).
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert)
      : re_(std::move(pattern)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(Splits& splits) const override;

 private:
  Regex re_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { First, Never, Always };

// Spaces -> the replacement char, optional prefix, split before each replacement char
// (pre_tokenizers/metaspace.rs).
class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split);
  void pre_tokenize(Splits& splits) const override;

 private:
  char32_t replacement_;
  std::string rep_utf8_;
  PrependScheme scheme_;
  bool split_;
};

// Kinds cut by a per-char predicate or a fixed regex.
class CharClassPreTokenizer final : public PreTokenizer {
 public:
  enum class Kind {
    Digits,           // char::is_numeric, Contiguous (Isolated with individual_digits)
    Punctuation,      // ASCII or Unicode punctuation, with a behavior
    WhitespaceSplit,  // char::is_whitespace, Removed
    Bert,             // whitespace Removed, then punctuation Isolated
    CharDelimiter,    // one given char, Removed
  };
  CharClassPreTokenizer(Kind kind, SplitBehavior behavior, char32_t delimiter = 0)
      : kind_(kind), behavior_(behavior), delimiter_(delimiter) {}
  void pre_tokenize(Splits& splits) const override;

 private:
  void cut(Splits& splits, int which, SplitBehavior behavior) const;
  Kind kind_;
  SplitBehavior behavior_;
  char32_t delimiter_;
};

// \w+|[^\w\s]+ with Rust regex's Unicode classes, inverted and removed
// (pre_tokenizers/whitespace.rs).
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  WhitespacePreTokenizer();
  void pre_tokenize(Splits& splits) const override;

 private:
  Regex re_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<PreTokenizerPtr> parts) : parts_(std::move(parts)) {}
  void pre_tokenize(Splits& splits) const override {
    for (const auto& p : parts_) p->pre_tokenize(splits);
  }

 private:
  std::vector<PreTokenizerPtr> parts_;
};

// Rust regex's \w (Unicode TR18 word chars) and \s as PCRE2 class items.
inline constexpr const char* kRustWordItems = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
inline constexpr const char* kRustSpaceItems = "\\p{White_Space}";

}  // namespace lowbit::tok
