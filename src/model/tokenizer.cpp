#include "model/tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "model/gguf_loader.h"
#include "model/tokenizer_gguf.h"
#include "model/tokenizer_json/hf_tokenizer.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

}  // namespace

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // From serialized ModelProto bytes (a GGUF vocabulary rebuilt as a sentencepiece model).
  SentencePieceTokenizer(std::string_view proto, const std::string& origin, bool add_bos, bool add_eos) {
    auto st = sp_.LoadFromSerializedProto(proto);
    if (!st.ok()) fail(origin, "cannot build a sentencepiece model from the vocabulary: " + st.ToString());
    bos_id_ = sp_.bos_id();
    eos_id_ = sp_.eos_id();
    add_bos_ = add_bos && bos_id_ >= 0;
    add_eos_ = add_eos;
  }

  SentencePieceTokenizer(const std::string& model_path, const std::string& config_path) {
    auto st = sp_.Load(model_path);
    if (!st.ok()) fail(model_path, "cannot load sentencepiece model: " + st.ToString());
    bos_id_ = sp_.bos_id();
    eos_id_ = sp_.eos_id();
    add_bos_ = bos_id_ >= 0;  // LlamaTokenizer's default add_bos_token=True
    if (!config_path.empty()) {
      std::ifstream f(config_path);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(f);
      } catch (const nlohmann::json::exception& e) {
        fail(config_path, std::string("invalid JSON: ") + e.what());
      }
      if (auto it = j.find("add_bos_token"); it != j.end() && it->is_boolean()) add_bos_ = *it;
      if (auto it = j.find("add_eos_token"); it != j.end() && it->is_boolean()) add_eos_ = *it;
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int> ids;
    auto st = sp_.Encode(text, &ids);
    if (!st.ok()) fail("", "tokenizer: " + st.ToString());
    std::vector<int32_t> out;
    out.reserve(ids.size() + 2);
    if (add_special && add_bos_ && bos_id_ >= 0) out.push_back(bos_id_);
    out.insert(out.end(), ids.begin(), ids.end());
    if (add_special && add_eos_ && eos_id_ >= 0) out.push_back(eos_id_);
    return out;
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::vector<int> v;
    v.reserve(ids.size());
    for (int32_t id : ids)
      if (id >= 0 && id < sp_.GetPieceSize()) v.push_back(id);
    std::string s;
    sp_.Decode(v, &s);
    return s;
  }

  std::string piece(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) return "";
    return sp_.IdToPiece(id);
  }
  int vocab_size() const override { return sp_.GetPieceSize(); }

 private:
  sentencepiece::SentencePieceProcessor sp_;
  bool add_eos_ = false;
};

std::unique_ptr<Tokenizer> make_sentencepiece_tokenizer(std::string_view proto, const std::string& origin, bool add_bos,
                                                        bool add_eos) {
  return std::make_unique<SentencePieceTokenizer>(proto, origin, add_bos, add_eos);
}

// Like transformers' AutoTokenizer, tokenizer.json (the "fast" tokenizer) wins over
// tokenizer.model when a directory has both.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  if (fs::is_regular_file(dir) && is_gguf_path(dir)) return load_gguf_tokenizer(*GgufFile::open(dir));
  fs::path d(dir);
  if (fs::is_regular_file(d) && d.extension() == ".json") return HfTokenizer::load_file(d.string());
  if (!fs::is_directory(d)) d = d.parent_path();
  const fs::path model = d / "tokenizer.model";
  const fs::path cfg = d / "tokenizer_config.json";
  if (fs::exists(d / "tokenizer.json")) return HfTokenizer::load_dir(d.string());
  if (fs::exists(model))
    return std::make_unique<SentencePieceTokenizer>(model.string(), fs::exists(cfg) ? cfg.string() : "");
  fail(d.string(), "no tokenizer.json or tokenizer.model found");
}

std::string DetokenizeStream::push(int32_t id) {
  static constexpr std::string_view kRepl = "\xEF\xBF\xBD";
  ids_.push_back(id);
  const std::string all = tok_.decode(ids_);
  bool incomplete = all.size() >= kRepl.size() && std::string_view(all).substr(all.size() - kRepl.size()) == kRepl;
  // A decoder that returns raw bytes may also end inside a UTF-8 sequence.
  for (size_t back = 1; back <= 4 && back <= all.size() && !incomplete; ++back) {
    const auto ch = static_cast<unsigned char>(all[all.size() - back]);
    if ((ch & 0xC0) == 0x80) continue;
    const size_t need = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 1;
    incomplete = back < need;
    break;
  }
  if (all.size() <= prefix_.size() || incomplete) return "";
  // tokenizers fails on a window whose text no longer starts with its emitted prefix;
  // here the text past the prefix's length is emitted all the same.
  std::string out = all.substr(prefix_.size());
  const size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_index_));
  prefix_ = tok_.decode(ids_);
  prefix_index_ = new_prefix_index;
  return out;
}

std::string DetokenizeStream::flush() {
  const std::string all = tok_.decode(ids_);
  std::string out = all.size() > prefix_.size() ? all.substr(prefix_.size()) : "";
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return out;
}

}  // namespace lowbit
