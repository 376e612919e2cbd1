// sentencepiece's ModelProto is a protobuf message; the few fields needed here are written
// with a minimal protobuf encoder (varints, fixed32 floats, length-delimited strings) rather
// than pulling protobuf's code generator into the build for five fields.
// Field numbers from sentencepiece's sentencepiece_model.proto:
//   ModelProto { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                NormalizerSpec normalizer_spec = 3; }
//   SentencePiece { string piece = 1; float score = 2; Type type = 3; }
//     (NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6: the same numbers
//      as GGUF's tokenizer.ggml.token_type)
//   TrainerSpec { ModelType model_type = 3 (UNIGRAM 1, BPE 2); bool byte_fallback = 35;
//                 int32 unk_id = 40; bos_id = 41; eos_id = 42; pad_id = 43; }
//   NormalizerSpec { string name = 1; bool add_dummy_prefix = 3;
//                    bool remove_extra_whitespaces = 4; bool escape_whitespaces = 5; }
#include "model/tokenizer_gguf.h"

#include <cstring>

#include "core/error.h"
#include "model/tokenizer_json/gguf_vocab.h"

namespace lowbit {

class SentencePieceTokenizer;  // defined in tokenizer.cpp
std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(std::string_view proto, const std::string& origin, bool add_bos,
                                                        bool add_eos);

namespace {

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_tag(std::string& out, int field, int wire) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire); }
void put_int(std::string& out, int field, int64_t v) {
  put_tag(out, field, 0);
  put_varint(out, static_cast<uint64_t>(v));  // negative int32 -> 10-byte two's complement, as protobuf does
}
void put_bytes(std::string& out, int field, std::string_view b) {
  put_tag(out, field, 2);
  put_varint(out, b.size());
  out.append(b);
}
void put_float(std::string& out, int field, float f) {
  put_tag(out, field, 5);
  char b[4];
  std::memcpy(b, &f, 4);
  out.append(b, 4);
}

}  // namespace

std::string gguf_vocab_to_sentencepiece_proto(const GgufFile& f) {
  const std::string model = f.get_string("tokenizer.ggml.model");
  if (model != "llama")
    fail(f.path(), "tokenizer.ggml.model \"" + model + "\" is not supported (only \"llama\" and \"gpt2\")");
  const auto& tokens = f.get_array_string("tokenizer.ggml.tokens");
  auto scores = f.get_array_f32_opt("tokenizer.ggml.scores");
  auto types = f.get_array_i32_opt("tokenizer.ggml.token_type");
  if (scores && scores->size() != tokens.size()) fail(f.path(), "tokenizer.ggml.scores and tokens differ in length");
  if (types && types->size() != tokens.size()) fail(f.path(), "tokenizer.ggml.token_type and tokens differ in length");
  std::string proto;
  bool has_bytes = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string piece;
    put_bytes(piece, 1, tokens[i]);
    put_float(piece, 2, scores ? (*scores)[i] : 0.0f);
    int type = types ? (*types)[i] : 1;
    if (type < 1 || type > 6) type = 1;
    has_bytes |= type == 6;
    put_int(piece, 3, type);
    put_bytes(proto, 1, piece);
  }
  auto id_or = [&](const char* key, int64_t dflt) -> int64_t {
    if (auto v = f.get_u32_opt(key)) return *v;
    return dflt;
  };
  std::string trainer;
  put_int(trainer, 3, 2);  // BPE
  put_int(trainer, 35, has_bytes ? 1 : 0);
  put_int(trainer, 40, id_or("tokenizer.ggml.unknown_token_id", 0));
  put_int(trainer, 41, id_or("tokenizer.ggml.bos_token_id", -1));
  put_int(trainer, 42, id_or("tokenizer.ggml.eos_token_id", -1));
  put_int(trainer, 43, id_or("tokenizer.ggml.padding_token_id", -1));
  put_bytes(proto, 2, trainer);
  std::string norm;
  put_bytes(norm, 1, "identity");
  put_int(norm, 3, f.get_bool_opt("tokenizer.ggml.add_space_prefix").value_or(true) ? 1 : 0);
  put_int(norm, 4, 0);  // llama vocabularies keep runs of spaces
  put_int(norm, 5, 1);
  put_bytes(proto, 3, norm);
  return proto;
}

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const GgufFile& f) {
  // Byte-level BPE vocabularies (tokens + merges + tokenizer.ggml.pre) are rebuilt as the
  // tokenizer.json they came from (model/tokenizer_json/gguf_vocab.h).
  if (f.get_string_opt("tokenizer.ggml.model").value_or("") == "gpt2") return gguf_bpe_tokenizer(f);
  const bool add_bos = f.get_bool_opt("tokenizer.ggml.add_bos_token").value_or(true);
  const bool add_eos = f.get_bool_opt("tokenizer.ggml.add_eos_token").value_or(false);
  return make_sentencepiece_tokenizer(gguf_vocab_to_sentencepiece_proto(f), f.path(), add_bos, add_eos);
}

}  // namespace lowbit
