// Text <-> token ids. One interface; sentencepiece models (tokenizer.model) today,
// Hugging Face tokenizer.json in a later step.
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

// Loads the tokenizer of an HF model directory (tokenizer.model + tokenizer_config.json).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir);

// Streams decoded text token by token: returns the new text each token adds, holding back
// incomplete UTF-8 / byte-fallback sequences until they complete.
class DetokenizeStream {
 public:
  explicit DetokenizeStream(const Tokenizer& tok) : tok_(tok) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is still held back, at the end of generation

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t n_emitted_ = 0;
};

}  // namespace lowbit
