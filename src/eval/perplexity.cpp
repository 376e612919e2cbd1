#include "eval/perplexity.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "eval/logprob_file.h"
#include "model/transformer.h"

namespace lowbit {

std::string_view protocol_name(PplProtocol p) {
  switch (p) {
    case PplProtocol::HF: return "hf";
    case PplProtocol::LlamaCpp: return "llama.cpp";
  }
  return "?";
}

std::optional<PplProtocol> protocol_from_name(std::string_view s) {
  if (s == "hf") return PplProtocol::HF;
  if (s == "llama.cpp" || s == "llamacpp" || s == "llama-cpp") return PplProtocol::LlamaCpp;
  return std::nullopt;
}

ChunkPlan plan_chunks(size_t n_tokens, const EvalOptions& o) {
  if (o.ctx < 2) fail("", "ctx " + std::to_string(o.ctx) + " is too small (at least 2)");
  if (o.max_chunks < 0) fail("", "max chunks must not be negative");
  ChunkPlan p;
  p.ctx = o.ctx;
  if (o.protocol == PplProtocol::HF) {
    p.first_scored = 0;
    p.n_scored_per_chunk = o.ctx - 1;
  } else {
    p.first_scored = o.ctx / 2;
    p.n_scored_per_chunk = o.ctx - 1 - o.ctx / 2;
    if (p.n_scored_per_chunk < 1) fail("", "ctx " + std::to_string(o.ctx) + " is too small for the llama.cpp protocol (at least 3)");
  }
  const size_t full = n_tokens / static_cast<size_t>(o.ctx);
  if (full == 0)
    fail("", "only " + std::to_string(n_tokens) + " tokens: fewer than one chunk of " + std::to_string(o.ctx));
  size_t n = full;
  if (o.max_chunks > 0) n = std::min(n, static_cast<size_t>(o.max_chunks));
  p.n_chunks = static_cast<int>(std::min<size_t>(n, INT_MAX));
  return p;
}

int log_softmax(const float* x, int n, double* out) {
  int am = 0;
  float mx = x[0];
  for (int j = 0; j < n; ++j) {
    if (!std::isfinite(x[j])) fail("", "the model produced a non-finite logit (" + std::to_string(x[j]) + ")");
    if (x[j] > mx) {
      mx = x[j];
      am = j;
    }
  }
  double s = 0;
  for (int j = 0; j < n; ++j) s += std::exp(static_cast<double>(x[j]) - mx);
  const double lse = static_cast<double>(mx) + std::log(s);
  for (int j = 0; j < n; ++j) out[j] = static_cast<double>(x[j]) - lse;
  return am;
}

EvalResult evaluate_perplexity(const ChunkForward& forward, int n_vocab, const std::vector<int32_t>& tokens,
                               const EvalOptions& opts, LogprobWriter* writer, const LogprobReader* reader) {
  if (n_vocab <= 0) fail("", "vocabulary size must be positive");
  const ChunkPlan plan = plan_chunks(tokens.size(), opts);
  const int V = n_vocab, ctx = plan.ctx, first = plan.first_scored, ns = plan.n_scored_per_chunk;
  const int32_t bos = opts.protocol == PplProtocol::LlamaCpp ? opts.bos_id : -1;
  if (bos >= V) fail("", "BOS id " + std::to_string(bos) + " outside the vocabulary");

  if (writer || reader) {
    LogprobHeader h;
    h.n_vocab = V;
    h.ctx = ctx;
    h.n_chunks = plan.n_chunks;
    h.protocol = opts.protocol;
    h.first_scored = first;
    h.n_scored_per_chunk = ns;
    h.bos_id = bos;
    h.tokens.assign(tokens.begin(), tokens.begin() + plan.n_evaluated());
    if (reader) reader->check_matches(h);
    if (writer) writer->begin(h);
  }

  const int64_t n_scored = plan.n_scored();
  std::vector<double> nll(n_scored);
  std::vector<double> kl, base_nll;
  std::vector<uint8_t> same_top1;
  if (reader) {
    kl.resize(n_scored);
    base_nll.resize(n_scored);
    same_top1.resize(n_scored);
  }
  const size_t row_bytes = logprob_row_bytes(V);
  std::vector<uint8_t> rows(writer ? static_cast<size_t>(ns) * row_bytes : 0);
  std::vector<float> logits(static_cast<size_t>(ctx) * V);
  std::vector<int32_t> chunk(ctx);

  Progress progress("eval", plan.n_chunks, opts.progress);
  const auto t0 = std::chrono::steady_clock::now();
  double running = 0;
  for (int c = 0; c < plan.n_chunks; ++c) {
    const int32_t* src = tokens.data() + static_cast<size_t>(c) * ctx;
    std::copy(src, src + ctx, chunk.begin());
    if (bos >= 0) chunk[0] = bos;
    forward(chunk.data(), ctx, logits.data());

    const int64_t base_row = static_cast<int64_t>(c) * ns;
    bool failed = false;
    std::string error_file, error_msg;
#pragma omp parallel if (static_cast<int64_t>(ns) * V > 4096)
    {
      std::vector<double> lp(V), blp(reader ? V : 0);
#pragma omp for schedule(static)
      for (int i = 0; i < ns; ++i) {
        const int pos = first + i;
        const int64_t r = base_row + i;
        try {
          const int am = log_softmax(&logits[static_cast<size_t>(pos) * V], V, lp.data());
          const int32_t target = chunk[pos + 1];
          nll[r] = -lp[target];
          if (writer) encode_logprob_row(lp.data(), V, nll[r], am, &rows[static_cast<size_t>(i) * row_bytes]);
          if (reader) {
            const LogprobReader::Row br = reader->decode_row(r, blp.data());
            kl[r] = kl_divergence(blp.data(), lp.data(), V);
            base_nll[r] = br.nll;
            same_top1[r] = br.argmax == am;
          }
        } catch (const Error& e) {
#pragma omp critical(lowbit_eval_error)
          if (!failed) {
            failed = true;
            error_file = e.file();
            error_msg = e.detail() + (e.file().empty() ? " at chunk " + std::to_string(c) + ", position " +
                                                             std::to_string(pos) : "");
          }
        } catch (const std::exception& e) {
#pragma omp critical(lowbit_eval_error)
          if (!failed) {
            failed = true;
            error_msg = e.what();
          }
        }
      }
    }
    if (failed) fail(error_file, error_msg);
    if (writer) writer->write_rows(rows.data(), ns);
    for (int i = 0; i < ns; ++i) running += nll[base_row + i];
    char extra[48];
    std::snprintf(extra, sizeof extra, "ppl %.4f", std::exp(running / static_cast<double>(base_row + ns)));
    progress.update(c + 1, extra);
  }
  progress.finish();
  if (writer) writer->commit();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  EvalResult res;
  res.protocol = opts.protocol;
  res.ctx = ctx;
  res.n_tokens = static_cast<int64_t>(tokens.size());
  res.n_chunks = plan.n_chunks;
  res.n_evaluated = plan.n_evaluated();
  res.n_scored = n_scored;
  // Two passes (no cancellation): the standard error of the mean NLL as llama.cpp estimates it,
  // sqrt(population variance / (n - 1)).
  double s = 0;
  for (double x : nll) s += x;
  const double n = static_cast<double>(n_scored);
  res.mean_nll = s / n;
  double ss = 0;
  for (double x : nll) ss += (x - res.mean_nll) * (x - res.mean_nll);
  res.nll_stderr = n_scored > 1 ? std::sqrt(ss / n / (n - 1)) : 0.0;
  res.ppl = std::exp(res.mean_nll);
  res.ppl_stderr = res.ppl * res.nll_stderr;
  res.seconds = secs;
  res.tokens_per_s = secs > 0 ? static_cast<double>(res.n_evaluated) / secs : 0.0;
  if (reader) res.kl = summarize_kl(std::move(kl), base_nll, nll, same_top1);
  return res;
}

EvalResult evaluate_perplexity(Transformer& model, const std::vector<int32_t>& tokens, const EvalOptions& opts,
                               LogprobWriter* writer, const LogprobReader* reader) {
  if (model.max_ctx() < opts.ctx)
    fail("", "ctx " + std::to_string(opts.ctx) + " exceeds the model's KV cache of " + std::to_string(model.max_ctx()) +
                 " slots");
  auto fwd = [&model](const int32_t* t, int n, float* logits) {
    model.reset();
    model.forward(t, nullptr, n, logits, true);
  };
  return evaluate_perplexity(fwd, model.config().vocab_size, tokens, opts, writer, reader);
}

}  // namespace lowbit
