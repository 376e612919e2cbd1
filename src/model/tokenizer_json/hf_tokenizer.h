// A Hugging Face tokenizer.json run the way the `tokenizers` library (Rust) runs it
// (tokenizer/mod.rs encode_single_sequence, decode):
//   1. added tokens with normalized=false are cut out of the raw text;
//   2. each remaining piece is normalized, then added tokens with normalized=true are cut
//      out of the normalized text;
//   3. the pre-tokenizer splits the rest into words, the BPE model turns each word into
//      ids;
//   4. with add_special, the post-processor adds its special tokens.
// decode maps ids to token strings (unknown ids are skipped) and runs the decoder chain.
//
// Input that is not valid UTF-8 is first repaired like String::from_utf8_lossy (each
// maximal invalid subpart becomes U+FFFD), so every byte string has one defined encoding.
// Not implemented: truncation and padding (ignored: lowbit encodes whole documents),
// models other than BPE, BPE dropout (encodes as dropout 0), pair sequences, offsets.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/tokenizer.h"
#include "model/tokenizer_json/added_vocab.h"
#include "model/tokenizer_json/bpe_model.h"
#include "model/tokenizer_json/decoders.h"
#include "model/tokenizer_json/json_util.h"
#include "model/tokenizer_json/normalizers.h"
#include "model/tokenizer_json/post_processors.h"
#include "model/tokenizer_json/pre_tokenizers.h"

namespace lowbit {

class HfTokenizer final : public Tokenizer {
 public:
  // From tokenizer.json text; `origin` names it in errors.
  static std::unique_ptr<HfTokenizer> from_json_text(std::string_view text, const std::string& origin);
  static std::unique_ptr<HfTokenizer> from_json(const tok::json& j, const std::string& origin);
  // A model directory's tokenizer.json plus its tokenizer_config.json when present.
  static std::unique_ptr<HfTokenizer> load_dir(const std::string& dir);
  // A tokenizer.json file (any name), with the tokenizer_config.json beside it if present.
  static std::unique_ptr<HfTokenizer> load_file(const std::string& path);

  std::vector<int32_t> encode(std::string_view text, bool add_special = true) const override;
  tok::Encoding encode_full(std::string_view text, bool add_special) const;  // ids and pieces
  std::string decode(const std::vector<int32_t>& ids) const override { return decode(ids, false); }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;
  std::string piece(int32_t id) const override;
  int vocab_size() const override;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  const tok::BpeModel& model() const { return *model_; }
  const tok::AddedVocab& added() const { return added_; }

  // tokenizer_config.json: bos_token / eos_token / pad_token / unk_token (a string or an
  // AddedToken object), chat_template, and for Llama/Gemma tokenizer classes
  // add_bos_token / add_eos_token, which transformers turns into the post-processor
  // (LlamaTokenizerFast.update_post_processor).
  void apply_config(const tok::json& cfg, const std::string& origin);
  const std::string& bos_token() const { return bos_token_; }
  const std::string& eos_token() const { return eos_token_; }
  int pad_id() const { return pad_id_; }
  const std::string& chat_template() const { return chat_template_; }
  void set_special_ids(int bos, int eos, bool add_bos) {
    bos_id_ = bos;
    eos_id_ = eos;
    add_bos_ = add_bos;
  }

 private:
  HfTokenizer() = default;
  void run(std::string_view text, bool add_special, bool want_tokens, tok::Encoding& enc) const;
  void refresh_add_bos();

  tok::NormalizerPtr normalizer_;
  tok::PreTokenizerPtr pre_tokenizer_;
  std::unique_ptr<tok::BpeModel> model_;
  tok::AddedVocab added_;
  tok::PostProcessorPtr post_;
  tok::DecoderPtr decoder_;
  std::string bos_token_, eos_token_, chat_template_;
  int pad_id_ = -1;
};

}  // namespace lowbit
