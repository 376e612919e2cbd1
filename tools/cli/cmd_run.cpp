// lowbit run MODEL [-p PROMPT] [-n N] [--greedy | --temp T --top-k K --top-p P --seed S] [-t THREADS]
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/generate.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace lowbit::cli {

void register_run(CLI::App& app) {
  struct Opts {
    std::string model, prompt;
    int n_predict = 128, threads = 0, ctx = 0;
    bool greedy = false, stats = false;
    SamplerOptions s;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("run", "generate text from a prompt");
  cmd->add_option("model", o->model, "HF model directory or GGUF file")->required();
  cmd->add_option("-p,--prompt", o->prompt, "prompt text (default: empty, BOS only)");
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  cmd->add_option("-c,--ctx", o->ctx, "context length (KV cache slots)");
  cmd->add_flag("--greedy", o->greedy, "always take the most likely token");
  cmd->add_option("--temp", o->s.temperature, "sampling temperature");
  cmd->add_option("--top-k", o->s.top_k, "keep the k most likely tokens (0: off)");
  cmd->add_option("--top-p", o->s.top_p, "nucleus sampling threshold (1: off)");
  cmd->add_option("--seed", o->s.seed, "random seed");
  cmd->add_flag("--stats", o->stats, "print speed to stderr");
  cmd->callback([o] {
    set_num_threads(o->threads);
    auto weights = std::shared_ptr<const ModelWeights>(load_model_weights(o->model));
    auto tok = load_tokenizer(o->model);
    Transformer model(weights, o->ctx);
    o->s.greedy = o->greedy;
    Sampler sampler(o->s);
    std::vector<int32_t> prompt = tok->encode(o->prompt, true);
    if (prompt.empty()) {
      if (tok->bos_id() < 0) throw lowbit::Error(o->model, "empty prompt and the tokenizer has no BOS token");
      prompt.push_back(tok->bos_id());
    }
    std::vector<int> eos = weights->config.eos_token_ids;
    if (tok->eos_id() >= 0) eos.push_back(tok->eos_id());
    DetokenizeStream stream(*tok);
    for (int32_t id : prompt) {
      if (id == tok->bos_id()) continue;
      std::fputs(stream.push(id).c_str(), stdout);
    }
    GenerateStats st;
    generate(model, prompt, o->n_predict, sampler, eos,
             [&](int32_t id) {
               std::fputs(stream.push(id).c_str(), stdout);
               std::fflush(stdout);
               return true;
             },
             &st);
    std::fputs(stream.flush().c_str(), stdout);
    std::fputs("\n", stdout);
    if (o->stats)
      std::fprintf(stderr, "prompt: %d tokens, %.1f t/s; generated: %d tokens, %.1f t/s\n", st.n_prompt,
                   st.n_prompt / std::max(st.prompt_s, 1e-9), st.n_generated,
                   st.n_generated / std::max(st.decode_s, 1e-9));
  });
}

}  // namespace lowbit::cli
