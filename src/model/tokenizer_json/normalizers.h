// Normalizers of Hugging Face tokenizers (normalizers/*.rs). Each rewrites the text of a
// split in place; offsets are not tracked (lowbit needs ids and pieces only).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer_json/regex.h"
#include "model/tokenizer_json/unicode.h"

namespace lowbit::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;  // s: valid UTF-8
};
using NormalizerPtr = std::unique_ptr<const Normalizer>;

// NFC / NFD / NFKC / NFKD (normalizers/unicode.rs).
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormForm form) : form_(form) {}
  void normalize(std::string& s) const override { s = normalize_unicode(s, form_); }

 private:
  NormForm form_;
};

// char::to_lowercase on every char (normalizers/utils.rs).
class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override { s = lowercase(s); }
};

// Removes leading and/or trailing White_Space chars (normalizers/strip.rs).
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& s) const override;

 private:
  bool left_, right_;
};

// Removes combining marks (general category M*) (normalizers/strip.rs StripAccents).
class StripAccentsNormalizer final : public Normalizer {
 public:
  void normalize(std::string& s) const override;
};

// Prepends a string to non-empty text (normalizers/prepend.rs).
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& s) const override {
    if (!s.empty()) s.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// Replaces every match of a pattern (a literal string or a regex) (normalizers/replace.rs).
class ReplaceNormalizer final : public Normalizer {
 public:
  // literal: the pattern was {"String": literal}; a non-empty literal is searched with
  // std::string_view::find, which finds the same non-overlapping matches as the regex.
  ReplaceNormalizer(Regex pattern, std::string content, std::string literal = "")
      : re_(std::move(pattern)), content_(std::move(content)), literal_(std::move(literal)) {}
  void normalize(std::string& s) const override;

 private:
  Regex re_;
  std::string content_;
  std::string literal_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<NormalizerPtr> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& s) const override {
    for (const auto& p : parts_) p->normalize(s);
  }

 private:
  std::vector<NormalizerPtr> parts_;
};

// Replaces every match of `re` in `s` by `content` (NormalizedString::replace).
std::string replace_all(const Regex& re, std::string_view s, std::string_view content);

}  // namespace lowbit::tok
