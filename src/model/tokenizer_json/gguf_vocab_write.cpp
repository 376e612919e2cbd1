// add_bpe_vocab_to_gguf: see gguf_vocab.h.
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.h"
#include "model/tokenizer_json/gguf_vocab.h"
#include "model/tokenizer_json/utf8.h"

namespace lowbit {

using namespace tok;

namespace {

namespace fs = std::filesystem;

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// convert_hf_to_gguf.py does_token_look_special.
bool looks_special(const std::string& t) {
  auto starts = [&](std::string_view p) { return t.compare(0, p.size(), p) == 0; };
  auto ends = [&](std::string_view s) { return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0; };
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (starts("<|") && ends("|>")) return true;
  if (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>")) return true;  // <｜...｜> (deepseek)
  return starts("<unused") && ends(">");
}

std::string replace_literal(const std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t prev = 0;
  for (size_t pos; (pos = s.find(from, prev)) != std::string::npos; prev = pos + from.size()) {
    out.append(s, prev, pos - prev);
    out.append(to);
  }
  out.append(s, prev, std::string::npos);
  return out;
}

bool is_byte_token(const std::string& t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && hex(t[3]) && hex(t[4]);
}

// A tokenizer.json that is sentencepiece-style BPE: "▁" for spaces, through Metaspace or a
// Prepend + Replace normalizer (Mistral, Llama 2 HF). Returns add_space_prefix.
std::optional<bool> spm_style(const json& tj) {
  const json& pre = tj.value("pre_tokenizer", json());
  const json& norm = tj.value("normalizer", json());
  if (pre.is_object() && pre.value("type", "") == "Metaspace")
    return pre.value("prepend_scheme", "always") != "never" && pre.value("add_prefix_space", true);
  if (pre.is_null() && norm.is_object() && norm.value("type", "") == "Sequence") {
    bool prepend = false, replace = false;
    for (const auto& n : norm.value("normalizers", json::array())) {
      if (!n.is_object()) continue;
      if (n.value("type", "") == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") prepend = true;
      if (n.value("type", "") == "Replace" && n.value("content", "") == "\xE2\x96\x81") replace = true;
    }
    if (replace) return prepend;
  }
  return std::nullopt;
}

}  // namespace

void add_bpe_vocab_to_gguf(const std::string& dir, int vocab_size, std::vector<GgufKv>& md) {
  const fs::path d(dir);
  const std::string tj_path = (d / "tokenizer.json").string();
  const json tj = parse_json_limited(read_text_file(tj_path), tj_path);
  auto tok = HfTokenizer::from_json(tj, tj_path);  // validates the whole file
  const fs::path cfg_path = d / "tokenizer_config.json";
  json cfg;
  if (fs::exists(cfg_path)) {
    cfg = parse_json_limited(read_text_file(cfg_path.string()), cfg_path.string());
    tok->apply_config(cfg, cfg_path.string());
  }

  const GgufPreType* pre = detect_gguf_pre_type(tj);
  const std::optional<bool> spm = pre ? std::nullopt : spm_style(tj);
  if (!pre && !spm)
    fail(tj_path, "this tokenizer.json has no llama.cpp equivalent (byte-level BPE with a llama-bpe, qwen2 or gpt-2 "
                  "pre-tokenizer, or sentencepiece-style BPE)");

  const int n = std::max(vocab_size, tok->vocab_size());
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int32_t> types(static_cast<size_t>(n), kUnused);
  std::vector<float> scores(static_cast<size_t>(n), 0.0f);
  for (int i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [text, id] : tok->model().vocab()) {
    if (id >= n) continue;
    // Two strings with one id keep the one id_to_token reports.
    if (const std::string* canon = tok->model().id_to_token(id); canon && *canon != text) continue;
    tokens[id] = text;
    types[id] = kNormal;
    scores[id] = -static_cast<float>(id) - 1e6f;  // below every merge result (see below)
  }
  if (!pre) {
    // sentencepiece's BPE merges the adjacent pair whose merged piece scores highest;
    // tokenizers merges the lowest-ranked pair. Scoring each merge result -rank (its first
    // merge) makes the two agree.
    const auto by_rank = tok->model().merges_by_rank();
    for (size_t r = by_rank.size(); r-- > 0;) {
      const std::string merged = *tok->model().id_to_token(by_rank[r].first) + *tok->model().id_to_token(by_rank[r].second);
      if (auto id = tok->model().token_to_id(merged); id && *id < n) scores[*id] = -static_cast<float>(r);
    }
  }
  const auto& opts = tok->model().options();
  for (int i = 0; i < n; ++i)
    if (types[i] == kNormal && opts.byte_fallback && is_byte_token(tokens[i])) types[i] = kByte, scores[i] = 0.0f;
  for (const auto& [id, t] : tok->added().by_id()) {
    if (id >= n) continue;
    tokens[id] = t.content;
    scores[id] = 0.0f;
    if (t.special || looks_special(t.content)) {
      types[id] = kControl;
    } else {
      types[id] = kUserDefined;
      // user-defined pieces store spaces, not U+2581 (the converter's pre-normalization)
      if (spm) tokens[id] = replace_literal(tokens[id], "\xE2\x96\x81", " ");
    }
  }

  // The unk token is UNKNOWN even when it is also an added special token (sentencepiece
  // requires its unk piece to have that type).
  if (opts.unk_token)
    if (auto id = tok->token_to_id(*opts.unk_token); id && *id < n) types[*id] = kUnknown, scores[*id] = 0.0f;

  md.push_back({"tokenizer.ggml.model", GgufValue::string(pre ? "gpt2" : "llama")});
  md.push_back({"tokenizer.ggml.pre", GgufValue::string(pre ? pre->name : "default")});
  md.push_back({"tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens))});
  if (!pre) md.push_back({"tokenizer.ggml.scores", GgufValue::array(scores)});
  md.push_back({"tokenizer.ggml.token_type", GgufValue::array(types)});
  if (pre) {
    // gguf-py writes "a b"; a space inside a token becomes U+0120 (byte-level vocabularies
    // never contain one).
    std::vector<std::string> merges;
    const auto by_rank = tok->model().merges_by_rank();
    merges.reserve(by_rank.size());
    for (auto [a, b] : by_rank) {
      merges.push_back(replace_literal(*tok->model().id_to_token(a), " ", "\xC4\xA0") + " " +
                       replace_literal(*tok->model().id_to_token(b), " ", "\xC4\xA0"));
    }
    md.push_back({"tokenizer.ggml.merges", GgufValue::string_array(std::move(merges))});
  }
  auto id_key = [&](const char* key, int id) {
    if (id >= 0 && id < n) md.push_back({key, GgufValue::scalar(static_cast<uint32_t>(id))});
  };
  id_key("tokenizer.ggml.bos_token_id", tok->bos_id());
  id_key("tokenizer.ggml.eos_token_id", tok->eos_id());
  if (opts.unk_token) id_key("tokenizer.ggml.unknown_token_id", tok->token_to_id(*opts.unk_token).value_or(-1));
  id_key("tokenizer.ggml.padding_token_id", tok->pad_id());
  // What encode(text, add_special=true) adds, written explicitly so llama.cpp agrees.
  const auto specials = tok->encode("", true);
  const bool add_eos = !specials.empty() && tok->eos_id() >= 0 && specials.back() == tok->eos_id() &&
                       !(specials.size() == 1 && tok->add_bos());
  md.push_back({"tokenizer.ggml.add_bos_token", GgufValue::scalar(tok->add_bos())});
  md.push_back({"tokenizer.ggml.add_eos_token", GgufValue::scalar(add_eos)});
  if (spm) md.push_back({"tokenizer.ggml.add_space_prefix", GgufValue::scalar(*spm)});
  if (!tok->chat_template().empty())
    md.push_back({"tokenizer.chat_template", GgufValue::string(tok->chat_template())});
}

}  // namespace lowbit
