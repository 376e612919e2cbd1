#include "model/tokenizer_json/post_processors.h"

namespace lowbit::tok {

void TemplatePostProcessor::process(Encoding& enc, bool add_special) const {
  Encoding out;
  for (const auto& p : single_) {
    if (p.is_sequence) {
      out.ids.insert(out.ids.end(), enc.ids.begin(), enc.ids.end());
      out.tokens.insert(out.tokens.end(), enc.tokens.begin(), enc.tokens.end());
    } else if (add_special) {
      out.ids.insert(out.ids.end(), p.ids.begin(), p.ids.end());
      out.tokens.insert(out.tokens.end(), p.tokens.begin(), p.tokens.end());
    }
  }
  enc = std::move(out);
}

void ClsSepPostProcessor::process(Encoding& enc, bool add_special) const {
  if (!add_special) return;
  enc.ids.insert(enc.ids.begin(), cls_id_);
  enc.ids.push_back(sep_id_);
  enc.tokens.insert(enc.tokens.begin(), cls_);
  enc.tokens.push_back(sep_);
}

}  // namespace lowbit::tok
