#include "calib/imatrix_collect.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/progress.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace lowbit {
namespace {

// llama.cpp's defaults that shape llama-imatrix's batches (common/common.h: n_batch 2048,
// n_ubatch 512) and its collection threshold (imatrix.cpp: "src1->ne[1] < 16 ... return false").
constexpr int kLlamaBatch = 2048;
constexpr int kLlamaUbatch = 512;
constexpr int kMinRows = 16;

const char* gguf_linear_suffix(LinearKind kind) {
  switch (kind) {
    case LinearKind::Q: return "attn_q";
    case LinearKind::K: return "attn_k";
    case LinearKind::V: return "attn_v";
    case LinearKind::O: return "attn_output";
    case LinearKind::Gate: return "ffn_gate";
    case LinearKind::Up: return "ffn_up";
    case LinearKind::Down: break;
  }
  return "ffn_down";
}

// llama.cpp's -f keeps the file's bytes but drops one trailing newline (common/arg.cpp).
std::string_view strip_one_newline(const std::string& text) {
  std::string_view v(text);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return v;
}

}  // namespace

std::string gguf_linear_weight_name(int layer, LinearKind kind) {
  return "blk." + std::to_string(layer) + "." + gguf_linear_suffix(kind) + ".weight";
}

int imatrix_counted_prefix(int ctx, int chunk, int n_chunks) {
  if (ctx <= 0 || chunk < 0 || chunk >= n_chunks) return 0;
  // imatrix.cpp main(): n_seq = max(1, n_batch / n_ctx); the batch holds n_seq chunks, or one
  // chunk in pieces of n_batch when ctx > n_batch (compute_imatrix: num_batches).
  const int n_seq = std::max(1, kLlamaBatch / ctx);
  if (n_seq == 1) {
    const int last_batch = ctx - (ctx - 1) / kLlamaBatch * kLlamaBatch;  // 1 .. n_batch tokens
    const int rem = last_batch % kLlamaUbatch;
    return rem > 0 && rem < kMinRows ? ctx - rem : ctx;
  }
  // split_equal over the n_seqs chunks of this batch (llama-batch.cpp): each micro-batch
  // adds one token of every sequence while (tokens per sequence + 1) * n_seqs <= n_ubatch.
  // It takes at most n_ubatch + 1 sequences at once; that cap only matters for ctx < 4
  // (ignored: such a chunk is BOS and at most 3 tokens).
  const int first = chunk / n_seq * n_seq;
  const int n_seqs = std::min(n_seq, n_chunks - first);
  const int per_seq = std::max(1, kLlamaUbatch / n_seqs);
  const int rem = ctx % per_seq;
  return rem > 0 && n_seqs * rem < kMinRows ? ctx - rem : ctx;
}

void ImatrixCollector::add(Acc& a, const float* x, int m, int k) {
  // Per column, tokens in order; columns are independent, so threads split the columns.
  float* s = a.sum2.data();
  const int64_t work = static_cast<int64_t>(m) * k;
  constexpr int kColBlock = 64;
  const int n_blocks = (k + kColBlock - 1) / kColBlock;
#pragma omp parallel for schedule(static) if (work >= (1 << 18))
  for (int b = 0; b < n_blocks; ++b) {
    const int j0 = b * kColBlock, j1 = std::min(k, j0 + kColBlock);
    for (int t = 0; t < m; ++t) {
      const float* row = x + static_cast<size_t>(t) * k;
      for (int j = j0; j < j1; ++j) s[j] += row[j] * row[j];
    }
  }
  a.n_tokens += m;
}

void ImatrixCollector::observe(int layer, LinearKind kind, const float* x, int m, int k) {
  if (!enabled_ || m <= 0 || k <= 0) return;
  if (layer < 0 || layer >= static_cast<int>(layers_.size()))
    fail("", "imatrix: layer " + std::to_string(layer) + " out of range");
  Acc& a = layers_[layer][static_cast<int>(kind)];
  if (a.sum2.empty()) a.sum2.assign(k, 0.0f);
  if (static_cast<int>(a.sum2.size()) != k)
    fail("", "imatrix: " + gguf_linear_weight_name(layer, kind) + " input width changed from " +
                 std::to_string(a.sum2.size()) + " to " + std::to_string(k));
  add(a, x, m, k);
}

void ImatrixCollector::observe_output(const float* x, int m, int k) {
  if (!enabled_ || !collect_output_ || m <= 0 || k <= 0) return;
  if (output_.sum2.empty()) output_.sum2.assign(k, 0.0f);
  if (static_cast<int>(output_.sum2.size()) != k) fail("", "imatrix: output.weight input width changed");
  add(output_, x, m, k);
}

std::map<std::string, ImatrixEntry> ImatrixCollector::entries() const {
  std::map<std::string, ImatrixEntry> out;
  auto put = [&](const std::string& name, const Acc& a) {
    if (a.n_tokens == 0) return;
    ImatrixEntry e;
    e.n_in = static_cast<int64_t>(a.sum2.size());
    e.n_expert = 1;
    e.in_sum2 = a.sum2;
    // llama.cpp stores the count as F32 too; exact up to 2^24 tokens.
    e.counts = {static_cast<float>(a.n_tokens)};
    out.emplace(name, std::move(e));
  };
  for (size_t l = 0; l < layers_.size(); ++l)
    for (int kind = 0; kind < kNumLinearKinds; ++kind)
      put(gguf_linear_weight_name(static_cast<int>(l), static_cast<LinearKind>(kind)), layers_[l][kind]);
  put("output.weight", output_);
  return out;
}

int64_t ImatrixCollector::max_count() const {
  int64_t n = output_.n_tokens;
  for (const auto& layer : layers_)
    for (const Acc& a : layer) n = std::max(n, a.n_tokens);
  return n;
}

Imatrix collect_imatrix_tokens(Transformer& model, const std::vector<int32_t>& tokens, int32_t bos_id,
                               const ImatrixOptions& opts, ImatrixRunStats* stats) {
  const int ctx = opts.ctx;
  if (ctx < 1) fail("", "imatrix: --ctx must be at least 1, got " + std::to_string(ctx));
  if (ctx > model.max_ctx())
    fail("", "imatrix: --ctx " + std::to_string(ctx) + " exceeds the model's KV cache of " +
                 std::to_string(model.max_ctx()) + " tokens");
  // imatrix.cpp compute_imatrix(): "you need at least 2*n_ctx tokens for a context of n_ctx".
  if (tokens.size() < 2 * static_cast<size_t>(ctx))
    fail("", "imatrix: the text has " + std::to_string(tokens.size()) + " tokens; a context of " +
                 std::to_string(ctx) + " needs at least " + std::to_string(2 * static_cast<int64_t>(ctx)));
  int n_chunks = static_cast<int>(std::min<size_t>(tokens.size() / ctx, 1u << 30));
  if (opts.max_chunks > 0) n_chunks = std::min(n_chunks, opts.max_chunks);

  const ModelWeights& w = model.weights();
  // A tied head multiplies by token_embd.weight in llama.cpp, which the collector ignores
  // (only "blk." names and "output.weight" pass its filter).
  const bool untied_head = w.lm_head && w.lm_head.data != w.embed.data;
  const bool want_output = opts.process_output && untied_head;
  ImatrixCollector collector(w.config.n_layers, want_output);
  model.set_observer(&collector);
  struct Detach {
    Transformer& m;
    ~Detach() { m.set_observer(nullptr); }
  } detach{model};

  std::vector<float> logits;
  if (want_output) logits.resize(static_cast<size_t>(ctx) * w.config.vocab_size);
  std::vector<int32_t> chunk(ctx);
  Progress progress("imatrix", n_chunks, opts.progress);
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + static_cast<size_t>(c) * ctx, ctx, chunk.begin());
    // compute_imatrix(): "add BOS token for the first batch of each chunk" (when add_bos).
    if (bos_id >= 0) chunk[0] = bos_id;
    const int counted = imatrix_counted_prefix(ctx, c, n_chunks);
    model.reset();
    // llama-imatrix asks for every token's logits; the head only matters for output.weight,
    // so without it the forward stops before lm_head (logits nullptr).
    float* out = want_output ? logits.data() : nullptr;
    if (counted > 0) {
      collector.set_enabled(true);
      model.forward(chunk.data(), nullptr, counted, out, want_output);
    }
    if (counted < ctx) {
      collector.set_enabled(false);
      model.forward(chunk.data() + counted, nullptr, ctx - counted, out, want_output);
    }
    progress.update(c + 1);
  }
  progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  Imatrix m;
  if (!opts.dataset.empty()) m.datasets.push_back(opts.dataset);
  m.chunk_size = static_cast<uint32_t>(ctx);
  // save_imatrix(): chunk_count is m_last_chunk = (largest count) / chunk_size.
  m.chunk_count = static_cast<uint32_t>(collector.max_count() / ctx);
  m.entries = collector.entries();
  if (stats) {
    stats->n_tokens = static_cast<int64_t>(tokens.size());
    stats->n_chunks = n_chunks;
    stats->n_evaluated = static_cast<int64_t>(n_chunks) * ctx;
    stats->seconds = seconds;
    stats->tokens_per_s = stats->n_evaluated / std::max(seconds, 1e-9);
  }
  return m;
}

Imatrix collect_imatrix(Transformer& model, const Tokenizer& tok, const std::string& text,
                        const ImatrixOptions& opts, ImatrixRunStats* stats) {
  // compute_imatrix(): common_tokenize(ctx, prompt, add_special = true, parse_special = false).
  const std::vector<int32_t> tokens = tok.encode(strip_one_newline(text), true);
  const int32_t bos = tok.add_bos() ? tok.bos_id() : -1;
  return collect_imatrix_tokens(model, tokens, bos, opts, stats);
}

}  // namespace lowbit
