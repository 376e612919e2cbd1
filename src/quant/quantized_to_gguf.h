// `lowbit convert`: a quantized HF checkpoint (gptq, awq, hqq, compressed-tensors; read
// through quant/quantized_source.h) becomes a GGUF file, keeping the checkpoint's codes and
// scales wherever a GGUF type holds them exactly (quant/gguf_exact.h: Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0) and never losing precision silently:
//   - each packed linear is decided on its own, every group checked;
//   - with `widen`, a linear no type of its width holds goes to a wider one that holds it
//     exactly where there is one (asymmetric 4-bit -> Q5_0, 2/3-bit -> Q4_0);
//   - a linear with no exact type is refused (Error naming the input, the module and why,
//     with a --widen / --requantize hint) unless `requantize` names a ggml type: then it is
//     decoded to f32 and quantized to that type with the registry (formats/registry.h), and
//     counted as requantized;
//   - every other tensor (embeddings, norms, lm_head, linears the quantizer skipped)
//     converts as the HF -> GGUF path does (io/hf_to_gguf.h): same names, shapes, Q/K
//     permutation, metadata and vocabulary.
// Everything is checked before the output is written; the file is written atomically
// (GgufWriter: temp file, fsync, rename), so a refusal leaves no file behind.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/registry.h"

namespace lowbit {

struct ConvertOptions {
  std::string requantize;  // "" refuses inexact linears; else a ggml type ("Q4_K", "Q8_0", "F16")
  bool widen = false;      // allow exact mappings into a wider type (more bits than the checkpoint)
  bool dry_run = false;    // decide and report every tensor; write nothing
  bool progress = true;    // a progress bar on a TTY (core/progress.h)
};

enum class ConvertHow {
  Copy,        // not quantized in the source: converted as the HF -> GGUF path does
  Exact,       // the checkpoint's codes and scales, repacked
  Widen,       // exact, in a wider type: code - zero stored with the type's offset
  Requantize,  // decoded to f32 and quantized to ConvertOptions::requantize
  Refuse,      // (dry run only) not exact and no --requantize: a real run fails here
};
const char* convert_how_name(ConvertHow h);  // "copy", "exact", "widen", "requantize", "refused"

struct ConvertTensor {
  std::string name;         // GGUF name, "blk.0.attn_q.weight"
  std::string hf_name;      // "model.layers.0.self_attn.q_proj" (module) or the tensor's name
  std::vector<int64_t> ne;  // ggml order
  std::string source;       // "gptq 4-bit sym g128", or the float type ("F32", "BF16")
  FormatId type = FormatId::F32;
  ConvertHow how = ConvertHow::Copy;
  std::string why_not;      // Widen / Requantize / Refuse: why no type of its width holds it exactly
};

struct ConvertTypeStats {
  FormatId type;
  int n_tensors = 0, n_exact = 0, n_widened = 0, n_requantized = 0, n_copied = 0;
  int64_t n_elems = 0;
  size_t n_bytes = 0;
};

struct ConvertResult {
  std::string method;                  // quant_method of the checkpoint
  std::vector<ConvertTensor> plan;     // in output order
  std::vector<ConvertTypeStats> by_type;
  int n_exact = 0, n_widened = 0, n_requantized = 0, n_copied = 0, n_refused = 0;
  std::string refusal;                 // dry run: the error a real run would give; "" if none
  size_t n_bytes_out = 0;
  double seconds = 0;
  bool written = false;
};

// Converts the checkpoint folder in_dir to out_path (ignored for a dry run). Throws Error
// for a missing or non-quantized folder, an unknown --requantize type, a linear that is not
// exact (without --requantize) or whose rows do not fit the requantize type's blocks.
ConvertResult convert_quantized_to_gguf(const std::string& in_dir, const std::string& out_path,
                                        const ConvertOptions& opts);

}  // namespace lowbit
