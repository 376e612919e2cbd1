// Perplexity of a model on a token sequence, and KL divergence against a saved base run.
//
// Protocols (both cut the tokens into non-overlapping chunks of `ctx`, drop a partial last
// chunk, and run every chunk from an empty KV cache in one forward with all logits):
//   hf        every position after the first of a chunk is scored: logits[i] predicts
//             token[i+1], i = 0 .. ctx-2 (ctx-1 tokens per chunk). The tokens are
//             tokenizer.encode(text, add_special=true), i.e. [BOS] + encode(text).
//   llama.cpp as llama-perplexity: the first token of each chunk is replaced by BOS, and only
//             positions ctx/2 .. ctx-2 are scored (ctx-1-ctx/2 tokens per chunk).
// PPL = exp(mean NLL over the scored tokens); log-softmax in double precision.
//
// With a LogprobWriter the base model's log-probs at every scored position go to a file
// (see logprob_file.h and docs/eval.md); with a LogprobReader the run is checked against
// that file (same tokens and settings) and the KL divergence KL(base || model) is reported.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/kl.h"

namespace lowbit {

class Transformer;
class LogprobWriter;
class LogprobReader;

enum class PplProtocol : uint32_t { HF = 0, LlamaCpp = 1 };

std::string_view protocol_name(PplProtocol p);                   // "hf", "llama.cpp"
std::optional<PplProtocol> protocol_from_name(std::string_view);  // accepts the names above

struct EvalOptions {
  int ctx = 512;
  int max_chunks = 0;  // 0: every full chunk
  PplProtocol protocol = PplProtocol::HF;
  int32_t bos_id = -1;  // llama.cpp protocol: replaces the first token of each chunk (< 0: kept)
  bool progress = true;  // Progress("eval", n_chunks) on a TTY unless --quiet
};

// Which positions a protocol scores.
struct ChunkPlan {
  int ctx = 0;
  int n_chunks = 0;
  int first_scored = 0;        // first scored position within a chunk (its logits row)
  int n_scored_per_chunk = 0;  // positions first_scored .. first_scored+n-1 are scored
  int64_t n_scored() const { return static_cast<int64_t>(n_chunks) * n_scored_per_chunk; }
  int64_t n_evaluated() const { return static_cast<int64_t>(n_chunks) * ctx; }
};

// Throws Error("", ...) for ctx < 2 or when the tokens do not fill one chunk.
ChunkPlan plan_chunks(size_t n_tokens, const EvalOptions& opts);

struct EvalResult {
  PplProtocol protocol = PplProtocol::HF;
  int ctx = 0;
  int64_t n_tokens = 0;     // tokens given (the whole text)
  int n_chunks = 0;
  int64_t n_evaluated = 0;  // tokens run through the model (n_chunks * ctx)
  int64_t n_scored = 0;
  double mean_nll = 0;      // nats per scored token
  double nll_stderr = 0;    // standard error of mean_nll
  double ppl = 0;
  double ppl_stderr = 0;    // ppl * nll_stderr (llama.cpp's estimate)
  double seconds = 0;       // wall time of the evaluation (forward + scoring)
  double tokens_per_s = 0;  // n_evaluated / seconds
  std::optional<KlResult> kl;  // when a LogprobReader was given
};

// Runs n tokens from an empty context and writes [n x n_vocab] logits (row i predicts i+1).
using ChunkForward = std::function<void(const int32_t* tokens, int n, float* logits)>;

// The core: any logits source. The writer (if any) gets a header and one row per scored
// position and is committed at the end; the reader (if any) must match tokens and settings.
EvalResult evaluate_perplexity(const ChunkForward& forward, int n_vocab, const std::vector<int32_t>& tokens,
                               const EvalOptions& opts, LogprobWriter* writer = nullptr,
                               const LogprobReader* reader = nullptr);

// The same on a Transformer (reset() before every chunk). Needs model.max_ctx() >= opts.ctx.
EvalResult evaluate_perplexity(Transformer& model, const std::vector<int32_t>& tokens, const EvalOptions& opts,
                               LogprobWriter* writer = nullptr, const LogprobReader* reader = nullptr);

// Log-softmax of n logits in double: out[j] = x[j] - max - log(sum exp(x - max)).
// Returns the index of the (first) largest logit. Throws Error for a NaN or infinite logit.
int log_softmax(const float* logits, int n, double* out);

}  // namespace lowbit
