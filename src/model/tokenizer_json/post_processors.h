// Post-processors of Hugging Face tokenizers (processors/*.rs) for a single sequence: they
// add the special tokens of encode(text, add_special_tokens=true). ByteLevel only trims
// offsets, so it adds nothing here.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::tok {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;  // the pieces, as Encoding::get_tokens
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual void process(Encoding& enc, bool add_special) const = 0;
};
using PostProcessorPtr = std::unique_ptr<const PostProcessor>;

class NoopPostProcessor final : public PostProcessor {
 public:
  void process(Encoding&, bool) const override {}
};

// The `single` template: the sequence between special tokens (processors/template.rs).
class TemplatePostProcessor final : public PostProcessor {
 public:
  struct Piece {
    bool is_sequence = false;
    std::vector<int32_t> ids;  // special token: its ids and tokens
    std::vector<std::string> tokens;
  };
  explicit TemplatePostProcessor(std::vector<Piece> single) : single_(std::move(single)) {}
  void process(Encoding& enc, bool add_special) const override;

 private:
  std::vector<Piece> single_;
};

// cls + sequence + sep (RobertaProcessing and BertProcessing agree for one sequence).
class ClsSepPostProcessor final : public PostProcessor {
 public:
  ClsSepPostProcessor(std::string cls, int32_t cls_id, std::string sep, int32_t sep_id)
      : cls_(std::move(cls)), sep_(std::move(sep)), cls_id_(cls_id), sep_id_(sep_id) {}
  void process(Encoding& enc, bool add_special) const override;

 private:
  std::string cls_, sep_;
  int32_t cls_id_, sep_id_;
};

class SequencePostProcessor final : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<PostProcessorPtr> parts) : parts_(std::move(parts)) {}
  void process(Encoding& enc, bool add_special) const override {
    for (const auto& p : parts_) p->process(enc, add_special);
  }

 private:
  std::vector<PostProcessorPtr> parts_;
};

}  // namespace lowbit::tok
