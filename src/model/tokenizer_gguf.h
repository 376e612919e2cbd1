// A tokenizer from GGUF metadata (tokenizer.ggml.*). "llama" (sentencepiece) vocabularies are
// rebuilt as a sentencepiece ModelProto (pieces, scores, types, BPE with byte fallback,
// identity normalizer) and run by libsentencepiece, so GGUF and tokenizer.model encode alike.
// "gpt2" (byte-level BPE) vocabularies are rebuilt as a tokenizer.json
// (model/tokenizer_json/gguf_vocab.h).
#pragma once
#include <memory>
#include <string>

#include "io/gguf.h"
#include "model/tokenizer.h"

namespace lowbit {

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& f);
// The serialized sentencepiece ModelProto for a "llama" GGUF vocabulary (exposed for tests).
std::string gguf_vocab_to_sentencepiece_proto(const GgufFile& f);

}  // namespace lowbit
