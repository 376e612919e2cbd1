// The scale searches of ggml's reference quantizers (ggml-quants.c; ../shared/specs/gguf.md §5),
// reimplemented so lowbit's GGUF blocks are byte-identical to llama.cpp's. The order of
// floating-point operations matters for exactness: keep it as the spec describes.
#pragma once
#include <cstdint>

namespace lowbit::ggml {

// Round half to even via the 1.5*2^23 trick (valid for |x| <= 4194303), as ggml does.
int nearest_int(float fval);

// Symmetric: codes in [-nmax, nmax-1], stored in L as code + nmax. Returns the scale.
// rmse_type: 0 plain, 1 weights x^2, 2 weights 1, 3 |x|, 4 sqrt|x|; qw overrides when given.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);
float make_q3_quants(int n, int nmax, const float* x, int8_t* L, bool do_rmse);
// Asymmetric x ~ s*L - m with L in [0, nmax]; *the_min receives m (>= 0).
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);
float make_qkx3_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad);
// Non-negative values (sub-block scales/mins) to codes in [0, nmax].
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights);

}  // namespace lowbit::ggml
