// Collects an importance matrix (specs/gguf.md §6) the way llama.cpp's llama-imatrix does
// (tools/imatrix/imatrix.cpp at the golden commit 16cc3c60):
//   tokens = tokenize(text) with BOS (the vocabulary's add_bos); the text loses one trailing
//   '\n' as llama.cpp's -f does (common/arg.cpp);
//   at least 2*ctx tokens are required; chunks = min(--chunks, len/ctx) of ctx tokens;
//   chunk i is tokens[i*ctx, (i+1)*ctx) with its first token replaced by BOS (when add_bos),
//   evaluated from an empty KV cache;
//   every linear layer's input adds x_j^2 per column and 1 per token to the entry of the weight's
//   GGUF name ("blk.N.attn_q.weight"; q/k/v share one input, gate/up another, so their entries
//   are equal), output.weight only with process_output and an untied head;
//   tokens in llama.cpp micro-batches of < 16 tokens are not counted (see imatrix_counted_prefix below);
//   chunk_count = max count / ctx, chunk_size = ctx, datasets = {dataset}.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "calib/imatrix.h"
#include "model/transformer.h"
#include "model/weights.h"

namespace lowbit {

class Transformer;
class Tokenizer;

// The observer: sums x_j^2 per input column and counts tokens, per linear weight, while
// enabled. Sums are float, added token by token, as llama.cpp's collector does
// (values[j] += x[j]*x[j]): over 1e5 tokens float rounding moves a sum by up to ~2e-4 relative
// from the exact value, and matching llama.cpp's arithmetic keeps that out of the comparison
// (stories260K, layer 0, whose input does not depend on attention: 2e-6 from llama.cpp's
// file in float, 2e-4 in double).
class ImatrixCollector : public ActivationObserver {
 public:
  ImatrixCollector(int n_layers, bool collect_output) : layers_(n_layers), collect_output_(collect_output) {}
  void set_enabled(bool on) { enabled_ = on; }
  void observe(int layer, LinearKind kind, const float* x, int m, int k) override;
  void observe_output(const float* x, int m, int k) override;
  // Entries named as in GGUF; weights that saw no token are left out.
  std::map<std::string, ImatrixEntry> entries() const;
  int64_t max_count() const;

 private:
  struct Acc {
    std::vector<float> sum2;
    int64_t n_tokens = 0;
  };
  static void add(Acc& a, const float* x, int m, int k);
  std::vector<std::array<Acc, kNumLinearKinds>> layers_;
  Acc output_;
  bool collect_output_;
  bool enabled_ = true;
};

struct ImatrixOptions {
  int ctx = 512;                // tokens per chunk (llama-imatrix -c)
  int max_chunks = 0;           // <= 0: every full chunk (llama-imatrix --chunks)
  bool process_output = false;  // also collect output.weight (llama-imatrix --process-output)
  std::string dataset;          // stored in imatrix.datasets (llama.cpp stores the -f argument)
  bool progress = true;         // Progress("imatrix", n_chunks) on a TTY unless --quiet
};

struct ImatrixRunStats {
  int64_t n_tokens = 0;     // tokens of the whole text (with BOS)
  int n_chunks = 0;
  int64_t n_evaluated = 0;  // n_chunks * ctx: tokens run through the model
  double seconds = 0;       // wall time of the forward passes and accumulation
  double tokens_per_s = 0;  // n_evaluated / seconds
};

// The GGUF name of a decoder layer's linear weight: "blk.<layer>.attn_q.weight", ...
std::string gguf_linear_weight_name(int layer, LinearKind kind);

// How many leading tokens of chunk `chunk` (0-based, of n_chunks) llama-imatrix counts.
// llama.cpp only collects from matrix products with >= 16 rows, and those rows are a
// micro-batch of n_ubatch = 512 tokens at most (common.h defaults: n_batch 2048, n_ubatch 512).
// - ctx > 1024: one chunk per batch (pieces of n_batch when ctx > n_batch); llama_decode cuts a
//   batch into micro-batches in token order, so only the chunk's last ctx % 512 tokens can
//   form a short one.
// - ctx <= 1024: a batch holds n_seq = n_batch/ctx chunks, one sequence each, and the KV cache
//   has a stream per sequence (not unified), so llama_kv_cache::init_batch uses split_equal:
//   every micro-batch takes p = 512/n_seqs tokens of each chunk; the last takes ctx % p of
//   each, and is skipped when n_seqs * (ctx % p) < 16. (Checked: summing layer 0's input in
//   this order reproduces stories260K's golden sums to 1.8e-7, token order only to 2.4e-6.)
// The uncounted tokens are a suffix of the chunk. Returns a value in [0, ctx]: ctx for every
// usual context (16, 128, 256, 512, ...).
int imatrix_counted_prefix(int ctx, int chunk, int n_chunks);

// Runs the chunks through `model` (whose KV cache must hold ctx tokens) and returns the
// imatrix. Throws Error("", reason) when the text is too short or ctx is out of range.
Imatrix collect_imatrix(Transformer& model, const Tokenizer& tok, const std::string& text,
                        const ImatrixOptions& opts, ImatrixRunStats* stats = nullptr);

// The same on tokens already made (the first is BOS when add_bos); bos_id < 0: chunks keep
// their first token.
Imatrix collect_imatrix_tokens(Transformer& model, const std::vector<int32_t>& tokens, int32_t bos_id,
                               const ImatrixOptions& opts, ImatrixRunStats* stats = nullptr);

}  // namespace lowbit
