// tokenizer.json sections -> pipeline components, with the field names and defaults of the
// serde definitions in tokenizers (normalizers/, pre_tokenizers/, decoders/, processors/).
// A component type lowbit does not implement is an Error naming it.
#pragma once
#include <string>

#include "model/tokenizer_json/bpe_model.h"
#include "model/tokenizer_json/decoders.h"
#include "model/tokenizer_json/json_util.h"
#include "model/tokenizer_json/normalizers.h"
#include "model/tokenizer_json/post_processors.h"
#include "model/tokenizer_json/pre_tokenizers.h"

namespace lowbit::tok {

NormalizerPtr normalizer_from_json(const json& j, const JsonReader& r, const std::string& where);
PreTokenizerPtr pre_tokenizer_from_json(const json& j, const JsonReader& r, const std::string& where);
DecoderPtr decoder_from_json(const json& j, const JsonReader& r, const std::string& where);
PostProcessorPtr post_processor_from_json(const json& j, const JsonReader& r, const std::string& where);

// {"String": s} or {"Regex": r} (normalizers/replace.rs ReplacePattern, split.rs SplitPattern).
Regex pattern_from_json(const json& j, const JsonReader& r, const std::string& where, std::string* literal = nullptr);

}  // namespace lowbit::tok
