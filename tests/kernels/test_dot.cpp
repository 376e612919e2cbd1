// Every integer dot kernel, on every ISA this machine has, against its scalar reference and
// against the exact dot product of the dequantized operands; random and adversarial rows,
// odd block counts.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "formats/registry.h"
#include "kernels/cpu_features.h"
#include "kernels/dot.h"

using namespace lowbit;

namespace {

std::vector<float> make_row(const std::string& kind, int64_t n, std::mt19937& rng) {
  std::vector<float> v(n);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::student_t_distribution<float> td(3.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (kind == "normal") v[i] = nd(rng);
    else if (kind == "zeros") v[i] = 0.0f;
    else if (kind == "constant") v[i] = 0.75f;
    else if (kind == "ramp") v[i] = -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(n);
    else if (kind == "heavy") v[i] = 0.02f * td(rng);
    else if (kind == "one_huge") v[i] = (i == n / 3) ? 1000.0f : 0.01f * nd(rng);
    else v[i] = nd(rng) * std::pow(10.0f, static_cast<float>(i % 7) - 3.0f);  // mixed scales
  }
  return v;
}

struct Case {
  FormatId weight;
  Isa isa;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (FormatId f : dot_kernel_formats())
    for (Isa isa : {Isa::Avx2, Isa::Avx512})
      if (isa <= best_isa()) cases.push_back({f, isa});
  return cases;
}

}  // namespace

class DotKernelTest : public ::testing::TestWithParam<Case> {};

TEST_P(DotKernelTest, MatchesReferenceAndExactDot) {
  const Case c = GetParam();
  const DotKernel* ref = find_dot_kernel(c.weight, Isa::Ref);
  const DotKernel* opt = find_dot_kernel(c.weight, c.isa);
  ASSERT_TRUE(ref && opt);
  const FormatTraits& wf = format(c.weight);
  const FormatTraits& af = format(ref->act);
  std::mt19937 rng(7);
  for (int64_t n_blocks : {1, 3, 8, 33}) {
    const int64_t n = n_blocks * wf.block_elems;
    for (const char* wk : {"normal", "zeros", "constant", "ramp", "heavy", "one_huge", "mixed"}) {
      for (const char* ak : {"normal", "one_huge", "mixed"}) {
        auto w = make_row(wk, n, rng), a = make_row(ak, n, rng);
        std::vector<uint8_t> wq(wf.row_bytes(n)), aq(af.row_bytes(n));
        quantize_rows(c.weight, w.data(), wq.data(), 1, n);
        quantize_rows(ref->act, a.data(), aq.data(), 1, n);
        std::vector<float> wd(n), ad(n);
        dequantize_rows(c.weight, wq.data(), wd.data(), 1, n);
        dequantize_rows(ref->act, aq.data(), ad.data(), 1, n);
        double exact = 0, mag = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += static_cast<double>(wd[i]) * ad[i];
          mag += std::fabs(static_cast<double>(wd[i]) * ad[i]);
        }
        const float r = ref->fn(n, wq.data(), aq.data());
        const float o = opt->fn(n, wq.data(), aq.data());
        const double tol = 1e-5 * mag + 1e-30;
        EXPECT_NEAR(r, exact, tol) << wk << "/" << ak << " n=" << n << " (reference)";
        EXPECT_NEAR(o, r, tol) << wk << "/" << ak << " n=" << n << " (" << isa_name(c.isa) << ")";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, DotKernelTest, ::testing::ValuesIn(all_cases()), [](const auto& info) {
  return std::string(format(info.param.weight).name) + "_" + std::string(isa_name(info.param.isa));
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(DotKernelTest);

TEST(CpuFeatures, ForcingAnIsaIsCappedByTheHardware) {
  set_active_isa(Isa::Ref);
  EXPECT_EQ(active_isa(), Isa::Ref);
  set_active_isa(Isa::Avx512);
  EXPECT_LE(active_isa(), best_isa());
}
