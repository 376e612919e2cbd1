// gguf_bpe_tokenizer: see gguf_vocab.h.
#include "core/error.h"
#include "model/tokenizer_json/gguf_vocab.h"

namespace lowbit {

using namespace tok;

json gguf_bpe_to_tokenizer_json(const GgufFile& f) {
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "gpt2") fail(f.path(), "tokenizer.ggml.model \"" + model + "\" is not byte-level BPE (\"gpt2\")");
  const std::string pre_name = f.get_string_opt("tokenizer.ggml.pre").value_or("default");
  const GgufPreType* pre = gguf_pre_type(pre_name == "default" ? "gpt-2" : pre_name);
  if (!pre)
    fail(f.path(), "tokenizer.ggml.pre \"" + pre_name + "\" is not supported (llama-bpe, qwen2, gpt-2)");
  const auto& tokens = f.get_array_string("tokenizer.ggml.tokens");
  const auto types = f.get_array_i32_opt("tokenizer.ggml.token_type");
  if (types && types->size() != tokens.size()) fail(f.path(), "tokenizer.ggml.token_type and tokens differ in length");
  if (static_cast<int64_t>(tokens.size()) > kMaxTokenId) fail(f.path(), "too many tokens");

  // Every token is in the model's vocabulary (so added tokens keep their ids, as
  // "<s>" does in Mistral's tokenizer.json); CONTROL and USER_DEFINED ones are also added
  // tokens, matched in the text before the model runs (llama.cpp's tokenizer_st_partition).
  json vocab = json::object();
  json added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (vocab.contains(tokens[i])) continue;  // a duplicate string keeps its first id
    vocab[tokens[i]] = i;
    const int32_t type = types ? (*types)[i] : 1;
    if (type == 3 || type == 4)
      added.push_back({{"id", i}, {"content", tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", type == 3}});
  }
  json merges = json::array();
  if (const auto m = f.get_array_string_opt("tokenizer.ggml.merges")) {
    for (const auto& s : *m) {
      // llama.cpp splits at the first space after the first byte.
      const size_t sp = s.find(' ', 1);
      if (sp == std::string::npos) fail(f.path(), "tokenizer.ggml.merges entry without a space");
      merges.push_back(json::array({s.substr(0, sp), s.substr(sp + 1)}));
    }
  }
  const bool add_bos = f.get_bool_opt("tokenizer.ggml.add_bos_token").value_or(pre->default_add_bos);
  const bool add_eos = f.get_bool_opt("tokenizer.ggml.add_eos_token").value_or(false);
  const auto bos = f.get_u32_opt("tokenizer.ggml.bos_token_id");
  const auto eos = f.get_u32_opt("tokenizer.ggml.eos_token_id");
  json single = json::array(), specials = json::object();
  auto special_piece = [&](uint32_t id) {
    if (id >= tokens.size()) fail(f.path(), "special token id " + std::to_string(id) + " is out of range");
    const std::string& t = tokens[id];
    single.push_back({{"SpecialToken", {{"id", t}, {"type_id", 0}}}});
    specials[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
  };
  if (add_bos && bos) special_piece(*bos);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (add_eos && eos) special_piece(*eos);

  json tj = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", gguf_pre_normalizer_json(*pre)},
      {"pre_tokenizer", gguf_pre_tokenizer_json(*pre)},
      {"post_processor",
       {{"type", "TemplateProcessing"}, {"single", single}, {"pair", json::array()}, {"special_tokens", specials}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"byte_fallback", false},
        {"ignore_merges", pre->ignore_merges},
        {"vocab", std::move(vocab)},
        {"merges", std::move(merges)}}},
  };
  return tj;
}

std::unique_ptr<HfTokenizer> gguf_bpe_tokenizer(const GgufFile& f) {
  auto t = HfTokenizer::from_json(gguf_bpe_to_tokenizer_json(f), f.path());
  const int n = t->vocab_size();
  const auto bos = f.get_u32_opt("tokenizer.ggml.bos_token_id");
  const auto eos = f.get_u32_opt("tokenizer.ggml.eos_token_id");
  const auto specials = t->encode("", true);
  const int bos_id = bos && static_cast<int>(*bos) < n ? static_cast<int>(*bos) : -1;
  t->set_special_ids(bos_id, eos && static_cast<int>(*eos) < n ? static_cast<int>(*eos) : -1,
                     bos_id >= 0 && !specials.empty() && specials.front() == bos_id);
  return t;
}

}  // namespace lowbit
