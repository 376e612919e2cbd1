#include "kernels/act_q8.h"

#include <cmath>

#include "core/convert.h"

namespace lowbit {

void quantize_act_q8_avx512(const float* x, int64_t m, int64_t k, ActQ8& a);  // kernels/x86

void quantize_act_q8(const float* x, int64_t m, int64_t k, ActQ8& a, Isa isa) {
  a.n_rows = m;
  a.n_cols = k;
  const size_t n = static_cast<size_t>(m * k), nb = n / 32;
  if (a.qs.size() < n) a.qs.resize(n);
  if (a.d.size() < nb) a.d.resize(nb);
  if (a.sum.size() < nb) a.sum.resize(nb);
  if (a.sum16.size() < 2 * nb) a.sum16.resize(2 * nb);
  if (isa >= Isa::Avx512) {
    quantize_act_q8_avx512(x, m, k, a);
    return;
  }
  for (size_t b = 0; b < nb; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t s[2] = {0, 0};
    for (int j = 0; j < 32; ++j) {
      const int8_t q = static_cast<int8_t>(std::roundf(xb[j] * id));
      a.qs[32 * b + j] = q;
      s[j / 16] += q;
    }
    a.d[b] = f16_to_f32(f32_to_f16(d));
    a.sum16[2 * b] = s[0];
    a.sum16[2 * b + 1] = s[1];
    a.sum[b] = s[0] + s[1];
  }
}

}  // namespace lowbit
