// Row functions of the IQ family (internal to src/formats; the registry entries in
// iq_quants.cpp point at them). Signatures are the registry's QuantizeRowFn / DequantizeRowFn.
#pragma once
#include <cstdint>

namespace lowbit::iq {

// iq4_quants.cpp: the 4-bit non-linear types, quantize and dequantize.
bool quantize_row_iq4_nl(const float* x, void* dst, int64_t n_per_row, const float* importance);
bool quantize_row_iq4_xs(const float* x, void* dst, int64_t n_per_row, const float* importance);
void dequantize_row_iq4_nl(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq4_xs(const void* src, float* y, int64_t n_elems);

// iq_grid_dequant.cpp: the codebook (grid) types, dequantize only.
void dequantize_row_iq2_xxs(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq2_xs(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq2_s(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq3_xxs(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq3_s(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq1_s(const void* src, float* y, int64_t n_elems);
void dequantize_row_iq1_m(const void* src, float* y, int64_t n_elems);

}  // namespace lowbit::iq
