// tokenizer.json <-> GGUF vocabularies in llama.cpp's form (specs/gguf.md §2 tokenizer
// keys; convert_hf_to_gguf.py get_vocab_base / _set_vocab_gpt2 and gguf-py SpecialVocab).
//
// Writer: add_bpe_vocab_to_gguf(dir, vocab_size, md) appends the tokenizer.ggml.* keys for
// the tokenizer.json (+ tokenizer_config.json) of a model directory to `md`:
//   byte-level BPE          -> model "gpt2", tokens, token_type, merges, and the
//                              tokenizer.ggml.pre llama.cpp knows the pre-tokenizer by
//                              ("llama-bpe", "qwen2", "gpt-2"; anything else is an Error,
//                              as convert_hf_to_gguf refuses unknown pre-tokenizers);
//   sentencepiece-style BPE -> model "llama" (Metaspace or Prepend/Replace "▁" with byte
//                              fallback), tokens, scores (-rank of the merge making the
//                              token, so sentencepiece merges in tokenizer.json's order),
//                              token_type, add_space_prefix;
// plus bos/eos/unknown/padding ids, add_bos_token / add_eos_token (always written, so
// llama.cpp does not fall back to its per-pre default) and chat_template. Ids missing
// from the vocabulary up to vocab_size become "[PAD<i>]" UNUSED tokens. Token types: added
// tokens that are special or look special (<|...|>, <pad>, <mask>, ...) are CONTROL, other
// added tokens USER_DEFINED, "<0xXX>" byte-fallback tokens BYTE, the unk token UNKNOWN.
// Call it where the quantizer calls add_sentencepiece_vocab, when the directory has a
// tokenizer.json:  add_bpe_vocab_to_gguf(dir, config.vocab_size, metadata);
//
// Reader: gguf_bpe_tokenizer(f) rebuilds a "gpt2" GGUF vocabulary as the tokenizer.json it
// came from (byte-level BPE with the pre name's normalizer, pre-tokenizer and
// ignore_merges; CONTROL and USER_DEFINED tokens as added tokens), so it gives the ids the
// original tokenizer.json gives. "llama" vocabularies stay with model/tokenizer_gguf.cpp.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "model/tokenizer_json/hf_tokenizer.h"
#include "model/tokenizer_json/json_util.h"

namespace lowbit {

void add_bpe_vocab_to_gguf(const std::string& dir, int vocab_size, std::vector<GgufKv>& md);

std::unique_ptr<HfTokenizer> gguf_bpe_tokenizer(const GgufFile& f);
// The tokenizer.json object gguf_bpe_tokenizer builds (exposed for tests).
tok::json gguf_bpe_to_tokenizer_json(const GgufFile& f);

namespace tok {

// The byte-level pre-tokenizers llama.cpp names in tokenizer.ggml.pre.
struct GgufPreType {
  const char* name;
  const char* split_regex;  // nullptr: ByteLevel's own GPT-2 regex
  bool nfc;                 // NFC normalizer (Qwen2)
  bool ignore_merges;       // llama.cpp sets it for the LLAMA3 group
  bool default_add_bos;     // llama.cpp's add_bos when the GGUF has no add_bos_token key
};
const GgufPreType* gguf_pre_type(const std::string& name);  // aliases too; nullptr if unknown
// The pre type whose components equal the tokenizer.json's, or nullptr.
const GgufPreType* detect_gguf_pre_type(const json& tokenizer_json);
// The normalizer / pre_tokenizer sections of a tokenizer.json for a pre type.
json gguf_pre_normalizer_json(const GgufPreType& t);
json gguf_pre_tokenizer_json(const GgufPreType& t);

}  // namespace tok
}  // namespace lowbit
