// tokenizer.ggml.* of a sentencepiece model, as convert_hf_to_gguf.py's
// _create_vocab_sentencepiece / _set_vocab_sentencepiece and gguf-py's SpecialVocab write
// them (specs/gguf.md §2 tokenizer keys, §2.3). Sentencepiece piece types map 1:1 to GGUF
// token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
#include <sentencepiece_processor.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/tokenizer_json/gguf_vocab.h"
#include "io/gguf_source.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

json read_json(const fs::path& p) {
  std::ifstream f(p);
  if (!f) fail(p.string(), "cannot open");
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    fail(p.string(), std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace

void add_sentencepiece_vocab(const std::string& dir, int vocab_size, std::vector<GgufKv>& md) {
  const fs::path d(dir);
  const fs::path model = d / "tokenizer.model";
  if (!fs::exists(model)) {
    // tokenizer.json only (Llama 3, Mistral v3, ...): llama.cpp's gpt2/llama vocabulary form.
    if (fs::exists(d / "tokenizer.json")) return add_bpe_vocab_to_gguf(dir, vocab_size, md);
    fail(dir, "no tokenizer.model or tokenizer.json found");
  }
  sentencepiece::SentencePieceProcessor sp;
  if (auto st = sp.Load(model.string()); !st.ok()) fail(model.string(), "cannot load sentencepiece model: " + st.ToString());

  const int n_sp = sp.GetPieceSize();
  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<float> scores(static_cast<size_t>(vocab_size), -10000.0f);
  std::vector<int32_t> types(static_cast<size_t>(vocab_size), kUnused);
  for (int i = 0; i < vocab_size; ++i) tokens[static_cast<size_t>(i)] = "[PAD" + std::to_string(i) + "]";
  for (int id = 0; id < n_sp && id < vocab_size; ++id) {  // pieces past vocab_size are dropped
    const size_t i = static_cast<size_t>(id);
    tokens[i] = sp.IdToPiece(id);
    scores[i] = sp.GetScore(id);
    types[i] = sp.IsUnknown(id) ? kUnknown : sp.IsControl(id) ? kControl : sp.IsUnused(id) ? kUnused
             : sp.IsByte(id) ? kByte : kNormal;
  }

  // added_tokens.json ({"text": id}) and tokenizer_config.json's added_tokens_decoder.
  if (const fs::path p = d / "added_tokens.json"; fs::exists(p)) {
    const json j = read_json(p);
    if (!j.is_object()) fail(p.string(), "expected a JSON object");
    for (const auto& [text, id] : j.items()) {
      if (!id.is_number_integer()) fail(p.string(), "token id of \"" + text + "\" is not an integer");
      const int64_t i = id.get<int64_t>();
      if (i < 0 || i >= vocab_size) continue;  // the converter warns and skips these
      tokens[static_cast<size_t>(i)] = text;
      scores[static_cast<size_t>(i)] = -1000.0f;
      types[static_cast<size_t>(i)] = kUserDefined;
    }
  }
  std::optional<bool> add_bos, add_eos;
  if (const fs::path p = d / "tokenizer_config.json"; fs::exists(p)) {
    const json j = read_json(p);
    if (auto it = j.find("added_tokens_decoder"); it != j.end() && it->is_object()) {
      for (const auto& [key, tok] : it->items()) {
        int64_t i = -1;
        try {
          i = std::stoll(key);
        } catch (const std::exception&) {
          fail(p.string(), "added_tokens_decoder key \"" + key + "\" is not a token id");
        }
        if (i < 0 || i >= vocab_size || !tok.is_object() || !tok.contains("content") || !tok["content"].is_string())
          continue;
        const bool special = tok.value("special", false);
        std::string text = tok["content"].get<std::string>();
        if (!special) {  // user-defined pieces store spaces, not U+2581 (the converter's pre-normalization)
          for (size_t pos; (pos = text.find("\xe2\x96\x81")) != std::string::npos;) text.replace(pos, 3, " ");
        }
        tokens[static_cast<size_t>(i)] = text;
        scores[static_cast<size_t>(i)] = -1000.0f;
        types[static_cast<size_t>(i)] = special ? kControl : kUserDefined;
      }
    }
    if (auto it = j.find("add_bos_token"); it != j.end() && it->is_boolean()) add_bos = it->get<bool>();
    if (auto it = j.find("add_eos_token"); it != j.end() && it->is_boolean()) add_eos = it->get<bool>();
  }

  md.push_back({"tokenizer.ggml.model", GgufValue::string("llama")});
  md.push_back({"tokenizer.ggml.pre", GgufValue::string("default")});
  md.push_back({"tokenizer.ggml.tokens", GgufValue::string_array(std::move(tokens))});
  md.push_back({"tokenizer.ggml.scores", GgufValue::array(scores)});
  md.push_back({"tokenizer.ggml.token_type", GgufValue::array(types)});
  auto id_key = [&](const char* key, int id) {
    if (id >= 0 && id < vocab_size) md.push_back({key, GgufValue::scalar(static_cast<uint32_t>(id))});
  };
  id_key("tokenizer.ggml.bos_token_id", sp.bos_id());
  id_key("tokenizer.ggml.eos_token_id", sp.eos_id());
  id_key("tokenizer.ggml.unknown_token_id", sp.unk_id());
  id_key("tokenizer.ggml.padding_token_id", sp.pad_id());
  if (add_bos) md.push_back({"tokenizer.ggml.add_bos_token", GgufValue::scalar(*add_bos)});
  if (add_eos) md.push_back({"tokenizer.ggml.add_eos_token", GgufValue::scalar(*add_eos)});
  md.push_back({"tokenizer.ggml.add_space_prefix", GgufValue::scalar(true)});
}

}  // namespace lowbit
