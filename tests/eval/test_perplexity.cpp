// Perplexity: chunking and scoring on synthetic logits, then the reference figures of the
// bundled stories260K on the TinyStories eval text (../shared/models/stories260K-hf/README.md
// for the hf protocol, ../shared/golden/gguf/llamacpp-ppl.tsv for the llama.cpp one).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "../test_util.h"
#include "core/threads.h"
#include "eval/kl.h"
#include "eval/logprob_file.h"
#include "eval/perplexity.h"
#include "eval_test_util.h"
#include "lowbit/error.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

using namespace lowbit;

namespace {

EvalOptions opts(int ctx, PplProtocol p = PplProtocol::HF, int max_chunks = 0, int32_t bos = -1) {
  EvalOptions o;
  o.ctx = ctx;
  o.protocol = p;
  o.max_chunks = max_chunks;
  o.bos_id = bos;
  o.progress = false;
  return o;
}

}  // namespace

TEST(EvalPlan, HfScoresEveryPositionAfterTheFirstAndDropsThePartialChunk) {
  const ChunkPlan p = plan_chunks(10, opts(4));
  EXPECT_EQ(p.n_chunks, 2);  // tokens 8, 9 form a partial chunk: dropped
  EXPECT_EQ(p.first_scored, 0);
  EXPECT_EQ(p.n_scored_per_chunk, 3);
  EXPECT_EQ(p.n_scored(), 6);
  EXPECT_EQ(p.n_evaluated(), 8);
  EXPECT_EQ(plan_chunks(12, opts(4)).n_chunks, 3);
  EXPECT_EQ(plan_chunks(100, opts(4, PplProtocol::HF, 2)).n_chunks, 2);
  EXPECT_EQ(plan_chunks(297453, opts(512, PplProtocol::HF, 40)).n_scored(), 20440);
  EXPECT_EQ(plan_chunks(297453, opts(512)).n_chunks, 580);
  EXPECT_EQ(plan_chunks(297453, opts(512)).n_scored(), 296380);
}

TEST(EvalPlan, LlamaCppScoresTheSecondHalf) {
  const ChunkPlan p = plan_chunks(2000, opts(512, PplProtocol::LlamaCpp));
  EXPECT_EQ(p.n_chunks, 3);
  EXPECT_EQ(p.first_scored, 256);
  EXPECT_EQ(p.n_scored_per_chunk, 255);
  const ChunkPlan q = plan_chunks(9, opts(4, PplProtocol::LlamaCpp));
  EXPECT_EQ(q.first_scored, 2);
  EXPECT_EQ(q.n_scored_per_chunk, 1);
  EXPECT_EQ(q.n_chunks, 2);
  EXPECT_EQ(plan_chunks(3, opts(3, PplProtocol::LlamaCpp)).n_scored_per_chunk, 1);
}

TEST(EvalPlan, RejectsTooFewTokensAndBadCtx) {
  EXPECT_THROW(plan_chunks(3, opts(4)), Error);
  EXPECT_THROW(plan_chunks(0, opts(4)), Error);
  EXPECT_THROW(plan_chunks(100, opts(1)), Error);
  EXPECT_THROW(plan_chunks(100, opts(2, PplProtocol::LlamaCpp)), Error);
  EXPECT_THROW(plan_chunks(100, opts(4, PplProtocol::HF, -1)), Error);
}

TEST(EvalProtocol, Names) {
  EXPECT_EQ(protocol_from_name("hf"), PplProtocol::HF);
  EXPECT_EQ(protocol_from_name("llama.cpp"), PplProtocol::LlamaCpp);
  EXPECT_FALSE(protocol_from_name("wikitext").has_value());
  EXPECT_EQ(protocol_name(PplProtocol::LlamaCpp), "llama.cpp");
}

TEST(EvalLogSoftmax, DoublePrecisionAndArgmax) {
  const float x[4] = {1.0f, 3.0f, 3.0f, -2.0f};
  double lp[4];
  EXPECT_EQ(log_softmax(x, 4, lp), 1);  // the first of equal maxima
  double s = 0;
  for (double v : lp) s += std::exp(v);
  EXPECT_NEAR(s, 1.0, 1e-15);
  EXPECT_NEAR(lp[0] - lp[3], 3.0, 1e-15);
  const float bad[2] = {0.0f, std::nanf("")};
  EXPECT_THROW(log_softmax(bad, 2, lp), Error);
}

TEST(EvalSynthetic, UniformLogitsGivePplEqualToVocab) {
  const int V = 16;
  auto fwd = [&](const int32_t*, int n, float* logits) { std::fill(logits, logits + static_cast<size_t>(n) * V, 0.5f); };
  const auto tokens = evaltest::ramp_tokens(23, V);
  const EvalResult r = evaluate_perplexity(fwd, V, tokens, opts(5));
  EXPECT_EQ(r.n_chunks, 4);
  EXPECT_EQ(r.n_scored, 16);
  EXPECT_EQ(r.n_evaluated, 20);
  EXPECT_EQ(r.n_tokens, 23);
  EXPECT_NEAR(r.ppl, 16.0, 1e-9);
  EXPECT_EQ(r.nll_stderr, 0.0);
}

TEST(EvalSynthetic, ChunksRunFromScratchAndThePartialChunkIsNeverSeen) {
  evaltest::FakeModel m;
  const auto tokens = evaltest::ramp_tokens(11, m.V);
  const EvalResult r = evaluate_perplexity(m.forward(), m.V, tokens, opts(4));
  ASSERT_EQ(m.seen.size(), 2u);
  EXPECT_EQ(m.seen[0], std::vector<int32_t>({0, 1, 2, 3}));
  EXPECT_EQ(m.seen[1], std::vector<int32_t>({4, 5, 6, 7}));
  EXPECT_EQ(r.n_scored, 6);
  EXPECT_NEAR(r.mean_nll, m.nll(), 1e-7);
  EXPECT_NEAR(r.ppl, std::exp(m.nll()), 1e-6);
}

TEST(EvalSynthetic, LlamaCppProtocolPutsBosFirstAndScoresTheSecondHalf) {
  evaltest::FakeModel m;
  m.V = 12;
  const auto tokens = evaltest::ramp_tokens(20, m.V);
  const EvalResult r = evaluate_perplexity(m.forward(), m.V, tokens, opts(8, PplProtocol::LlamaCpp, 0, /*bos=*/11));
  ASSERT_EQ(m.seen.size(), 2u);
  EXPECT_EQ(m.seen[0], std::vector<int32_t>({11, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(m.seen[1], std::vector<int32_t>({11, 9, 10, 11, 0, 1, 2, 3}));
  EXPECT_EQ(r.n_scored, 2 * 3);  // positions 4, 5, 6 of each chunk
  EXPECT_NEAR(r.mean_nll, m.nll(), 1e-7);
}

TEST(EvalSynthetic, MaxChunksLimits) {
  evaltest::FakeModel m;
  const auto tokens = evaltest::ramp_tokens(100, m.V);
  const EvalResult r = evaluate_perplexity(m.forward(), m.V, tokens, opts(10, PplProtocol::HF, 3));
  EXPECT_EQ(m.seen.size(), 3u);
  EXPECT_EQ(r.n_chunks, 3);
  EXPECT_EQ(r.n_scored, 27);
}

TEST(EvalSynthetic, KlAgainstAnotherModelMatchesTheDirectFormula) {
  test::TempDir dir("lowbit-eval");
  const std::string path = dir.file("base.lplp");
  evaltest::FakeModel base, other;
  other.a = 7.0;
  const auto tokens = evaltest::ramp_tokens(40, base.V);
  {
    LogprobWriter w(path);
    evaluate_perplexity(base.forward(), base.V, tokens, opts(8), &w);
  }
  const LogprobReader rd = LogprobReader::open(path);
  const EvalResult r = evaluate_perplexity(other.forward(), other.V, tokens, opts(8), nullptr, &rd);
  ASSERT_TRUE(r.kl.has_value());
  // Both models put all the mass they do not give the next token evenly on the others.
  const int V = base.V;
  const double p = base.a / (base.a + V - 1), q = other.a / (other.a + V - 1);
  const double want = p * std::log(p / q) + (1 - p) * std::log((1 - p) / (1 - q));
  EXPECT_EQ(r.kl->n, 5 * 7);
  EXPECT_NEAR(r.kl->mean, want, 1e-6);
  EXPECT_NEAR(r.kl->median, want, 1e-6);
  EXPECT_NEAR(r.kl->max, want, 1e-6);
  EXPECT_DOUBLE_EQ(r.kl->top1_pct, 100.0);
  EXPECT_NEAR(r.kl->base_mean_nll, base.nll(), 1e-6);
  EXPECT_NEAR(r.kl->model_mean_nll, other.nll(), 1e-6);  // logits are ln(a) rounded to f32
  EXPECT_NEAR(r.kl->ln_ppl_ratio, other.nll() - base.nll(), 1e-6);
  EXPECT_NEAR(r.kl->delta_ppl, std::exp(other.nll()) - std::exp(base.nll()), 1e-5);
}

TEST(EvalKl, FormulaAndSummary) {
  const double p[2] = {std::log(0.5), std::log(0.5)}, q[2] = {std::log(0.25), std::log(0.75)};
  EXPECT_NEAR(kl_divergence(p, q, 2), 0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-15);
  EXPECT_EQ(kl_divergence(p, p, 2), 0.0);
  const double z[2] = {0.0, -INFINITY};  // p = (1, 0): the zero term contributes nothing
  EXPECT_NEAR(kl_divergence(z, q, 2), -std::log(0.25), 1e-15);

  std::vector<double> kl;
  for (int i = 0; i < 101; ++i) kl.push_back(i * 0.01);
  const std::vector<double> nb(101, 1.0), nm(101, 1.5);
  std::vector<uint8_t> same(101, 1);
  same[0] = same[1] = 0;
  const KlResult r = summarize_kl(kl, nb, nm, same);
  EXPECT_EQ(r.n, 101);
  EXPECT_NEAR(r.mean, 0.5, 1e-12);
  EXPECT_NEAR(r.median, 0.5, 1e-12);
  EXPECT_NEAR(r.p99, 0.99, 1e-12);
  EXPECT_NEAR(r.max, 1.0, 1e-12);
  EXPECT_NEAR(r.top1_pct, 99.0 / 101.0 * 100.0, 1e-9);
  EXPECT_NEAR(r.ln_ppl_ratio, 0.5, 1e-12);
  EXPECT_NEAR(r.delta_ppl, std::exp(1.5) - std::exp(1.0), 1e-12);
}

// ---- the bundled model ----

namespace {

struct Stories {
  std::shared_ptr<const ModelWeights> w;
  std::unique_ptr<Tokenizer> tok;
  std::vector<int32_t> tokens;
};

// One thread for the whole-model runs: ctest runs test processes side by side, and OpenMP
// teams spinning on a shared 2-core machine slow down many times over. Restores the count.
class OneThread {
 public:
  OneThread() : prev_(num_threads()) { set_num_threads(1); }
  ~OneThread() { set_num_threads(prev_); }

 private:
  int prev_;
};

// Loads models/stories260K and tokenizes the eval text; "" when the shared dir is absent.
std::string load_stories(Stories& s) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) return "shared dir not found (set LOWBIT_SHARED_DIR or configure with -DLOWBIT_SHARED_DIR)";
  const std::string text_path = shared + "/data/tinystories/tinystories-valid-head-eval.txt";
  std::ifstream f(text_path, std::ios::binary);
  if (!f) return text_path + " not found";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string dir = test::source_dir() + "/models/stories260K";
  s.w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  s.tok = load_tokenizer(dir);
  s.tokens = s.tok->encode(ss.str(), true);
  return "";
}

}  // namespace

TEST(EvalStories260K, TokenCountOfTheEvalText) {
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  EXPECT_EQ(s.tokens.size(), 297453u);  // README: 297,453 tokens
  EXPECT_EQ(s.tokens[0], 1);            // BOS
}

TEST(EvalStories260K, SmallChunksMatchAManualForward) {
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  const int ctx = 16;
  std::vector<int32_t> tokens(s.tokens.begin(), s.tokens.begin() + 40);  // 2 chunks + 8 dropped
  Transformer m(s.w, ctx);
  const EvalResult r = evaluate_perplexity(m, tokens, opts(ctx));
  EXPECT_EQ(r.n_chunks, 2);
  EXPECT_EQ(r.n_scored, 30);
  // By hand: fresh cache per chunk, logits[i] predicts token[i+1].
  Transformer m2(s.w, ctx);
  const int V = m2.config().vocab_size;
  std::vector<float> logits(static_cast<size_t>(ctx) * V);
  std::vector<double> lp(V);
  double sum = 0;
  for (int c = 0; c < 2; ++c) {
    m2.reset();
    m2.forward(&tokens[c * ctx], nullptr, ctx, logits.data(), true);
    for (int i = 0; i + 1 < ctx; ++i) {
      log_softmax(&logits[static_cast<size_t>(i) * V], V, lp.data());
      sum -= lp[tokens[c * ctx + i + 1]];
    }
  }
  EXPECT_NEAR(r.mean_nll, sum / 30, 1e-12);
}

TEST(EvalStories260K, Ppl40ChunksHf) {
  OneThread one;
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  Transformer m(s.w, 512);
  const EvalResult r = evaluate_perplexity(m, s.tokens, opts(512, PplProtocol::HF, 40));
  EXPECT_EQ(r.n_chunks, 40);
  EXPECT_EQ(r.n_scored, 20440);
  EXPECT_NEAR(r.mean_nll, 1.403074, 2e-5);
  EXPECT_NEAR(r.ppl, 4.0677, 5e-4);
}

TEST(EvalStories260K, Ppl40ChunksLlamaCppProtocolMatchesLlamaPerplexity) {
  OneThread one;
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  Transformer m(s.w, 512);
  const EvalResult r =
      evaluate_perplexity(m, s.tokens, opts(512, PplProtocol::LlamaCpp, 40, s.tok->bos_id()));
  EXPECT_EQ(r.n_scored, 40 * 255);
  EXPECT_NEAR(r.ppl, 3.8545, 5e-4);  // golden/gguf/llamacpp-ppl.tsv, the F32 base row
}

TEST(EvalStories260K, SelfKlIsAtTheQuantizationFloor) {
  OneThread one;
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  test::TempDir dir("lowbit-eval");
  const std::string path = dir.file("stories.lplp");
  Transformer m(s.w, 512);
  const EvalOptions o = opts(512, PplProtocol::HF, 4);
  LogprobWriter w(path);
  const EvalResult base = evaluate_perplexity(m, s.tokens, o, &w);
  const LogprobReader rd = LogprobReader::open(path);
  EXPECT_EQ(rd.header().n_vocab, 512);
  EXPECT_EQ(rd.n_rows(), 4 * 511);
  const EvalResult r = evaluate_perplexity(m, s.tokens, o, nullptr, &rd);
  ASSERT_TRUE(r.kl.has_value());
  EXPECT_EQ(r.kl->n, 4 * 511);
  EXPECT_LT(r.kl->mean, 1e-7);  // floor ~ step^2/24 with step <= 64/65535 nats: <= 4e-8
  EXPECT_LT(r.kl->max, 1e-6);
  EXPECT_GE(r.kl->median, 0.0);
  EXPECT_DOUBLE_EQ(r.kl->top1_pct, 100.0);
  EXPECT_NEAR(r.kl->base_mean_nll, base.mean_nll, 1e-6);
  EXPECT_NEAR(r.kl->model_mean_nll, base.mean_nll, 1e-12);
  EXPECT_NEAR(r.kl->delta_ppl, 0.0, 1e-5);
}

// All 580 chunks: about 40 s at 1 thread (30 s at 2) in Release on the 2-vCPU machine.
TEST(EvalStories260K, Ppl580ChunksHf) {
  OneThread one;
  Stories s;
  if (auto why = load_stories(s); !why.empty()) GTEST_SKIP() << why;
  Transformer m(s.w, 512);
  const auto t0 = std::chrono::steady_clock::now();
  const EvalResult r = evaluate_perplexity(m, s.tokens, opts(512));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.n_chunks, 580);
  EXPECT_EQ(r.n_scored, 296380);
  EXPECT_NEAR(r.mean_nll, 1.622904, 2e-5);
  EXPECT_NEAR(r.ppl, 5.0678, 5e-4);
  RecordProperty("seconds", std::to_string(secs));
}
