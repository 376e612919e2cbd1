// The calibration batch of the layer-wise quantizers: n_samples sequences of seq_len tokens
// cut from one text file. As AutoAWQ / GPTQModel's "concatenate and cut into blocks" recipe:
// the whole text is tokenized once (no special tokens), consecutive blocks of seq_len - 1
// tokens each get the tokenizer's BOS in front (when it adds one), so every sample looks like
// the start of a document to the model. A text too short for n_samples gives fewer samples
// (reported in n_samples); one too short for a single sample is an Error.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

class Tokenizer;

struct CalibBatch {
  int n_samples = 0;
  int seq_len = 0;
  std::vector<int32_t> tokens;  // [n_samples * seq_len]
};

CalibBatch make_calib_batch(const Tokenizer& tok, const std::string& text_path, int n_samples, int seq_len);

// The default calibration text for a model: ../shared/data/calibration/wikitext-2-v1-valid
// .tokens.txt or data/tinystories/tinystories-valid-head-calib.txt under shared_dir (in that
// order, or the other way round); "" if neither exists.
std::string default_calib_path(const std::string& shared_dir, bool prefer_tinystories);

}  // namespace lowbit
