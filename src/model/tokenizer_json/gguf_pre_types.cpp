#include "model/tokenizer_json/gguf_vocab.h"

#include <cstring>

namespace lowbit::tok {

namespace {

// The Split regexes of the tokenizer.json files, which llama.cpp's llama-vocab.cpp also
// uses for these pre types (LLAMA_VOCAB_PRE_TYPE_LLAMA3 and _QWEN2).
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

constexpr GgufPreType kTypes[] = {
    {"llama-bpe", kLlama3Regex, false, true, true},
    {"qwen2", kQwen2Regex, true, false, false},
    {"gpt-2", nullptr, false, false, false},
};

bool is_type(const json& j, const char* type) {
  return j.is_object() && j.contains("type") && j["type"].is_string() && j["type"] == type;
}
bool flag(const json& j, const char* key, bool dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

}  // namespace

const GgufPreType* gguf_pre_type(const std::string& name) {
  std::string n = name;
  if (n == "llama3" || n == "llama-v3") n = "llama-bpe";
  if (n == "deepseek-r1-qwen") n = "qwen2";
  for (const auto& t : kTypes)
    if (n == t.name) return &t;
  return nullptr;
}

const GgufPreType* detect_gguf_pre_type(const json& tj) {
  const json null_json;
  const json& norm = tj.contains("normalizer") ? tj["normalizer"] : null_json;
  const json& pre = tj.contains("pre_tokenizer") ? tj["pre_tokenizer"] : null_json;
  const json& model = tj.contains("model") ? tj["model"] : null_json;
  const bool ignore_merges = model.is_object() && flag(model, "ignore_merges", false);
  const bool nfc = is_type(norm, "NFC");
  if (!norm.is_null() && !nfc) return nullptr;
  const char* regex = nullptr;
  if (is_type(pre, "ByteLevel")) {
    if (flag(pre, "add_prefix_space", true) || !flag(pre, "use_regex", true)) return nullptr;
  } else if (is_type(pre, "Sequence") && pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
             pre["pretokenizers"].size() == 2) {
    const json& split = pre["pretokenizers"][0];
    const json& bl = pre["pretokenizers"][1];
    if (!is_type(split, "Split") || !is_type(bl, "ByteLevel")) return nullptr;
    if (flag(bl, "add_prefix_space", true) || flag(bl, "use_regex", true)) return nullptr;
    if (flag(split, "invert", false) || !split.contains("behavior") || split["behavior"] != "Isolated") return nullptr;
    const json& p = split.contains("pattern") ? split["pattern"] : null_json;
    if (!p.is_object() || !p.contains("Regex") || !p["Regex"].is_string()) return nullptr;
    const std::string& r = p["Regex"].get_ref<const std::string&>();
    for (const auto& t : kTypes)
      if (t.split_regex && r == t.split_regex) regex = t.split_regex;
    if (!regex) return nullptr;
  } else {
    return nullptr;
  }
  for (const auto& t : kTypes)
    if (t.split_regex == regex && t.nfc == nfc && t.ignore_merges == ignore_merges) return &t;
  return nullptr;
}

json gguf_pre_normalizer_json(const GgufPreType& t) { return t.nfc ? json{{"type", "NFC"}} : json(nullptr); }

json gguf_pre_tokenizer_json(const GgufPreType& t) {
  if (!t.split_regex)
    return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  return {{"type", "Sequence"},
          {"pretokenizers",
           json::array({json{{"type", "Split"},
                             {"pattern", {{"Regex", t.split_regex}}},
                             {"behavior", "Isolated"},
                             {"invert", false}},
                        json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                             {"use_regex", false}}})}};
}

}  // namespace lowbit::tok
