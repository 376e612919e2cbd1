// The "model" and "added_tokens" sections of tokenizer.json (models/bpe/serialization.rs,
// tokenizer/serialization.rs). Only the BPE model is implemented.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/tokenizer_json/added_vocab.h"
#include "model/tokenizer_json/bpe_model.h"
#include "model/tokenizer_json/json_util.h"

namespace lowbit::tok {

// merges: ["a b", ...] (split on the single space; anything else is an error, as
// convert_merges_to_hashmap does) or [["a", "b"], ...].
std::unique_ptr<BpeModel> bpe_model_from_json(const json& j, const JsonReader& r);
std::vector<AddedToken> added_tokens_from_json(const json& j, const JsonReader& r);

}  // namespace lowbit::tok
