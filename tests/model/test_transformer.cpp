// End-to-end forward checks against reference logits: the bundled stories260K and the
// architecture fixtures in ../shared/models/arch-fixtures.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/transformer.h"
#include "test_util.h"

using namespace lowbit;

namespace {

struct Ref {
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  int n_vocab = 0;
};

Ref read_ref(const std::string& path, const std::string& logits_name = "logits") {
  auto f = SafetensorsFile::open(path);
  Ref r;
  const auto* t = f->find("tokens");
  const auto* l = f->find(logits_name);
  EXPECT_TRUE(t && l);
  r.tokens.assign(reinterpret_cast<const int32_t*>(t->data), reinterpret_cast<const int32_t*>(t->data) + t->shape[0]);
  r.n_vocab = static_cast<int>(l->shape[1]);
  r.logits.assign(reinterpret_cast<const float*>(l->data), reinterpret_cast<const float*>(l->data) + l->n_bytes / 4);
  return r;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST(Transformer, Stories260KLogitsBatched) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  auto w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  Ref ref = read_ref(dir + "/reference_logits.safetensors");
  ASSERT_EQ(ref.tokens.size(), 64u);
  Transformer m(w);
  std::vector<float> logits(ref.tokens.size() * ref.n_vocab);
  m.forward(ref.tokens.data(), nullptr, static_cast<int>(ref.tokens.size()), logits.data(), true);
  EXPECT_LE(max_abs_diff(logits, ref.logits), 1e-4f);
}

TEST(Transformer, Stories260KLogitsOneByOneMatchBatched) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  auto w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  Ref ref = read_ref(dir + "/reference_logits.safetensors");
  Transformer m(w, 0, /*max_batch=*/7);  // odd batch size: exercises the split path too
  std::vector<float> logits(ref.n_vocab), all;
  for (size_t i = 0; i < ref.tokens.size(); ++i) {
    m.forward(&ref.tokens[i], nullptr, 1, logits.data(), false);
    all.insert(all.end(), logits.begin(), logits.end());
  }
  EXPECT_LE(max_abs_diff(all, ref.logits), 1e-4f);
}

TEST(Transformer, ContextOverflowIsAnError) {
  const std::string dir = test::source_dir() + "/models/stories260K";
  auto w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  Transformer m(w, 4);
  std::vector<int32_t> toks{1, 2, 3, 4, 5};
  std::vector<float> logits(512);
  EXPECT_THROW(m.forward(toks.data(), nullptr, 5, logits.data(), false), Error);
  int32_t bad = 600;
  EXPECT_THROW(m.forward(&bad, nullptr, 1, logits.data(), false), Error);
}

class ArchFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(ArchFixture, MatchesReferenceLogits) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared dir not found (set LOWBIT_SHARED_DIR)";
  const std::string dir = shared + "/models/arch-fixtures/" + GetParam();
  auto w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  auto f = SafetensorsFile::open(dir + "/reference_logits.safetensors");
  Ref ref = read_ref(dir + "/reference_logits.safetensors");
  const int n = static_cast<int>(ref.tokens.size());
  std::vector<float> logits(static_cast<size_t>(n) * ref.n_vocab);
  {
    Transformer m(w);
    m.forward(ref.tokens.data(), nullptr, n, logits.data(), true);
    EXPECT_LE(max_abs_diff(logits, ref.logits), 1e-4f) << "positions 0..15";
  }
  if (f->find("logits_offset20000")) {
    Ref r2 = read_ref(dir + "/reference_logits.safetensors", "logits_offset20000");
    std::vector<int32_t> pos(n);
    for (int i = 0; i < n; ++i) pos[i] = 20000 + i;
    Transformer m(w, 64);
    m.forward(ref.tokens.data(), pos.data(), n, logits.data(), true);
    EXPECT_LE(max_abs_diff(logits, r2.logits), 1e-4f) << "offset 20000";
  }
  if (f->find("logits_pos_stride1500")) {
    Ref r3 = read_ref(dir + "/reference_logits.safetensors", "logits_pos_stride1500");
    std::vector<int32_t> pos(n);
    for (int i = 0; i < n; ++i) pos[i] = 1500 * i;
    Transformer m(w, 64);
    m.forward(ref.tokens.data(), pos.data(), n, logits.data(), true);
    EXPECT_LE(max_abs_diff(logits, r3.logits), 1e-4f) << "stride 1500";
  }
}

INSTANTIATE_TEST_SUITE_P(All, ArchFixture, ::testing::Values("llama3-rope-scaling", "qwen2", "qwen3", "mistral"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });
