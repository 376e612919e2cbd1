// The BPE model of Hugging Face tokenizers (models/bpe/model.rs, word.rs): a word becomes
// its chars (with continuing_subword_prefix / end_of_word_suffix, byte fallback to
// "<0xXX>" tokens, unk handling), then merges are applied lowest rank first, leftmost
// first among equal ranks, exactly as Word::merge_all's priority queue does.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lowbit::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Token ids are bounded so that id -> token tables stay small; real vocabularies are far
// below this (the largest public ones have ~1M entries).
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel {
 public:
  // vocab: token -> id (ids <= kMaxTokenId); merges in rank order. Throws
  // Error(origin, ...) for a merge naming a token outside the vocabulary, or whose merged
  // token is not in it (BpeBuilder::build's MergeTokenOutOfVocabulary).
  BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions opts,
           const std::string& origin);

  // Appends the ids of one pre-tokenized word. Throws Error if the unk token is needed
  // but not in the vocabulary (as tokenizers does at encode time).
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const;

  void clear_cache() const;  // only speed depends on the cache (benchmarks start cold)

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(int32_t id) const;
  size_t vocab_len() const { return vocab_.size(); }
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }
  const TokenMap& vocab() const { return vocab_; }
  const BpeOptions& options() const { return opts_; }
  // Merges in rank order as (left id, right id).
  std::vector<std::pair<int32_t, int32_t>> merges_by_rank() const;

 private:
  struct MergeEntry {
    uint64_t key;  // left id << 32 | right id; kEmpty marks a free slot
    uint32_t rank;
    int32_t new_id;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  const MergeEntry* find_merge(int32_t a, int32_t b) const;
  void insert_merge(int32_t a, int32_t b, uint32_t rank, int32_t new_id);
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;
  void tokenize_cached(std::string_view word, std::vector<int32_t>& ids) const;
  void find_safe_split_char();

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_token_;
  std::vector<MergeEntry> merges_;  // open addressing, power-of-two size
  size_t n_merges_ = 0;
  BpeOptions opts_;
  std::optional<int32_t> unk_id_;
  std::vector<int32_t> byte_ids_;  // "<0xXX>" ids when byte_fallback, else empty; -1 absent
  // The id of each BMP char as a token of its own (-1: not in the vocabulary), so a word's
  // chars need no string hashing where no prefix/suffix is added to them.
  std::vector<int32_t> bmp_char_ids_;
  // A char c (U+2581 or ' ') such that no vocabulary token has c after a char other than
  // c, and c alone is a token: then no merge can join a symbol ending in another char to
  // one starting with c, so a long word cut before each such c encodes piece by piece
  // exactly as whole (sentencepiece-style vocabularies without a pre-tokenizer encode a
  // whole document as one word; this keeps that linear). Empty when no char qualifies.
  std::string safe_split_;

  // Words already merged (models/bpe/model.rs keeps the same kind of cache). Only speed
  // depends on it.
  static constexpr size_t kCacheMaxEntries = 100000;
  static constexpr size_t kCacheMaxWordBytes = 256;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace lowbit::tok
