// The mix table, --tensor-type parsing, model hyperparameters and llama.cpp's tensor order.
// The per-tensor rules are in gguf_mix_rules.cpp.
#include <cctype>
#include <cstdio>
#include <optional>
#include <regex>

#include "core/error.h"
#include "io/gguf_mix.h"

namespace lowbit {
namespace {

// llama-quantize's QUANT_OPTIONS with llama_ftype_get_default_type (llama-quant.cpp).
// Q2_K_S is llama-quantize's too (Q2_K tensors then need an imatrix).
constexpr GgufMix kMixes[] = {
    {"Q4_0", LlamaFileType::Q4_0, FormatId::Q4_0},
    {"Q4_1", LlamaFileType::Q4_1, FormatId::Q4_1},
    {"MXFP4_MOE", LlamaFileType::MXFP4_MOE, FormatId::MXFP4},
    {"Q5_0", LlamaFileType::Q5_0, FormatId::Q5_0},
    {"Q5_1", LlamaFileType::Q5_1, FormatId::Q5_1},
    {"IQ2_XXS", LlamaFileType::IQ2_XXS, FormatId::IQ2_XXS},
    {"IQ2_XS", LlamaFileType::IQ2_XS, FormatId::IQ2_XS},
    {"IQ2_S", LlamaFileType::IQ2_S, FormatId::IQ2_XS},  // sic: IQ2_S the mix defaults to IQ2_XS
    {"IQ2_M", LlamaFileType::IQ2_M, FormatId::IQ2_S},
    {"IQ1_S", LlamaFileType::IQ1_S, FormatId::IQ1_S},
    {"IQ1_M", LlamaFileType::IQ1_M, FormatId::IQ1_M},
    {"TQ1_0", LlamaFileType::TQ1_0, FormatId::TQ1_0},
    {"TQ2_0", LlamaFileType::TQ2_0, FormatId::TQ2_0},
    {"Q2_K", LlamaFileType::Q2_K, FormatId::Q2_K},
    {"Q2_K_S", LlamaFileType::Q2_K_S, FormatId::Q2_K},
    {"IQ3_XXS", LlamaFileType::IQ3_XXS, FormatId::IQ3_XXS},
    {"IQ3_S", LlamaFileType::IQ3_S, FormatId::IQ3_S},
    {"IQ3_M", LlamaFileType::IQ3_M, FormatId::IQ3_S},
    {"IQ3_XS", LlamaFileType::IQ3_XS, FormatId::IQ3_S},
    {"Q3_K_S", LlamaFileType::Q3_K_S, FormatId::Q3_K},
    {"Q3_K_M", LlamaFileType::Q3_K_M, FormatId::Q3_K},
    {"Q3_K_L", LlamaFileType::Q3_K_L, FormatId::Q3_K},
    {"IQ4_NL", LlamaFileType::IQ4_NL, FormatId::IQ4_NL},
    {"IQ4_XS", LlamaFileType::IQ4_XS, FormatId::IQ4_XS},
    {"Q4_K_S", LlamaFileType::Q4_K_S, FormatId::Q4_K},
    {"Q4_K_M", LlamaFileType::Q4_K_M, FormatId::Q4_K},
    {"Q5_K_S", LlamaFileType::Q5_K_S, FormatId::Q5_K},
    {"Q5_K_M", LlamaFileType::Q5_K_M, FormatId::Q5_K},
    {"Q6_K", LlamaFileType::Q6_K, FormatId::Q6_K},
    {"Q8_0", LlamaFileType::Q8_0, FormatId::Q8_0},
    {"F16", LlamaFileType::MOSTLY_F16, FormatId::F16},
    {"BF16", LlamaFileType::BF16, FormatId::BF16},
    {"F32", LlamaFileType::ALL_F32, FormatId::F32},
};

struct Alias {
  std::string_view alias, name;
};
constexpr Alias kAliases[] = {{"Q3_K", "Q3_K_M"}, {"Q4_K", "Q4_K_M"}, {"Q5_K", "Q5_K_M"}, {"MXFP4", "MXFP4_MOE"}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

const GgufValue* find_kv(const std::vector<GgufKv>& md, const std::string& key) {
  for (const GgufKv& kv : md)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

// An integer key, scalar or per-layer array (first element), of any integer type.
std::optional<int64_t> int_kv(const std::vector<GgufKv>& md, const std::string& key, const std::string& path) {
  const GgufValue* v = find_kv(md, key);
  if (!v) return std::nullopt;
  if (v->n_elems() == 0) fail(path, "key " + key + " is an empty array");
  switch (v->elem_type()) {
    case GgufType::U8: return v->at<uint8_t>(0);
    case GgufType::I8: return v->at<int8_t>(0);
    case GgufType::U16: return v->at<uint16_t>(0);
    case GgufType::I16: return v->at<int16_t>(0);
    case GgufType::U32: return v->at<uint32_t>(0);
    case GgufType::I32: return v->at<int32_t>(0);
    case GgufType::U64: return static_cast<int64_t>(v->at<uint64_t>(0));
    case GgufType::I64: return v->at<int64_t>(0);
    default: fail(path, "key " + key + " has type " + v->type_label() + ", expected an integer");
  }
}

int layer_of(const std::string& name) {
  int layer = -1;
  std::sscanf(name.c_str(), "blk.%d.", &layer);  // as weight_name_comparer does
  return layer;
}

}  // namespace

std::span<const GgufMix> gguf_mixes() { return kMixes; }

const GgufMix* find_gguf_mix(std::string_view name) {
  for (const Alias& a : kAliases)
    if (iequals(a.alias, name)) name = a.name;
  for (const GgufMix& m : kMixes)
    if (iequals(m.name, name)) return &m;
  return nullptr;
}

std::string gguf_mix_names() {
  std::string s;
  for (const GgufMix& m : kMixes) s += (s.empty() ? "" : ", ") + std::string(m.name);
  return s;
}

MixModel mix_model_from_metadata(const std::vector<GgufKv>& md, const std::string& path) {
  MixModel m;
  const GgufValue* arch = find_kv(md, "general.architecture");
  if (!arch || arch->is_array() || arch->elem_type() != GgufType::STRING) fail(path, "missing key general.architecture");
  m.arch = arch->str();
  const std::string a = m.arch + ".";
  const auto n_layer = int_kv(md, a + "block_count", path);
  if (!n_layer) fail(path, "missing key " + a + "block_count");
  const auto n_head = int_kv(md, a + "attention.head_count", path);
  const auto n_head_kv = int_kv(md, a + "attention.head_count_kv", path);
  const auto n_expert = int_kv(md, a + "expert_count", path);
  auto small = [&](int64_t v, const char* what) {
    if (v < 0 || v > (1 << 20)) fail(path, std::string("implausible ") + what + " " + std::to_string(v));
    return static_cast<int>(v);
  };
  m.n_layer = small(*n_layer, "block count");
  m.n_head = small(n_head.value_or(0), "head count");
  m.n_head_kv = small(n_head_kv.value_or(m.n_head), "KV head count");
  m.n_expert = small(n_expert.value_or(0), "expert count");
  return m;
}

TypeOverride parse_type_override(const std::string& spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    fail("--tensor-type", "expected PATTERN=TYPE, got \"" + spec + "\"");
  TypeOverride o;
  o.pattern = spec.substr(0, eq);
  const std::string type = spec.substr(eq + 1);
  const FormatTraits* f = find_format(type);
  if (!f || !is_ggml_type(f->id)) fail("--tensor-type", "unknown GGUF type \"" + type + "\" in \"" + spec + "\"");
  o.type = f->id;
  try {
    std::regex re(o.pattern);
  } catch (const std::regex_error& e) {
    fail("--tensor-type", "invalid regular expression \"" + o.pattern + "\": " + e.what());
  }
  return o;
}

int64_t TensorPlan::n_elems() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

bool llama_tensor_order_less(const std::string& a, const std::string& b) {
  const int la = layer_of(a), lb = layer_of(b);
  if (la != lb) return la < lb;
  return a < b;
}

}  // namespace lowbit
