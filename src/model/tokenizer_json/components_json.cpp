#include "model/tokenizer_json/components_json.h"

#include "model/tokenizer_json/utf8.h"

namespace lowbit::tok {

namespace {

std::string item(const std::string& where, size_t k) { return where + "[" + std::to_string(k) + "]"; }

SplitBehavior behavior_from(const std::string& s, const JsonReader& r, const std::string& where) {
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  r.fail_at(where, "unknown split behavior \"" + utf8_lossy(s) + "\"");
}

// Metaspace's prepend_scheme, with the legacy add_prefix_space (metaspace.rs).
PrependScheme prepend_scheme(const json& j, const JsonReader& r, const std::string& where) {
  PrependScheme scheme = PrependScheme::Always;
  if (auto s = r.opt_string(j, where, "prepend_scheme")) {
    if (*s == "first") scheme = PrependScheme::First;
    else if (*s == "never") scheme = PrependScheme::Never;
    else if (*s == "always") scheme = PrependScheme::Always;
    else r.fail_at(where, "unknown prepend_scheme \"" + utf8_lossy(*s) + "\"");
  }
  if (r.member(j, where, "add_prefix_space") && !r.boolean(j, where, "add_prefix_space", true)) {
    if (r.member(j, where, "prepend_scheme") && scheme != PrependScheme::Never)
      r.fail_at(where, "add_prefix_space does not match declared prepend_scheme");
    scheme = PrependScheme::Never;
  }
  return scheme;
}

// ("token", id) pairs of Roberta/BertProcessing.
std::pair<std::string, int32_t> token_pair(const json& j, const JsonReader& r, const std::string& where,
                                           const char* key) {
  const json& v = r.require(j, where, key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_unsigned() ||
      v[1].get<uint64_t>() > static_cast<uint64_t>(kMaxTokenId))
    r.fail_at(where, std::string("\"") + key + "\" must be [token, id]");
  return {v[0].get<std::string>(), static_cast<int32_t>(v[1].get<uint64_t>())};
}

}  // namespace

Regex pattern_from_json(const json& j, const JsonReader& r, const std::string& where, std::string* literal) {
  if (!j.is_object() || j.size() != 1) r.fail_at(where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
  if (auto s = r.opt_string(j, where, "String")) {
    if (literal) *literal = *s;
    return Regex::literal(*s, r.origin());
  }
  if (auto s = r.opt_string(j, where, "Regex")) return Regex(*s, true, r.origin());
  r.fail_at(where, "pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

NormalizerPtr normalizer_from_json(const json& j, const JsonReader& r, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = r.type_of(j, where);
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormForm::NFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(r.boolean(j, where, "strip_left", true),
                                             r.boolean(j, where, "strip_right", true));
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(r.string(j, where, "prepend"));
  if (type == "Replace") {
    std::string literal;
    Regex re = pattern_from_json(r.require(j, where, "pattern"), r, where + ".pattern", &literal);
    return std::make_unique<ReplaceNormalizer>(std::move(re), r.string(j, where, "content"), literal);
  }
  if (type == "Sequence") {
    const json& a = r.array(j, where, "normalizers");
    std::vector<NormalizerPtr> parts;
    for (size_t k = 0; k < a.size(); ++k)
      if (auto p = normalizer_from_json(a[k], r, item(where + ".normalizers", k))) parts.push_back(std::move(p));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  r.fail_at(where, "normalizer type \"" + utf8_lossy(type) + "\" is not supported");
}

PreTokenizerPtr pre_tokenizer_from_json(const json& j, const JsonReader& r, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = r.type_of(j, where);
  using K = CharClassPreTokenizer::Kind;
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(r.boolean(j, where, "add_prefix_space", true),
                                                   r.boolean(j, where, "use_regex", true));
  if (type == "Split") {
    Regex re = pattern_from_json(r.require(j, where, "pattern"), r, where + ".pattern");
    return std::make_unique<SplitPreTokenizer>(std::move(re), behavior_from(r.string(j, where, "behavior"), r, where),
                                               r.boolean(j, where, "invert", false));
  }
  if (type == "Metaspace")
    return std::make_unique<MetaspacePreTokenizer>(r.one_char(j, where, "replacement"), prepend_scheme(j, r, where),
                                                   r.boolean(j, where, "split", true));
  if (type == "Digits")
    return std::make_unique<CharClassPreTokenizer>(
        K::Digits, r.boolean(j, where, "individual_digits", false) ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  if (type == "Punctuation") {
    SplitBehavior b = SplitBehavior::Isolated;
    if (auto s = r.opt_string(j, where, "behavior")) b = behavior_from(*s, r, where);
    return std::make_unique<CharClassPreTokenizer>(K::Punctuation, b);
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<CharClassPreTokenizer>(K::WhitespaceSplit, SplitBehavior::Removed);
  if (type == "BertPreTokenizer") return std::make_unique<CharClassPreTokenizer>(K::Bert, SplitBehavior::Removed);
  if (type == "CharDelimiterSplit")
    return std::make_unique<CharClassPreTokenizer>(K::CharDelimiter, SplitBehavior::Removed,
                                                   r.one_char(j, where, "delimiter"));
  if (type == "Sequence") {
    const json& a = r.array(j, where, "pretokenizers");
    std::vector<PreTokenizerPtr> parts;
    for (size_t k = 0; k < a.size(); ++k)
      if (auto p = pre_tokenizer_from_json(a[k], r, item(where + ".pretokenizers", k))) parts.push_back(std::move(p));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  r.fail_at(where, "pre-tokenizer type \"" + utf8_lossy(type) + "\" is not supported");
}

DecoderPtr decoder_from_json(const json& j, const JsonReader& r, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = r.type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace")
    return std::make_unique<MetaspaceDecoder>(r.one_char(j, where, "replacement"), prepend_scheme(j, r, where));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(r.one_char(j, where, "content"), r.unsigned_int(j, where, "start", 0),
                                          r.unsigned_int(j, where, "stop", 0));
  if (type == "Replace") {
    Regex re = pattern_from_json(r.require(j, where, "pattern"), r, where + ".pattern");
    return std::make_unique<ReplaceDecoder>(std::move(re), r.string(j, where, "content"));
  }
  if (type == "BPEDecoder")
    return std::make_unique<BpeSuffixDecoder>(r.opt_string(j, where, "suffix").value_or("</w>"));
  if (type == "Sequence") {
    const json& a = r.array(j, where, "decoders");
    std::vector<DecoderPtr> parts;
    for (size_t k = 0; k < a.size(); ++k)
      if (auto p = decoder_from_json(a[k], r, item(where + ".decoders", k))) parts.push_back(std::move(p));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  r.fail_at(where, "decoder type \"" + utf8_lossy(type) + "\" is not supported");
}

PostProcessorPtr post_processor_from_json(const json& j, const JsonReader& r, const std::string& where) {
  if (j.is_null()) return nullptr;
  const std::string type = r.type_of(j, where);
  if (type == "ByteLevel") return std::make_unique<NoopPostProcessor>();
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    auto [cls, cls_id] = token_pair(j, r, where, "cls");
    auto [sep, sep_id] = token_pair(j, r, where, "sep");
    return std::make_unique<ClsSepPostProcessor>(cls, cls_id, sep, sep_id);
  }
  if (type == "TemplateProcessing") {
    const json& specials = r.require(j, where, "special_tokens");
    if (!specials.is_object()) r.fail_at(where, "\"special_tokens\" must be an object");
    std::vector<TemplatePostProcessor::Piece> pieces;
    const json& single = r.array(j, where, "single");
    for (size_t k = 0; k < single.size(); ++k) {
      const std::string w = item(where + ".single", k);
      const json& p = single[k];
      TemplatePostProcessor::Piece piece;
      if (const json* seq = p.is_object() ? r.member(p, w, "Sequence") : nullptr) {
        // Only "A" exists for one sequence; "B" would index a missing encoding.
        if (r.string(*seq, w, "id") != "A") r.fail_at(w, "the single template may only use sequence A");
        piece.is_sequence = true;
      } else if (const json* sp = p.is_object() ? r.member(p, w, "SpecialToken") : nullptr) {
        const std::string id = r.string(*sp, w, "id");
        auto it = specials.find(id);
        if (it == specials.end()) r.fail_at(w, "special token \"" + utf8_lossy(id) + "\" is not in special_tokens");
        const std::string sw = where + ".special_tokens." + id;
        const json& ids = r.array(*it, sw, "ids");
        const json& toks = r.array(*it, sw, "tokens");
        if (ids.size() != toks.size()) r.fail_at(sw, "ids and tokens differ in length");
        for (size_t t = 0; t < ids.size(); ++t) {
          if (!ids[t].is_number_unsigned() || ids[t].get<uint64_t>() > static_cast<uint64_t>(kMaxTokenId) ||
              !toks[t].is_string())
            r.fail_at(sw, "ids must be token ids and tokens strings");
          piece.ids.push_back(static_cast<int32_t>(ids[t].get<uint64_t>()));
          piece.tokens.push_back(toks[t].get<std::string>());
        }
      } else {
        r.fail_at(w, "template piece must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
      pieces.push_back(std::move(piece));
    }
    return std::make_unique<TemplatePostProcessor>(std::move(pieces));
  }
  if (type == "Sequence") {
    const json& a = r.array(j, where, "processors");
    std::vector<PostProcessorPtr> parts;
    for (size_t k = 0; k < a.size(); ++k)
      if (auto p = post_processor_from_json(a[k], r, item(where + ".processors", k))) parts.push_back(std::move(p));
    return std::make_unique<SequencePostProcessor>(std::move(parts));
  }
  r.fail_at(where, "post-processor type \"" + utf8_lossy(type) + "\" is not supported");
}

}  // namespace lowbit::tok
