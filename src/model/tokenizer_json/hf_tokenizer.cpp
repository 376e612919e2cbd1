#include "model/tokenizer_json/hf_tokenizer.h"

#include <filesystem>

#include "core/error.h"
#include "model/tokenizer_json/components_json.h"
#include "model/tokenizer_json/model_json.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit {

using namespace tok;

std::unique_ptr<HfTokenizer> HfTokenizer::from_json_text(std::string_view text, const std::string& origin) {
  return from_json(parse_json_limited(text, origin), origin);
}

std::unique_ptr<HfTokenizer> HfTokenizer::from_json(const json& j, const std::string& origin) {
  JsonReader r(origin);
  if (!j.is_object()) r.fail_at("tokenizer.json", "must be a JSON object");
  if (auto v = r.opt_string(j, "tokenizer.json", "version"); v && *v != "1.0")
    r.fail_at("version", "unknown tokenizer version \"" + utf8_lossy(*v) + "\"");
  std::unique_ptr<HfTokenizer> t(new HfTokenizer());
  const json null_json;
  auto section = [&](const char* key) -> const json& {
    auto it = j.find(key);
    return it == j.end() ? null_json : *it;
  };
  t->model_ = bpe_model_from_json(section("model"), r);
  t->normalizer_ = normalizer_from_json(section("normalizer"), r, "normalizer");
  t->pre_tokenizer_ = pre_tokenizer_from_json(section("pre_tokenizer"), r, "pre_tokenizer");
  t->post_ = post_processor_from_json(section("post_processor"), r, "post_processor");
  t->decoder_ = decoder_from_json(section("decoder"), r, "decoder");
  t->added_.add_tokens(added_tokens_from_json(section("added_tokens"), r), *t->model_, t->normalizer_.get());
  t->refresh_add_bos();
  return t;
}

std::unique_ptr<HfTokenizer> HfTokenizer::load_dir(const std::string& dir) {
  return load_file((std::filesystem::path(dir) / "tokenizer.json").string());
}

std::unique_ptr<HfTokenizer> HfTokenizer::load_file(const std::string& path) {
  namespace fs = std::filesystem;
  auto t = from_json_text(read_text_file(path), path);
  const fs::path cfg = fs::path(path).parent_path() / "tokenizer_config.json";
  if (fs::exists(cfg)) t->apply_config(parse_json_limited(read_text_file(cfg.string()), cfg.string()), cfg.string());
  return t;
}

// The first special id of encode("", add_special=true) tells whether a BOS is added.
void HfTokenizer::refresh_add_bos() {
  Encoding e;
  if (post_) post_->process(e, true);
  if (bos_id_ < 0 && !e.ids.empty()) bos_id_ = e.ids.front();
  add_bos_ = bos_id_ >= 0 && !e.ids.empty() && e.ids.front() == bos_id_;
}

void HfTokenizer::apply_config(const json& cfg, const std::string& origin) {
  JsonReader r(origin);
  if (!cfg.is_object()) r.fail_at("tokenizer_config.json", "must be a JSON object");
  auto token_string = [&](const char* key) -> std::optional<std::string> {
    const json* v = r.member(cfg, "tokenizer_config.json", key);
    if (!v) return std::nullopt;
    if (v->is_string()) return v->get<std::string>();
    if (v->is_object()) return r.string(*v, key, "content");
    r.fail_at(key, "must be a string or an object with \"content\"");
  };
  auto id_of = [&](const std::optional<std::string>& s) -> int {
    if (!s) return -1;
    auto id = token_to_id(*s);
    return id ? *id : -1;
  };
  const auto bos = token_string("bos_token");
  const auto eos = token_string("eos_token");
  bos_token_ = bos.value_or("");
  eos_token_ = eos.value_or("");
  if (bos) bos_id_ = id_of(bos);
  if (eos) eos_id_ = id_of(eos);
  pad_id_ = id_of(token_string("pad_token"));
  if (const json* ct = r.member(cfg, "tokenizer_config.json", "chat_template"); ct && ct->is_string())
    chat_template_ = ct->get<std::string>();

  const std::string cls = r.opt_string(cfg, "tokenizer_config.json", "tokenizer_class").value_or("");
  const bool rebuilds_post = cls == "LlamaTokenizer" || cls == "LlamaTokenizerFast" || cls == "CodeLlamaTokenizer" ||
                             cls == "CodeLlamaTokenizerFast" || cls == "GemmaTokenizer" || cls == "GemmaTokenizerFast";
  if (rebuilds_post) {
    const bool add_bos = r.boolean(cfg, "tokenizer_config.json", "add_bos_token", true);
    const bool add_eos = r.boolean(cfg, "tokenizer_config.json", "add_eos_token", false);
    if (add_bos && bos_id_ < 0) r.fail_at("tokenizer_config.json", "add_bos_token is true but bos_token is unknown");
    if (add_eos && eos_id_ < 0) r.fail_at("tokenizer_config.json", "add_eos_token is true but eos_token is unknown");
    std::vector<TemplatePostProcessor::Piece> single;
    if (add_bos) single.push_back({false, {bos_id_}, {bos_token_}});
    single.push_back({true, {}, {}});
    if (add_eos) single.push_back({false, {eos_id_}, {eos_token_}});
    post_ = std::make_unique<TemplatePostProcessor>(std::move(single));
  }
  refresh_add_bos();
}

void HfTokenizer::run(std::string_view text, bool add_special, bool want_tokens, Encoding& enc) const {
  enc.ids.clear();
  enc.tokens.clear();
  Splits splits;
  if (!text.empty()) {
    Split s;
    s.text = utf8_is_valid(text) ? std::string(text) : utf8_lossy(text);
    s.at_origin = true;
    splits.push_back(std::move(s));
  }
  added_.extract(splits, false);
  if (normalizer_) {
    for (auto& s : splits)
      if (s.added_id < 0) normalizer_->normalize(s.text);
    std::erase_if(splits, [](const Split& s) { return s.added_id < 0 && s.text.empty(); });
  }
  added_.extract(splits, true);
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(splits);
  for (const auto& s : splits) {
    if (s.added_id >= 0) {
      enc.ids.push_back(s.added_id);
      if (want_tokens) enc.tokens.push_back(s.text);
      continue;
    }
    const size_t first = enc.ids.size();
    model_->tokenize(s.text, enc.ids);
    if (want_tokens)
      for (size_t k = first; k < enc.ids.size(); ++k) {
        const std::string* p = model_->id_to_token(enc.ids[k]);
        enc.tokens.push_back(p ? *p : std::string());
      }
  }
  if (post_) post_->process(enc, add_special);
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special) const {
  Encoding e;
  run(text, add_special, false, e);
  return std::move(e.ids);
}

Encoding HfTokenizer::encode_full(std::string_view text, bool add_special) const {
  Encoding e;
  run(text, add_special, true, e);
  return e;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string* s = added_.id_to_string(id);
    if (!s) s = model_->id_to_token(id);
    if (!s) continue;  // unknown ids are skipped (TokenizerImpl::decode's filter_map)
    if (skip_special && added_.is_special(*s)) continue;
    tokens.push_back(*s);
  }
  if (!decoder_) {
    std::string out;
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (k) out += ' ';
      out += tokens[k];
    }
    return out;
  }
  decoder_->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

std::string HfTokenizer::piece(int32_t id) const {
  if (const AddedToken* t = added_.token(id)) return t->content;
  if (const std::string* s = model_->id_to_token(id)) return *s;
  return "";
}

int HfTokenizer::vocab_size() const {
  int32_t n = model_->max_id() + 1;
  for (const auto& [id, t] : added_.by_id()) n = std::max(n, id + 1);
  return n;
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  if (auto id = added_.token_to_id(token)) return id;
  return model_->token_to_id(token);
}

bool HfTokenizer::is_special(int32_t id) const {
  const AddedToken* t = added_.token(id);
  return t && t->special;
}

}  // namespace lowbit
