// What every weight-quantization algorithm (RTN, GPTQ, AWQ, HQQ, ...) returns, and what every
// checkpoint format (gptq, awq, hqq, compressed-tensors, ...) packs: integer codes, per-group
// scales and zero points. An algorithm never writes bytes; a format never chooses values.
//
// Dequantization convention (the one GPTQ, AWQ, HQQ and compressed-tensors share):
//   w[o][i] = scales[o][g] * (codes[o][i] - zeros[o][g]),   g = g_idx[i]
// Symmetric quantization stores zeros = 2^(bits-1) (GPTQ's convention) so the same formula holds.
#pragma once
#include <cstdint>
#include <vector>

namespace lowbit {

struct QuantizedLinear {
  int64_t n_out = 0;      // rows (output features)
  int64_t n_in = 0;       // columns (input features)
  int bits = 4;           // codes are in [0, 2^bits)
  int group_size = 128;   // columns per group; n_in for per-channel
  bool sym = false;
  std::vector<uint8_t> codes;  // [n_out * n_in], row-major, original column order
  std::vector<float> scales;   // [n_out * n_groups]
  std::vector<float> zeros;    // [n_out * n_groups], in code units (integer for GPTQ/AWQ, real for HQQ)
  std::vector<int32_t> g_idx;  // [n_in] group of each column (act-order); empty: i / group_size
  // For algorithms that rescale input channels (AWQ): the per-input-channel scale already
  // folded into the previous layer; empty if none. Kept for reporting, not for decoding.
  std::vector<float> input_scales;

  int64_t n_groups() const { return (n_in + group_size - 1) / group_size; }
  int32_t group_of(int64_t col) const {
    return g_idx.empty() ? static_cast<int32_t>(col / group_size) : g_idx[col];
  }
  float dequant(int64_t o, int64_t i) const {
    const int64_t g = group_of(i);
    return scales[o * n_groups() + g] * (static_cast<float>(codes[o * n_in + i]) - zeros[o * n_groups() + g]);
  }
  void dequantize(float* out) const {  // [n_out * n_in]
    for (int64_t o = 0; o < n_out; ++o)
      for (int64_t i = 0; i < n_in; ++i) out[o * n_in + i] = dequant(o, i);
  }
};

}  // namespace lowbit
