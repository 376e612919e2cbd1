// The log-prob file of --save-logits / --kl-base: round trip, decoding error bound, and every
// kind of corrupt or mismatched file giving an Error that names the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "../test_util.h"
#include "eval/logprob_file.h"
#include "eval/perplexity.h"
#include "eval_test_util.h"
#include "lowbit/error.h"

using namespace lowbit;

namespace {

EvalOptions opts(int ctx, PplProtocol p = PplProtocol::HF, int max_chunks = 0) {
  EvalOptions o;
  o.ctx = ctx;
  o.protocol = p;
  o.max_chunks = max_chunks;
  o.progress = false;
  return o;
}

// Deterministic pseudo-random logits in [-12, 12] that depend on the current token and the
// position, plus one very unlikely token per row (logit -200, below the 64-nat code range).
struct NoiseModel {
  int V = 100;
  uint32_t salt = 0;
  ChunkForward forward() const {
    return [this](const int32_t* t, int n, float* logits) {
      for (int i = 0; i < n; ++i) {
        uint32_t h = static_cast<uint32_t>(t[i]) * 2654435761u + static_cast<uint32_t>(i) * 40503u + salt;
        for (int j = 0; j < V; ++j) {
          h = h * 1664525u + 1013904223u;
          logits[static_cast<size_t>(i) * V + j] = (static_cast<float>(h >> 8) / 16777216.0f - 0.5f) * 24.0f;
        }
        logits[static_cast<size_t>(i) * V + (t[i] * 7 + 3) % V] = -200.0f;
      }
    };
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

template <class T>
void poke(std::string& s, size_t off, T v) {
  std::memcpy(&s[off], &v, sizeof v);
}

// A small valid file: vocab 8, ctx 4, 3 chunks of 3 scored positions.
struct SmallFile {
  test::TempDir dir{"lowbit-lplp"};
  std::string path = dir.file("base.lplp");
  evaltest::FakeModel m;
  std::vector<int32_t> tokens = evaltest::ramp_tokens(13, 8);
  SmallFile() {
    LogprobWriter w(path);
    evaluate_perplexity(m.forward(), m.V, tokens, opts(4), &w);
  }
};

void expect_error_naming(const std::string& path, const std::function<void()>& f, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), path) << what << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << what;
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << what << ": one line";
  }
}

}  // namespace

TEST(LogprobFile, LayoutAndSize) {
  SmallFile f;
  const std::string b = slurp(f.path);
  // header 64 + 12 tokens * 4 + 9 rows * (16 + 2 * 8)
  EXPECT_EQ(b.size(), 64u + 12 * 4 + 9 * 32);
  EXPECT_EQ(b.substr(0, 8), "LBLOGPRB");
  EXPECT_EQ(logprob_row_bytes(128256), 16u + 2 * 128256u);  // 250.5 KiB per scored token
  const LogprobReader r = LogprobReader::open(f.path);
  EXPECT_EQ(r.header().n_vocab, 8);
  EXPECT_EQ(r.header().ctx, 4);
  EXPECT_EQ(r.header().n_chunks, 3);
  EXPECT_EQ(r.header().protocol, PplProtocol::HF);
  EXPECT_EQ(r.header().first_scored, 0);
  EXPECT_EQ(r.header().n_scored_per_chunk, 3);
  EXPECT_EQ(r.header().tokens, std::vector<int32_t>(f.tokens.begin(), f.tokens.begin() + 12));
  EXPECT_EQ(r.n_rows(), 9);
  std::vector<double> lp(8);
  const auto row = r.decode_row(0, lp.data());
  EXPECT_EQ(row.argmax, 1);
  EXPECT_NEAR(row.nll, f.m.nll(), 1e-6);
  EXPECT_THROW(r.decode_row(9, lp.data()), Error);
}

TEST(LogprobFile, RoundTripDecodingErrorIsWithinHalfAStep) {
  test::TempDir dir("lowbit-lplp");
  const std::string path = dir.file("noise.lplp");
  NoiseModel nm;
  const auto tokens = evaltest::ramp_tokens(64, nm.V);
  {
    LogprobWriter w(path);
    evaluate_perplexity(nm.forward(), nm.V, tokens, opts(16, PplProtocol::LlamaCpp), &w);
  }
  const LogprobReader r = LogprobReader::open(path);
  EXPECT_EQ(r.header().protocol, PplProtocol::LlamaCpp);
  EXPECT_EQ(r.header().first_scored, 8);
  EXPECT_EQ(r.header().n_scored_per_chunk, 7);
  ASSERT_EQ(r.n_rows(), 4 * 7);
  // Recompute the exact log-probs and compare with the decoded ones.
  std::vector<float> logits(16 * nm.V);
  std::vector<double> exact(nm.V), dec(nm.V);
  double worst = 0;
  for (int c = 0; c < 4; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * 16, tokens.begin() + (c + 1) * 16);
    nm.forward()(chunk.data(), 16, logits.data());
    for (int i = 0; i < 7; ++i) {
      const int pos = 8 + i;
      const int am = log_softmax(&logits[static_cast<size_t>(pos) * nm.V], nm.V, exact.data());
      const auto row = r.decode_row(c * 7 + i, dec.data());
      EXPECT_EQ(row.argmax, am);
      EXPECT_NEAR(row.nll, -exact[chunk[pos + 1]], 1e-5);
      double hi = -1e300;
      for (double v : exact) hi = std::max(hi, v);
      for (int j = 0; j < nm.V; ++j) {
        if (exact[j] < hi - 64) {
          EXPECT_GE(dec[j], hi - 64 - 1e-3);  // below the code range: read as its floor
          continue;
        }
        worst = std::max(worst, std::fabs(dec[j] - exact[j]));
      }
    }
  }
  // step = (range <= 64) / 65535; half a step plus the renormalization shift.
  EXPECT_LT(worst, 64.0 / 65535 / 2 * 1.5);
  EXPECT_GT(worst, 0.0);
}

TEST(LogprobFile, SelfKlOfARichDistributionIsTiny) {
  test::TempDir dir("lowbit-lplp");
  const std::string path = dir.file("noise.lplp");
  NoiseModel nm;
  nm.V = 1000;
  const auto tokens = evaltest::ramp_tokens(96, nm.V);
  {
    LogprobWriter w(path);
    evaluate_perplexity(nm.forward(), nm.V, tokens, opts(32), &w);
  }
  const LogprobReader r = LogprobReader::open(path);
  const EvalResult res = evaluate_perplexity(nm.forward(), nm.V, tokens, opts(32), nullptr, &r);
  ASSERT_TRUE(res.kl);
  // KL ~ Var_p(decoding error) / 2 <= (step/2)^2 / 2 = 1.2e-7 at step 64/65535.
  EXPECT_LT(res.kl->max, 1.5e-7);
  EXPECT_LT(res.kl->mean, 1e-7);
  EXPECT_DOUBLE_EQ(res.kl->top1_pct, 100.0);
  // A different model is seen as different.
  NoiseModel other = nm;
  other.salt = 12345;
  const EvalResult diff = evaluate_perplexity(other.forward(), other.V, tokens, opts(32), nullptr, &r);
  EXPECT_GT(diff.kl->mean, 1.0);
  EXPECT_LT(diff.kl->top1_pct, 50.0);
}

TEST(LogprobFile, NothingIsLeftWhenTheEvaluationFails) {
  test::TempDir dir("lowbit-lplp");
  const std::string path = dir.file("base.lplp");
  evaltest::FakeModel m;
  auto inner = m.forward();
  int calls = 0;
  auto failing = [&](const int32_t* t, int n, float* logits) {
    if (++calls == 2) throw Error("", "simulated failure");
    inner(t, n, logits);
  };
  {
    LogprobWriter w(path);
    EXPECT_THROW(evaluate_perplexity(failing, m.V, evaltest::ramp_tokens(40, m.V), opts(4), &w), Error);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(LogprobFile, WriterMisuse) {
  test::TempDir dir("lowbit-lplp");
  LogprobWriter w(dir.file("x.lplp"));
  EXPECT_THROW(w.commit(), Error);
  LogprobHeader h;
  h.n_vocab = 4;
  h.ctx = 2;
  h.n_chunks = 1;
  h.n_scored_per_chunk = 1;
  h.tokens = {1, 2};
  w.begin(h);
  EXPECT_THROW(w.begin(h), Error);
  EXPECT_THROW(w.commit(), Error);  // no rows yet
  std::vector<uint8_t> rows(2 * w.row_bytes());
  EXPECT_THROW(w.write_rows(rows.data(), 2), Error);
}

TEST(LogprobFile, CorruptFilesGiveAnErrorNamingTheFile) {
  SmallFile f;
  const std::string good = slurp(f.path);
  const std::string bad_path = f.dir.file("bad.lplp");
  struct Case {
    const char* what;
    std::function<void(std::string&)> mutate;
  };
  const std::vector<Case> cases = {
      {"empty", [](std::string& s) { s.clear(); }},
      {"truncated header", [](std::string& s) { s.resize(30); }},
      {"wrong magic", [](std::string& s) { s[0] = 'X'; }},
      {"a GGUF file", [](std::string& s) { std::memcpy(&s[0], "GGUF\3\0\0\0", 8); }},
      {"version 2", [](std::string& s) { poke<uint32_t>(s, 8, 2); }},
      {"header size", [](std::string& s) { poke<uint32_t>(s, 12, 128); }},
      {"vocab 0", [](std::string& s) { poke<uint32_t>(s, 16, 0); }},
      {"vocab huge", [](std::string& s) { poke<uint32_t>(s, 16, 0xFFFFFFFFu); }},
      {"vocab mismatch with row size", [](std::string& s) { poke<uint32_t>(s, 16, 9); }},
      {"ctx 1", [](std::string& s) { poke<uint32_t>(s, 20, 1); }},
      {"ctx huge", [](std::string& s) { poke<uint32_t>(s, 20, 0xFFFFFFF0u); }},
      {"chunks 0", [](std::string& s) { poke<uint32_t>(s, 24, 0); }},
      {"chunks huge", [](std::string& s) { poke<uint32_t>(s, 24, 0x7FFFFFFFu); }},
      {"chunks + 1", [](std::string& s) { poke<uint32_t>(s, 24, 4); }},
      {"unknown protocol", [](std::string& s) { poke<uint32_t>(s, 28, 7); }},
      {"protocol changed", [](std::string& s) { poke<uint32_t>(s, 28, 1); }},
      {"first scored", [](std::string& s) { poke<uint32_t>(s, 32, 1); }},
      {"scored per chunk", [](std::string& s) { poke<uint32_t>(s, 36, 4); }},
      {"bos out of range", [](std::string& s) { poke<int32_t>(s, 40, 8); }},
      {"row bytes", [](std::string& s) { poke<uint32_t>(s, 44, 33); }},
      {"token count", [](std::string& s) { poke<uint64_t>(s, 48, 13); }},
      {"token count overflow", [](std::string& s) { poke<uint64_t>(s, 48, ~0ull / 2); }},
      {"row count", [](std::string& s) { poke<uint64_t>(s, 56, 10); }},
      {"row count overflow", [](std::string& s) { poke<uint64_t>(s, 56, ~0ull); }},
      {"token outside the vocabulary", [](std::string& s) { poke<int32_t>(s, 64 + 4 * 5, 8); }},
      {"negative token", [](std::string& s) { poke<int32_t>(s, 64 + 4 * 5, -1); }},
      {"truncated by one byte", [](std::string& s) { s.pop_back(); }},
      {"truncated in the tokens", [](std::string& s) { s.resize(64 + 20); }},
      {"one extra byte", [](std::string& s) { s.push_back('\0'); }},
  };
  for (const Case& c : cases) {
    std::string b = good;
    c.mutate(b);
    test::write_bytes(bad_path, b);
    expect_error_naming(bad_path, [&] { LogprobReader::open(bad_path); }, c.what);
  }
  expect_error_naming(f.dir.file("missing.lplp"), [&] { LogprobReader::open(f.dir.file("missing.lplp")); },
                      "missing file");
  expect_error_naming(f.dir.path(), [&] { LogprobReader::open(f.dir.path()); }, "a directory");
}

TEST(LogprobFile, CorruptRowsGiveAnErrorNamingTheFile) {
  SmallFile f;
  const std::string good = slurp(f.path);
  const std::string bad_path = f.dir.file("bad.lplp");
  const size_t row0 = 64 + 12 * 4, row5 = row0 + 5 * 32;
  const std::vector<std::pair<const char*, std::function<void(std::string&)>>> cases = {
      {"NaN step", [&](std::string& s) { poke<float>(s, row5 + 12, std::nanf("")); }},
      {"negative step", [&](std::string& s) { poke<float>(s, row5 + 12, -1.0f); }},
      {"infinite lo", [&](std::string& s) { poke<float>(s, row0 + 8, -INFINITY); }},
      {"overflowing range", [&](std::string& s) { poke<float>(s, row5 + 12, 3e38f); }},
      {"NaN nll", [&](std::string& s) { poke<float>(s, row5, std::nanf("")); }},
      {"negative nll", [&](std::string& s) { poke<float>(s, row5, -1.0f); }},
      {"argmax out of range", [&](std::string& s) { poke<int32_t>(s, row5 + 4, 8); }},
  };
  for (const auto& [what, mutate] : cases) {
    std::string b = good;
    mutate(b);
    test::write_bytes(bad_path, b);
    const LogprobReader r = LogprobReader::open(bad_path);  // the header is fine
    expect_error_naming(bad_path, [&] { evaluate_perplexity(f.m.forward(), f.m.V, f.tokens, opts(4), nullptr, &r); },
                        what);
  }
}

TEST(LogprobFile, MismatchedTextOrSettingsGiveAnErrorNamingTheFile) {
  SmallFile f;
  const LogprobReader r = LogprobReader::open(f.path);
  // The same run matches.
  EXPECT_NO_THROW(evaluate_perplexity(f.m.forward(), f.m.V, f.tokens, opts(4), nullptr, &r));
  // Extra text past the evaluated chunks does not matter.
  auto longer = evaltest::ramp_tokens(15, 8);
  EXPECT_NO_THROW(evaluate_perplexity(f.m.forward(), f.m.V, longer, opts(4, PplProtocol::HF, 3), nullptr, &r));

  auto other_text = f.tokens;
  other_text[6] = 0;
  expect_error_naming(f.path, [&] { evaluate_perplexity(f.m.forward(), f.m.V, other_text, opts(4), nullptr, &r); },
                      "other tokens");
  expect_error_naming(f.path, [&] { evaluate_perplexity(f.m.forward(), f.m.V, f.tokens, opts(3), nullptr, &r); },
                      "other ctx");
  expect_error_naming(f.path,
                      [&] { evaluate_perplexity(f.m.forward(), f.m.V, f.tokens, opts(4, PplProtocol::HF, 2), nullptr, &r); },
                      "fewer chunks");
  expect_error_naming(
      f.path, [&] { evaluate_perplexity(f.m.forward(), f.m.V, f.tokens, opts(4, PplProtocol::LlamaCpp), nullptr, &r); },
      "other protocol");
  evaltest::FakeModel bigger;
  bigger.V = 9;
  expect_error_naming(f.path, [&] { evaluate_perplexity(bigger.forward(), 9, f.tokens, opts(4), nullptr, &r); },
                      "other vocabulary");
}
