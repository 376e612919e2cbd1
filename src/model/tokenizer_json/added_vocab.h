// Added tokens (tokenizer/added_vocabulary.rs): strings matched in the text before the
// model runs, first those with normalized=false on the raw text, then those with
// normalized=true on the normalized text. Matching is leftmost-longest and
// non-overlapping (the Aho-Corasick automaton of tokenizers, MatchKind::LeftmostLongest);
// a match refused by single_word is skipped, not retried at a shorter length.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model/tokenizer_json/bpe_model.h"
#include "model/tokenizer_json/normalizers.h"
#include "model/tokenizer_json/split.h"

namespace lowbit::tok {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  bool operator==(const AddedToken&) const = default;
};

class AddedVocab {
 public:
  // AddedVocabulary::add_tokens on the tokens of tokenizer.json in file order: the ids in
  // the file are not used; a token takes the id it already has (added or in the model's
  // vocabulary), else the next free id after the model's vocabulary.
  void add_tokens(const std::vector<AddedToken>& tokens, const BpeModel& model, const Normalizer* normalizer);

  // Splits every plain split at the matches of the normalized=false (pass 1) or
  // normalized=true (pass 2) tokens.
  void extract(Splits& splits, bool normalized_pass) const;

  std::optional<int32_t> token_to_id(std::string_view s) const;
  // The string decode uses for an added id (its normalized form if it has one).
  const std::string* id_to_string(int32_t id) const;
  const AddedToken* token(int32_t id) const;
  bool is_special(std::string_view s) const { return special_.count(std::string(s)) > 0; }
  const std::unordered_map<int32_t, AddedToken>& by_id() const { return by_id_; }
  bool empty() const { return by_id_.empty(); }

 private:
  struct Trie {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> next;  // byte -> node
      int32_t value = -1;                             // token id ending here
    };
    std::vector<Node> nodes{Node{}};
    bool first_byte[256] = {};
    void insert(std::string_view s, int32_t id);
    bool empty() const { return nodes.size() == 1; }
    // Longest match starting at text[pos]: (end, id), or end == pos if none.
    std::pair<size_t, int32_t> longest(std::string_view text, size_t pos) const;
  };
  void rebuild();
  void find_matches(const Trie& trie, const Split& s, Splits& out) const;

  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_map<int32_t, AddedToken> by_id_;
  std::unordered_map<int32_t, std::string> normalized_form_;
  std::unordered_set<std::string> special_;
  Trie raw_trie_, normalized_trie_;
};

}  // namespace lowbit::tok
