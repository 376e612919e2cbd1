// llama-quantize's named mixes ("Q4_K_M", "IQ2_M", ...) and its per-tensor type choice:
// which tensors are quantized, which type each gets (the "more bits" layers, attn_v /
// ffn_down / output / token_embd special cases), and the fallbacks for rows whose length is
// not a multiple of the type's block. Rules of llama.cpp src/llama-quant.cpp
// (llama_tensor_get_type and its caller) at the version that made the goldens (16cc3c60,
// Dec 2025), checked against ../shared/golden/gguf. specs/gguf.md §2 and §5 ("recipes").
//
// lowbit departs from llama.cpp in three documented places:
//   1. Where llama.cpp gives up on a row length ("Unsupported tensor size": Q4_0/Q4_1/Q5_0/
//      Q5_1/Q8_0/IQ4_NL/MXFP4 on a row that is not a multiple of 32), lowbit uses F16, the
//      type llama.cpp itself falls back to when its K/IQ fallback still does not fit. The
//      plan marks such tensors (TensorPlan::lowbit_fallback).
//   2. --tensor-type overrides: the last matching pattern wins (as in llama.cpp at
//      16cc3c60) and replaces the mix's choice even where the mix fell back; a type that
//      does not fit the row then goes through the same fallbacks instead of aborting.
//   3. Overrides apply to every mix, F16/BF16/F32 included (llama.cpp ignores them there).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/registry.h"
#include "io/gguf.h"

namespace lowbit {

// llama.h enum llama_ftype, stored as general.file_type (specs/gguf.md §2).
enum class LlamaFileType : uint32_t {
  ALL_F32 = 0, MOSTLY_F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9,
  Q2_K = 10, Q3_K_S = 11, Q3_K_M = 12, Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15, Q5_K_S = 16,
  Q5_K_M = 17, Q6_K = 18, IQ2_XXS = 19, IQ2_XS = 20, Q2_K_S = 21, IQ3_XS = 22, IQ3_XXS = 23,
  IQ1_S = 24, IQ4_NL = 25, IQ3_S = 26, IQ3_M = 27, IQ2_S = 28, IQ2_M = 29, IQ4_XS = 30,
  IQ1_M = 31, BF16 = 32, TQ1_0 = 36, TQ2_0 = 37, MXFP4_MOE = 38,
};

struct GgufMix {
  std::string_view name;   // as llama-quantize spells it: "Q4_K_M", "MXFP4_MOE"
  LlamaFileType file_type;
  FormatId default_type;   // llama_ftype_get_default_type
  bool is_quantized() const { return default_type != FormatId::F32 && default_type != FormatId::F16 &&
                                     default_type != FormatId::BF16; }
};

std::span<const GgufMix> gguf_mixes();
// Case-insensitive; also takes llama-quantize's aliases Q3_K, Q4_K, Q5_K (the _M mixes) and
// MXFP4 (MXFP4_MOE). nullptr if unknown.
const GgufMix* find_gguf_mix(std::string_view name);
std::string gguf_mix_names();  // "Q4_0, Q4_1, ..." for messages

// The hyperparameters the rules look at, from GGUF metadata.
struct MixModel {
  std::string arch;   // general.architecture
  int n_layer = 0;    // <arch>.block_count
  int n_head = 0;     // <arch>.attention.head_count (first layer's if per-layer)
  int n_head_kv = 0;  // <arch>.attention.head_count_kv (default n_head)
  int n_expert = 0;   // <arch>.expert_count
  int n_gqa() const { return n_head_kv > 0 ? n_head / n_head_kv : 0; }
};
MixModel mix_model_from_metadata(const std::vector<GgufKv>& metadata, const std::string& path);

// --tensor-type PATTERN=TYPE: a std::regex searched in the tensor name, a ggml type name.
struct TypeOverride {
  std::string pattern;
  FormatId type;
};
TypeOverride parse_type_override(const std::string& spec);  // Error("--tensor-type", ...)

struct MixTensor {
  std::string name;
  std::vector<int64_t> ne;
  FormatId src_type;
};

struct MixOptions {
  bool has_imatrix = false;
  std::vector<TypeOverride> overrides;
};

struct TensorPlan {
  std::string name;
  std::vector<int64_t> ne;
  FormatId src_type = FormatId::F32;
  FormatId type = FormatId::F32;  // what is written
  bool quantizable = false;       // llama.cpp converts it (a 2-D+ weight, not a norm, ...)
  bool overridden = false;        // a --tensor-type pattern chose it
  std::string fallback;           // "" or e.g. "Q4_K -> Q5_0 (ne[0] = 172 is not a multiple of 256)"
  bool lowbit_fallback = false;   // a fallback where llama.cpp aborts
  bool requires_imatrix = false;  // llama.cpp refuses this type here without an imatrix

  int64_t n_elems() const;
  bool converts() const { return quantizable && type != src_type; }
};

// llama-quantize's order (llama_model_loader's weight_name_comparer): tensors outside
// blk.N. first, then by layer number, each group by name.
bool llama_tensor_order_less(const std::string& a, const std::string& b);

// Orders the tensors as llama-quantize writes them and picks every tensor's type.
// Throws Error for names the rules cannot place (a bad layer number in an MoE model).
std::vector<TensorPlan> plan_gguf_mix(const GgufMix& mix, const MixModel& model, std::vector<MixTensor> tensors,
                                      const MixOptions& opts);

}  // namespace lowbit
