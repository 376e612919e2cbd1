#include "model/tokenizer_json/model_json.h"

#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

std::unique_ptr<BpeModel> bpe_model_from_json(const json& j, const JsonReader& r) {
  const std::string where = "model";
  if (!j.is_object()) r.fail_at(where, "missing or not an object");
  if (const json* t = r.member(j, where, "type")) {
    if (!t->is_string()) r.fail_at(where, "\"type\" must be a string");
    if (t->get<std::string>() != "BPE")
      r.fail_at(where, "model type \"" + utf8_lossy(t->get<std::string>()) + "\" is not supported (only BPE)");
  }
  if (const json* d = r.member(j, where, "dropout")) {
    // Dropout only matters in training; encoding with it is random, so lowbit encodes as
    // with dropout 0 and only checks the value is valid (BpeBuilder::build).
    if (!d->is_number() || d->get<double>() < 0.0 || d->get<double>() > 1.0)
      r.fail_at(where, "dropout must be a number in [0, 1]");
  }
  BpeOptions o;
  o.unk_token = r.opt_string(j, where, "unk_token");
  o.continuing_subword_prefix = r.opt_string(j, where, "continuing_subword_prefix");
  o.end_of_word_suffix = r.opt_string(j, where, "end_of_word_suffix");
  o.fuse_unk = r.boolean(j, where, "fuse_unk", false);
  o.byte_fallback = r.boolean(j, where, "byte_fallback", false);
  o.ignore_merges = r.boolean(j, where, "ignore_merges", false);

  const json& v = r.require(j, where, "vocab");
  if (!v.is_object()) r.fail_at("model.vocab", "must be an object of token -> id");
  TokenMap vocab;
  vocab.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number_unsigned() || it.value().get<uint64_t>() > static_cast<uint64_t>(kMaxTokenId))
      r.fail_at("model.vocab", "id of \"" + utf8_lossy(it.key().substr(0, 80)) + "\" must be an integer in [0, " +
                                   std::to_string(kMaxTokenId) + "]");
    vocab[it.key()] = static_cast<int32_t>(it.value().get<uint64_t>());
  }

  std::vector<std::pair<std::string, std::string>> merges;
  if (const json* m = r.member(j, where, "merges")) {
    if (!m->is_array()) r.fail_at("model.merges", "must be an array");
    merges.reserve(m->size());
    for (size_t k = 0; k < m->size(); ++k) {
      const json& e = (*m)[k];
      if (e.is_string()) {
        const std::string& s = e.get_ref<const std::string&>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          r.fail_at("model.merges", "merge " + std::to_string(k) + " is not two tokens separated by one space");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        r.fail_at("model.merges", "merge " + std::to_string(k) + " must be \"a b\" or [\"a\", \"b\"]");
      }
    }
  }
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(o), r.origin());
}

std::vector<AddedToken> added_tokens_from_json(const json& j, const JsonReader& r) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) r.fail_at("added_tokens", "must be an array");
  out.reserve(j.size());
  for (size_t k = 0; k < j.size(); ++k) {
    const std::string w = "added_tokens[" + std::to_string(k) + "]";
    AddedToken t;
    t.content = r.string(j[k], w, "content");
    t.special = r.boolean(j[k], w, "special", false);
    t.single_word = r.boolean(j[k], w, "single_word", false);
    t.lstrip = r.boolean(j[k], w, "lstrip", false);
    t.rstrip = r.boolean(j[k], w, "rstrip", false);
    t.normalized = r.boolean(j[k], w, "normalized", !t.special);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace lowbit::tok
