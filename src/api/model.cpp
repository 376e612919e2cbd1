// The public lowbit::Model, a thin layer over the runtime in src/model.
#include <cmath>

#include "core/threads.h"
#include "eval/perplexity.h"
#include "lowbit/lowbit.h"
#include "model/generate.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace lowbit {

struct Model::Impl {
  std::shared_ptr<const ModelWeights> weights;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Transformer> runtime;
};

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& dir, const LoadOptions& options) {
  set_num_threads(options.threads);
  std::unique_ptr<Model> m(new Model());
  m->impl_->weights = std::shared_ptr<const ModelWeights>(load_model_weights(dir));
  m->impl_->tokenizer = load_tokenizer(dir);
  m->impl_->runtime = std::make_unique<Transformer>(m->impl_->weights, options.context_length);
  return m;
}

std::string Model::architecture() const { return impl_->weights->config.architecture; }
int Model::vocab_size() const { return impl_->weights->config.vocab_size; }
int64_t Model::n_params() const { return static_cast<int64_t>(impl_->weights->n_params); }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special) const {
  return impl_->tokenizer->encode(text, add_special);
}

std::string Model::detokenize(const std::vector<int32_t>& ids) const { return impl_->tokenizer->decode(ids); }

std::string Model::generate(std::string_view prompt, const GenerateOptions& o,
                            const std::function<bool(std::string_view)>& on_text) {
  const Tokenizer& tok = *impl_->tokenizer;
  std::vector<int32_t> ids = tok.encode(prompt, true);
  if (ids.empty()) {
    if (tok.bos_id() < 0) throw Error("", "empty prompt and the tokenizer has no BOS token");
    ids.push_back(tok.bos_id());
  }
  SamplerOptions so;
  so.greedy = o.greedy;
  so.temperature = o.temperature;
  so.top_k = o.top_k;
  so.top_p = o.top_p;
  so.seed = o.seed;
  Sampler sampler(so);
  std::vector<int> eos = impl_->weights->config.eos_token_ids;
  if (tok.eos_id() >= 0) eos.push_back(tok.eos_id());
  impl_->runtime->reset();
  DetokenizeStream stream(tok);
  for (int32_t id : ids)
    if (id != tok.bos_id()) stream.push(id);  // the prompt's text is not part of the result
  std::string out;
  lowbit::generate(*impl_->runtime, ids, o.max_tokens, sampler, eos, [&](int32_t id) {
    std::string piece = stream.push(id);
    out += piece;
    return on_text ? on_text(piece) : true;
  });
  std::string rest = stream.flush();
  out += rest;
  if (on_text && !rest.empty()) on_text(rest);
  return out;
}

std::vector<float> Model::logits(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions) {
  if (!positions.empty() && positions.size() != tokens.size())
    throw Error("", "positions must be empty or one per token");
  const int V = vocab_size();
  std::vector<float> out(tokens.size() * static_cast<size_t>(V));
  impl_->runtime->reset();
  impl_->runtime->forward(tokens.data(), positions.empty() ? nullptr : positions.data(),
                          static_cast<int>(tokens.size()), out.data(), true);
  return out;
}

}  // namespace lowbit

namespace lowbit {

PerplexityResult Model::perplexity(std::string_view text, const PerplexityOptions& options) {
  EvalOptions eo;
  eo.ctx = options.context_length;
  eo.max_chunks = options.max_chunks;
  eo.progress = false;
  if (impl_->runtime->max_ctx() < eo.ctx)
    impl_->runtime = std::make_unique<Transformer>(impl_->weights, eo.ctx);
  const std::vector<int32_t> tokens = impl_->tokenizer->encode(text, true);
  EvalResult r = evaluate_perplexity(*impl_->runtime, tokens, eo);
  PerplexityResult out;
  out.perplexity = r.ppl;
  out.mean_nll = r.mean_nll;
  out.n_scored = r.n_scored;
  out.n_chunks = r.n_chunks;
  return out;
}

}  // namespace lowbit
