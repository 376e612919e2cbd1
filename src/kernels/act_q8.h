// Activations quantized for the repacked integer kernels (kernels/repack.h): per row, per
// 32-element block, int8 codes, the fp16-rounded scale and the code sum. The codes and the
// scale are exactly ggml's Q8_0 (quantize_row_q8_0_ref: d = amax/127, q = round(x/d)), so a
// repacked kernel computes the same integer sums as the per-row Q8_0 dot kernels; the sum lets
// kernels that feed unsigned weight codes to u8 x s8 instructions (VNNI vpdpbusd) subtract
// the code offset afterwards: sum_j (u_j - off) a_j = sum_j u_j a_j - off * sum_j a_j.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu_features.h"

namespace lowbit {

struct ActQ8 {
  int64_t n_rows = 0, n_cols = 0;  // n_cols: a multiple of 32
  std::vector<int8_t> qs;          // [n_rows * n_cols]
  std::vector<float> d;            // [n_rows * n_cols / 32]
  std::vector<int32_t> sum;        // [n_rows * n_cols / 32]
  std::vector<int32_t> sum16;      // [n_rows * n_cols / 16]: sums of each half block (Q6_K's
                                   // 16-element sub-blocks have an offset of their own)

  int64_t n_blocks() const { return n_cols / 32; }
  const int8_t* row_qs(int64_t r) const { return qs.data() + r * n_cols; }
  const float* row_d(int64_t r) const { return d.data() + r * n_blocks(); }
  const int32_t* row_sum(int64_t r) const { return sum.data() + r * n_blocks(); }
  const int32_t* row_sum16(int64_t r) const { return sum16.data() + r * 2 * n_blocks(); }
};

// Quantizes x [m x k] into a (reusing its storage; no allocation once it is large enough).
// isa: the implementation (all give identical bytes); default the active one.
void quantize_act_q8(const float* x, int64_t m, int64_t k, ActQ8& a, Isa isa);
inline void quantize_act_q8(const float* x, int64_t m, int64_t k, ActQ8& a) { quantize_act_q8(x, m, k, a, active_isa()); }

}  // namespace lowbit
