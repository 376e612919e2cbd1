// lowbit eval MODEL --text FILE [--ctx 512] [--max-chunks N] [-t THREADS] [--protocol hf|llama.cpp]
//                   [--save-logits FILE] [--kl-base FILE] [--json]
// Perplexity of MODEL on a text file (see src/eval/perplexity.h for the protocols), optionally
// saving the log-probs for a later --kl-base run, or comparing against such a file.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "commands.h"
#include "core/read_file.h"
#include "core/error.h"
#include "core/threads.h"
#include "eval/logprob_file.h"
#include "eval/perplexity.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace lowbit::cli {
namespace {

void print_text(const std::string& model, const std::string& text, const EvalResult& r, int threads,
                const std::string& saved, const std::string& kl_base) {
  std::printf("model       %s\n", model.c_str());
  std::printf("text        %s\n", text.c_str());
  std::printf("protocol    %s, ctx %d\n", std::string(protocol_name(r.protocol)).c_str(), r.ctx);
  std::printf("tokens      %lld in the text; %d chunks of %d = %lld evaluated\n", static_cast<long long>(r.n_tokens),
              r.n_chunks, r.ctx, static_cast<long long>(r.n_evaluated));
  std::printf("scored      %lld tokens\n", static_cast<long long>(r.n_scored));
  std::printf("mean NLL    %.6f +/- %.6f nats\n", r.mean_nll, r.nll_stderr);
  std::printf("PPL         %.4f +/- %.4f\n", r.ppl, r.ppl_stderr);
  std::printf("time        %.2f s, %.0f tokens/s (%d threads)\n", r.seconds, r.tokens_per_s, threads);
  if (!saved.empty()) std::printf("saved       %s (log-probs at %lld positions)\n", saved.c_str(),
                                  static_cast<long long>(r.n_scored));
  if (r.kl) {
    const KlResult& k = *r.kl;
    std::printf("KL divergence KL(base || model) against %s, %lld positions:\n", kl_base.c_str(),
                static_cast<long long>(k.n));
    std::printf("  mean      %.6f +/- %.6f nats\n", k.mean, k.mean_stderr);
    std::printf("  median    %.6f\n", k.median);
    std::printf("  p99       %.6f\n", k.p99);
    std::printf("  max       %.6f\n", k.max);
    std::printf("  top-1     %.3f +/- %.3f %% same\n", k.top1_pct, k.top1_stderr_pct);
    std::printf("  base      NLL %.6f, PPL %.4f\n", k.base_mean_nll, k.base_ppl);
    std::printf("  model     NLL %.6f, PPL %.4f\n", k.model_mean_nll, k.model_ppl);
    std::printf("  delta PPL %+.4f, ln(PPL/PPL_base) %+.6f\n", k.delta_ppl, k.ln_ppl_ratio);
  }
}

nlohmann::json to_json(const std::string& model, const std::string& text, const EvalResult& r, int threads,
                       const std::string& saved, const std::string& kl_base) {
  nlohmann::json j;
  j["model"] = model;
  j["text"] = text;
  j["protocol"] = std::string(protocol_name(r.protocol));
  j["ctx"] = r.ctx;
  j["tokens"] = r.n_tokens;
  j["chunks"] = r.n_chunks;
  j["evaluated_tokens"] = r.n_evaluated;
  j["scored_tokens"] = r.n_scored;
  j["mean_nll"] = r.mean_nll;
  j["nll_stderr"] = r.nll_stderr;
  j["ppl"] = r.ppl;
  j["ppl_stderr"] = r.ppl_stderr;
  j["seconds"] = r.seconds;
  j["tokens_per_second"] = r.tokens_per_s;
  j["threads"] = threads;
  if (!saved.empty()) j["saved_logits"] = saved;
  if (r.kl) {
    const KlResult& k = *r.kl;
    j["kl"] = {{"base", kl_base},
               {"positions", k.n},
               {"mean", k.mean},
               {"mean_stderr", k.mean_stderr},
               {"median", k.median},
               {"p99", k.p99},
               {"max", k.max},
               {"top1_pct", k.top1_pct},
               {"top1_stderr_pct", k.top1_stderr_pct},
               {"base_mean_nll", k.base_mean_nll},
               {"base_ppl", k.base_ppl},
               {"model_mean_nll", k.model_mean_nll},
               {"model_ppl", k.model_ppl},
               {"delta_ppl", k.delta_ppl},
               {"ln_ppl_ratio", k.ln_ppl_ratio}};
  }
  return j;
}

}  // namespace

void register_eval(CLI::App& app) {
  struct Opts {
    std::string model, text, save_logits, kl_base, protocol = "hf";
    int ctx = 512, max_chunks = 0, threads = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("eval", "perplexity on a text file; save log-probs or compare (KL) with a base run");
  cmd->add_option("model", o->model, "HF model directory")->required();
  cmd->add_option("--text", o->text, "text file to score (UTF-8)")->required();
  auto* ctx_opt = cmd->add_option("-c,--ctx", o->ctx, "chunk length in tokens (default 512)");
  auto* chunks_opt = cmd->add_option("--max-chunks,--chunks", o->max_chunks, "score at most N chunks (default: all)")
                         ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  cmd->add_option("--save-logits", o->save_logits, "write the log-probs of every scored position to FILE");
  cmd->add_option("--kl-base", o->kl_base, "compare with a --save-logits FILE: KL divergence, top-1, delta PPL");
  auto* proto_opt = cmd->add_option("--protocol", o->protocol,
                                    "hf: score every position after the first of each chunk; llama.cpp: "
                                    "BOS first, score the second half (as llama-perplexity)")
                        ->check(CLI::IsMember({"hf", "llama.cpp"}));
  cmd->add_flag("--json", o->json, "print the results as JSON");
  cmd->callback([o, ctx_opt, chunks_opt, proto_opt] {
    set_num_threads(o->threads);
    EvalOptions eo;
    eo.ctx = o->ctx;
    eo.max_chunks = o->max_chunks;
    eo.protocol = *protocol_from_name(o->protocol);

    // The base file first: a bad file fails before the model loads. Settings not given on the
    // command line come from it.
    std::optional<LogprobReader> reader;
    if (!o->kl_base.empty()) {
      reader.emplace(LogprobReader::open(o->kl_base));
      const LogprobHeader& h = reader->header();
      if (!ctx_opt->count()) eo.ctx = h.ctx;
      if (!proto_opt->count()) eo.protocol = h.protocol;
      if (!chunks_opt->count()) eo.max_chunks = h.n_chunks;
    }
    if (eo.ctx < 2) fail("--ctx", "must be at least 2");

    const std::string text = read_whole_file(o->text);
    auto weights = std::shared_ptr<const ModelWeights>(load_model_weights(o->model));
    auto tok = load_tokenizer(o->model);
    eo.bos_id = tok->bos_id();
    eo.progress = !globals().quiet;
    std::vector<int32_t> tokens = tok->encode(text, true);
    try {
      (void)plan_chunks(tokens.size(), eo);
    } catch (const Error& e) {
      fail(o->text, e.detail());
    }
    Transformer model(weights, eo.ctx);
    std::unique_ptr<LogprobWriter> writer;
    if (!o->save_logits.empty()) writer = std::make_unique<LogprobWriter>(o->save_logits);
    const EvalResult r = evaluate_perplexity(model, tokens, eo, writer.get(), reader ? &*reader : nullptr);
    if (o->json)
      std::printf("%s\n", to_json(o->model, o->text, r, num_threads(), o->save_logits, o->kl_base).dump(2).c_str());
    else
      print_text(o->model, o->text, r, num_threads(), o->save_logits, o->kl_base);
  });
}

}  // namespace lowbit::cli
