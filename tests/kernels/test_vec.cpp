// The per-ISA forward-pass primitives against their scalar references: f32 dot / axpy
// (kernels/vec.h), and the activation quantizer (kernels/act_q8.h), which must give identical
// bytes on every ISA, including exact halves (roundf rounds them away from zero).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/act_q8.h"
#include "kernels/cpu_features.h"
#include "kernels/vec.h"

namespace lowbit {
namespace {

std::vector<float> rows_of(const std::string& kind, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (kind == "normal") v[i] = nd(rng);
    else if (kind == "zeros") v[i] = 0.0f;
    else if (kind == "constant") v[i] = 0.3f;
    else if (kind == "one_huge") v[i] = i % 97 == 5 ? 1e30f : nd(rng);
    else if (kind == "tiny") v[i] = 1e-40f * static_cast<float>(i % 7 - 3);  // subnormals
    else {
      // Halves: with 127.0 in every block, d = 1 and x * (1/d) = x exactly.
      const float halves[] = {127.0f, 0.5f, -0.5f, 1.5f, -2.5f, 0.49999997f, -0.49999997f, 126.5f};
      v[i] = halves[i % 8];
    }
  }
  return v;
}

TEST(ActQ8, EveryIsaGivesTheScalarBytes) {
  int n_checked = 0;
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa()) continue;
    for (const char* kind : {"normal", "zeros", "constant", "one_huge", "tiny", "halves"})
      for (int64_t m : {1, 3}) {
        const int64_t k = 32 * 9;
        const auto x = rows_of(kind, m * k, 1);
        ActQ8 want, got;
        quantize_act_q8(x.data(), m, k, want, Isa::Ref);
        quantize_act_q8(x.data(), m, k, got, isa);
        const size_t nb = static_cast<size_t>(m * k / 32);
        ASSERT_EQ(std::vector<int8_t>(got.qs.begin(), got.qs.begin() + m * k),
                  std::vector<int8_t>(want.qs.begin(), want.qs.begin() + m * k)) << kind << " " << isa_name(isa);
        for (size_t b = 0; b < nb; ++b) {
          ASSERT_EQ(got.d[b], want.d[b]) << kind << " block " << b;
          ASSERT_EQ(got.sum[b], want.sum[b]) << kind << " block " << b;
          ASSERT_EQ(got.sum16[2 * b], want.sum16[2 * b]) << kind << " block " << b;
          ASSERT_EQ(got.sum16[2 * b + 1], want.sum16[2 * b + 1]) << kind << " block " << b;
        }
        ++n_checked;
      }
  }
  if (n_checked == 0) GTEST_SKIP() << "scalar only on this machine";
}

TEST(ActQ8, HalvesRoundAwayFromZero) {
  const auto x = rows_of("halves", 32, 0);
  ActQ8 a;
  quantize_act_q8(x.data(), 1, 32, a);
  EXPECT_EQ(a.d[0], 1.0f);
  const int8_t want[] = {127, 1, -1, 2, -3, 0, 0, 127};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(a.qs[j], want[j]) << "element " << j;
}

TEST(VecOps, MatchTheScalarReference) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa()) continue;
    const VecOps& v = vec_ops(isa);
    for (int64_t n : {1, 7, 8, 31, 64, 100, 128, 257}) {
      for (const char* kind : {"normal", "zeros", "constant", "tiny"}) {
        const auto x = rows_of(kind, n, 2), y = rows_of("normal", n, 3);
        double mag = 0;
        for (int64_t i = 0; i < n; ++i) mag += std::fabs(static_cast<double>(x[i]) * y[i]);
        EXPECT_NEAR(v.dot(x.data(), y.data(), n), ref::dot_f32(x.data(), y.data(), n), 1e-5 * mag + 1e-30)
            << isa_name(isa) << " " << kind << " n=" << n;
        auto y1 = y, y2 = y;
        v.axpy(0.75f, x.data(), y1.data(), n);
        ref::axpy_f32(0.75f, x.data(), y2.data(), n);
        for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(y1[i], y2[i], 1e-6f * (std::fabs(y2[i]) + 1.0f));
      }
    }
  }
}

}  // namespace
}  // namespace lowbit
