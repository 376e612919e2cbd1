#include "model/tokenizer_json/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/error.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

namespace {

std::string shown(std::string_view s) {
  std::string out(1, '"');
  out += utf8_lossy(s.substr(0, 80));
  out += '"';
  return out;
}

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
inline size_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return static_cast<size_t>(k);
}

}  // namespace

BpeModel::BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions opts, const std::string& origin)
    : vocab_(std::move(vocab)), opts_(std::move(opts)) {
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab_) {
    if (id < 0 || id > kMaxTokenId) fail(origin, "token id " + std::to_string(id) + " of " + shown(tok) + " is out of range");
    max_id = std::max<int64_t>(max_id, id);
  }
  id_to_token_.resize(static_cast<size_t>(max_id + 1));
  has_token_.assign(static_cast<size_t>(max_id + 1), 0);
  // Two tokens with one id: HashMap iteration order picks one in tokenizers; here the
  // lexicographically smallest, so the choice is at least deterministic.
  for (const auto& [tok, id] : vocab_) {
    if (!has_token_[id] || tok < id_to_token_[id]) id_to_token_[id] = tok;
    has_token_[id] = 1;
  }

  size_t cap = 16;
  while (cap < merges.size() * 2 + 16) cap <<= 1;
  merges_.assign(cap, MergeEntry{kEmpty, 0, 0});
  const size_t prefix_len = opts_.continuing_subword_prefix ? opts_.continuing_subword_prefix->size() : 0;
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    auto ia = vocab_.find(a);
    if (ia == vocab_.end()) fail(origin, "merge " + std::to_string(rank) + " names " + shown(a) + ", which is not in the vocabulary");
    auto ib = vocab_.find(b);
    if (ib == vocab_.end()) fail(origin, "merge " + std::to_string(rank) + " names " + shown(b) + ", which is not in the vocabulary");
    if (b.size() < prefix_len)
      fail(origin, "merge " + std::to_string(rank) + ": " + shown(b) + " is shorter than continuing_subword_prefix");
    merged.assign(a);
    merged.append(b, prefix_len, std::string::npos);
    auto im = vocab_.find(merged);
    if (im == vocab_.end())
      fail(origin, "merge " + std::to_string(rank) + " makes " + shown(merged) + ", which is not in the vocabulary");
    // A repeated pair keeps its last rank (the merge map is collected from an iterator).
    insert_merge(ia->second, ib->second, static_cast<uint32_t>(rank), im->second);
  }

  if (opts_.unk_token) {
    if (auto it = vocab_.find(*opts_.unk_token); it != vocab_.end()) unk_id_ = it->second;
  }
  find_safe_split_char();
  bmp_char_ids_.assign(0x10000, -1);
  for (const auto& [tok, id] : vocab_) {
    if (tok.empty() || utf8_lead_len(static_cast<unsigned char>(tok[0])) != tok.size() || tok.size() > 3) continue;
    size_t k = 0;
    bmp_char_ids_[utf8_next(tok, k)] = id;
  }
  if (opts_.byte_fallback) {
    byte_ids_.assign(256, -1);
    char name[8];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      if (auto it = vocab_.find(std::string_view(name)); it != vocab_.end()) byte_ids_[b] = it->second;
    }
  }
}

void BpeModel::find_safe_split_char() {
  if (opts_.continuing_subword_prefix || opts_.end_of_word_suffix) return;
  for (std::string_view c : {std::string_view("\xE2\x96\x81"), std::string_view(" ")}) {
    if (!vocab_.count(c)) continue;
    bool safe = true;
    for (const auto& [tok, id] : vocab_) {
      size_t lead = 0;
      while (tok.compare(lead, c.size(), c) == 0) lead += c.size();
      if (tok.find(c, lead) != std::string::npos) {
        safe = false;
        break;
      }
    }
    if (safe) {
      safe_split_ = std::string(c);
      return;
    }
  }
}

void BpeModel::insert_merge(int32_t a, int32_t b, uint32_t rank, int32_t new_id) {
  const uint64_t key = pair_key(a, b);
  const size_t mask = merges_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (merges_[i].key == kEmpty) {
      merges_[i] = MergeEntry{key, rank, new_id};
      ++n_merges_;
      return;
    }
    if (merges_[i].key == key) {
      merges_[i].rank = rank;
      merges_[i].new_id = new_id;
      return;
    }
  }
}

const BpeModel::MergeEntry* BpeModel::find_merge(int32_t a, int32_t b) const {
  const uint64_t key = pair_key(a, b);
  const size_t mask = merges_.size() - 1;
  for (size_t i = mix(key) & mask;; i = (i + 1) & mask) {
    if (merges_[i].key == key) return &merges_[i];
    if (merges_[i].key == kEmpty) return nullptr;
  }
}

std::vector<std::pair<int32_t, int32_t>> BpeModel::merges_by_rank() const {
  std::vector<std::pair<uint32_t, uint64_t>> v;
  v.reserve(n_merges_);
  for (const auto& e : merges_)
    if (e.key != kEmpty) v.emplace_back(e.rank, e.key);
  std::sort(v.begin(), v.end());
  std::vector<std::pair<int32_t, int32_t>> out;
  out.reserve(v.size());
  for (auto [r, k] : v) out.emplace_back(static_cast<int32_t>(k >> 32), static_cast<int32_t>(k & 0xFFFFFFFFu));
  return out;
}

void BpeModel::clear_cache() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.clear();
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_token_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (opts_.ignore_merges) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  if (word.size() >= kCacheMaxWordBytes && !safe_split_.empty()) {
    // Cut before every safe char that follows another char (see safe_split_).
    const std::string_view c = safe_split_;
    size_t begin = 0;
    for (size_t pos = word.find(c, 1); pos != std::string_view::npos; pos = word.find(c, pos + c.size())) {
      const bool after_c = pos >= c.size() && word.compare(pos - c.size(), c.size(), c) == 0;
      if (after_c) continue;
      tokenize_cached(word.substr(begin, pos - begin), ids);
      begin = pos;
    }
    tokenize_cached(word.substr(begin), ids);
    return;
  }
  tokenize_cached(word, ids);
}

void BpeModel::tokenize_cached(std::string_view word, std::vector<int32_t>& ids) const {
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (auto it = cache_.find(word); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids.size();
  merge_word(word, ids);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() < kCacheMaxEntries) cache_.emplace(std::string(word), std::vector<int32_t>(ids.begin() + first, ids.end()));
  }
}

void BpeModel::merge_word(std::string_view w, std::vector<int32_t>& ids) const {
  struct Symbol {
    int32_t c;
    int32_t prev, next;
    size_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
  };
  std::vector<Symbol> sym;
  sym.reserve(w.size());
  auto add = [&](int32_t c, size_t len) {
    const int32_t n = static_cast<int32_t>(sym.size());
    if (n > 0) sym.back().next = n;
    sym.push_back(Symbol{c, n - 1, -1, len});
  };

  bool unk = false;  // an unk token is pending, covering unk_len bytes
  size_t unk_len = 0;
  std::string s;
  size_t i = 0;
  while (i < w.size()) {
    const size_t b = i;
    i += utf8_lead_len(static_cast<unsigned char>(w[i]));
    const size_t byte_len = i - b;
    const bool is_first = b == 0, is_last = i >= w.size();
    const bool plain = (is_first || !opts_.continuing_subword_prefix) && (!is_last || !opts_.end_of_word_suffix);
    int32_t id = -1;
    if (plain && byte_len <= 3) {
      size_t k = b;
      id = bmp_char_ids_[utf8_next(w, k)];
    } else {
      s.clear();
      if (!is_first && opts_.continuing_subword_prefix) s += *opts_.continuing_subword_prefix;
      s.append(w.substr(b, byte_len));
      if (is_last && opts_.end_of_word_suffix) s += *opts_.end_of_word_suffix;
      if (auto it = vocab_.find(s); it != vocab_.end()) id = it->second;
    }
    if (id >= 0) {
      if (unk) {
        add(*unk_id_, unk_len);
        unk = false;
      }
      add(id, byte_len);
      continue;
    }
    if (plain && byte_len <= 3) s.assign(w.substr(b, byte_len));  // the fallbacks below need it
    if (opts_.byte_fallback) {
      bool all = true;
      for (char ch : s) all = all && byte_ids_[static_cast<uint8_t>(ch)] >= 0;
      if (all) {
        // (a pending unk is kept pending across byte tokens, as in model.rs)
        for (char ch : s) add(byte_ids_[static_cast<uint8_t>(ch)], 1);
        continue;
      }
    }
    if (opts_.unk_token) {
      if (!unk_id_) fail("", "tokenizer: unk_token \"" + utf8_lossy(*opts_.unk_token) + "\" is not in the vocabulary");
      if (unk && opts_.fuse_unk) {
        unk_len += byte_len;
      } else {
        if (unk) add(*unk_id_, unk_len);
        unk = true;
        unk_len = byte_len;
      }
    }
  }
  if (unk) add(*unk_id_, unk_len);

  // Word::merge_all: a min-heap on (rank, position).
  struct Merge {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Merge> initial;
  initial.reserve(sym.size());
  for (size_t k = 0; k + 1 < sym.size(); ++k)
    if (const MergeEntry* m = find_merge(sym[k].c, sym[k + 1].c))
      initial.push_back(Merge{m->rank, static_cast<int32_t>(k), m->new_id});
  std::priority_queue<Merge, std::vector<Merge>, std::greater<Merge>> queue(std::greater<Merge>{}, std::move(initial));
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Symbol& cur = sym[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const int32_t next_pos = cur.next;
    const Symbol right = sym[next_pos];
    const MergeEntry* target = find_merge(cur.c, right.c);
    if (!target || target->new_id != top.new_id) continue;  // an expired entry
    cur.c = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    sym[next_pos].len = 0;
    if (right.next > -1 && static_cast<size_t>(right.next) < sym.size()) sym[right.next].prev = top.pos;
    if (cur.prev >= 0)
      if (const MergeEntry* m = find_merge(sym[cur.prev].c, cur.c)) queue.push(Merge{m->rank, cur.prev, m->new_id});
    if (cur.next >= 0 && static_cast<size_t>(cur.next) < sym.size())
      if (const MergeEntry* m = find_merge(cur.c, sym[cur.next].c)) queue.push(Merge{m->rank, top.pos, m->new_id});
  }
  for (const auto& x : sym)
    if (x.len != 0) ids.push_back(x.c);
}

}  // namespace lowbit::tok
