#include "model/tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf.h"
#include "model/gguf_loader.h"
#include "model/tokenizer_gguf.h"

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

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& dir) {
  if (fs::is_regular_file(dir) && is_gguf_path(dir)) return load_gguf_tokenizer(*GgufFile::open(dir));
  fs::path d(dir);
  if (!fs::is_directory(d)) d = d.parent_path();
  const fs::path model = d / "tokenizer.model";
  const fs::path cfg = d / "tokenizer_config.json";
  if (fs::exists(model))
    return std::make_unique<SentencePieceTokenizer>(model.string(), fs::exists(cfg) ? cfg.string() : "");
  if (fs::exists(d / "tokenizer.json"))
    fail((d / "tokenizer.json").string(), "tokenizer.json is not supported yet (only sentencepiece tokenizer.model)");
  fail(d.string(), "no tokenizer.model found");
}

// Byte-fallback tokens carry one UTF-8 byte each; decoding a sequence that ends inside a
// multi-byte character yields U+FFFD for the partial bytes. Those trailing U+FFFD (at most
// 3, the longest incomplete UTF-8 prefix) and any incomplete UTF-8 tail are held back until
// the next token completes them; the already emitted prefix never changes.
std::string DetokenizeStream::push(int32_t id) {
  ids_.push_back(id);
  std::string all = tok_.decode(ids_);
  if (all.size() < n_emitted_) return "";
  size_t end = all.size();
  // An incomplete UTF-8 sequence at the very end.
  for (size_t i = end, back = 0; i > n_emitted_ && back < 4; --i, ++back) {
    const unsigned char ch = static_cast<unsigned char>(all[i - 1]);
    if ((ch & 0xC0) == 0x80) continue;
    const size_t need = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 1;
    if (end - (i - 1) < need) end = i - 1;
    break;
  }
  static constexpr std::string_view kRepl = "\xEF\xBF\xBD";
  size_t held = 0, e = end;
  while (e >= n_emitted_ + kRepl.size() && std::string_view(all).substr(e - kRepl.size(), kRepl.size()) == kRepl) {
    e -= kRepl.size();
    ++held;
  }
  if (held > 0 && held <= 3) end = e;
  std::string out = all.substr(n_emitted_, end - n_emitted_);
  n_emitted_ = end;
  return out;
}

std::string DetokenizeStream::flush() {
  std::string all = tok_.decode(ids_);
  std::string out = all.size() > n_emitted_ ? all.substr(n_emitted_) : "";
  n_emitted_ = all.size();
  return out;
}

}  // namespace lowbit
