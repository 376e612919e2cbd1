// Text <-> token ids. One interface; sentencepiece models (tokenizer.model), Hugging Face
// tokenizer.json (model/tokenizer_json/hf_tokenizer.h) and GGUF vocabularies.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Encodes text; prepends BOS when add_special and the model's tokenizer_config says so.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true) const = 0;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual std::string piece(int32_t id) const = 0;
  virtual int vocab_size() const = 0;
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  bool add_bos() const { return add_bos_; }

 protected:
  int bos_id_ = -1;
  int eos_id_ = -1;
  bool add_bos_ = false;
};

// Loads the tokenizer of an HF model directory (tokenizer.json, else tokenizer.model, with
// tokenizer_config.json), of a .gguf file, or of a tokenizer .json file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// Streams decoded text token by token: returns the new text each token adds, holding back
// incomplete UTF-8 / byte-fallback sequences until they complete. The algorithm of Hugging
// Face tokenizers' DecodeStream (tokenizer/mod.rs step_decode_stream): decode a short window
// of recent ids, and emit what the newest ids add to the window's already emitted text
// once it no longer ends in U+FFFD; decoders that treat the first token specially
// (Metaspace, sentencepiece's leading space) see the same first token on both sides.
class DetokenizeStream {
 public:
  explicit DetokenizeStream(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is still held back, at the end of generation

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;  // the window
  std::string prefix_;        // decode of the window's already emitted part
  size_t prefix_index_ = 0;   // ids_[0, prefix_index_) are context only
};

}  // namespace lowbit
