// llama-quantize in lowbit: a GGUF (F32/F16/BF16, or quantized: then requantized with a
// warning) or an HF Llama folder (converted in memory, io/gguf_source.h) becomes a GGUF file
// quantized with one of llama.cpp's named mixes (io/gguf_mix.h), optionally with an
// importance matrix. Tensor order, per-tensor types and tensor bytes are llama-quantize's
// (bit-exact: formats/registry.h); metadata is the input's plus general.quantization_version
// = 2, general.file_type and, with an imatrix, quantize.imatrix.{file,dataset,entries_count,
// chunks_count}, as llama-quantize writes them.
//
// Everything that can fail is checked before the first tensor is quantized: the mix, the
// --tensor-type patterns, the imatrix (non-finite values, sizes), types without a lowbit
// quantizer (IQ1/IQ2/IQ3 for now: named in the error), types llama.cpp refuses without an
// imatrix. The output is written atomically (temp file, rename).
//
// Memory: the source is mapped; one tensor at a time is decoded to f32; the quantized
// tensors are held until the file is written (GgufWriter copies at write()), so peak
// memory is about the output's size plus the largest tensor in f32.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/gguf_mix.h"
#include "io/gguf_source.h"

namespace lowbit {

struct Imatrix;

struct GgufQuantizeOptions {
  std::string mix;                        // "Q4_K_M", ... (gguf_mixes())
  std::string imatrix_path;               // "" for none
  std::vector<std::string> tensor_types;  // --tensor-type PATTERN=TYPE, in order
  bool dry_run = false;                   // plan and sizes only; nothing is quantized or written
  bool progress = true;                   // a progress bar on a TTY (core/progress.h)
  // Warnings (requantizing, fallbacks where llama.cpp aborts); default: none are printed,
  // they are in GgufQuantizeResult::warnings either way.
  std::function<void(const std::string&)> on_warning;
};

struct GgufTypeStats {
  FormatId type;
  int n_tensors = 0;
  int64_t n_elems = 0;
  size_t n_bytes = 0;
};

struct GgufQuantizeResult {
  const GgufMix* mix = nullptr;
  std::vector<TensorPlan> plan;       // in output order
  std::vector<GgufTypeStats> by_type; // by ggml type id
  size_t n_bytes_in = 0, n_bytes_out = 0;  // tensor data
  int64_t n_elems = 0;
  double seconds = 0;
  bool written = false;
  std::vector<std::string> warnings;
  std::vector<std::string> missing_quantizers;  // dry run: types the plan needs that lowbit lacks
                                                // (a real run throws instead)

  double bits_per_weight() const { return n_elems > 0 ? 8.0 * static_cast<double>(n_bytes_out) / n_elems : 0.0; }
};

// Quantizes model_path (GGUF file or HF folder) to out_path (ignored for a dry run).
GgufQuantizeResult quantize_gguf(const std::string& model_path, const std::string& out_path,
                                 const GgufQuantizeOptions& opts);

// The per-tensor plan of a source with a mix (what --dry-run shows), without the checks
// that need an imatrix file. For tests of the mix rules.
std::vector<TensorPlan> plan_gguf_quantize(const ModelSource& src, const GgufMix& mix, bool has_imatrix,
                                           const std::vector<TypeOverride>& overrides = {});

}  // namespace lowbit
