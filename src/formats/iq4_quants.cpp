// IQ4_NL and IQ4_XS: 4-bit codes into the fixed non-linear table kValuesIq4nl
// (../shared/specs/gguf.md §4 and §5). The quantizer reproduces ggml's
// quantize_row_iq4_nl_impl as ggml_quantize_chunk calls it (quantize_iq4_nl / quantize_iq4_xs,
// ntry = 7, with or without importance), in the same float operation order, so blocks are
// byte-identical to llama.cpp's (checked against ../shared/golden/quants).
//
// Where ggml would store garbage (NaN or Inf scales), lowbit refuses the row (returns false):
//  - any NaN or Inf in the row or in the importance vector;
//  - a 32-block whose scale search overflows float, or a stored fp16 scale that overflows:
//    magnitudes beyond roughly 8e6 (IQ4_NL) or 2.6e8 (IQ4_XS).
// One deliberate difference: a 32-block whose importance weights are all zero (or underflow
// to a zero sum) has a 0/0 scale in ggml. ggml's IQ4_XS then stores sub-block scale 0 (its
// nearest_int maps NaN to 0), which lowbit reproduces; ggml's IQ4_NL would store a NaN
// scale, where lowbit stores 0 too (the block decodes to zeros).
#include <cmath>
#include <cstring>

#include "core/convert.h"
#include "formats/blocks_iq.h"
#include "formats/iq_rows.h"
#include "formats/iq_tables.h"

namespace lowbit::iq {
namespace {

// ggml's GROUP_MAX_EPS: a 32-block whose largest magnitude is below this is all zeros.
constexpr float kGroupMaxEps = 1e-15f;
// ggml_quantize_chunk uses ntry = 7: 15 extra inverse scales around the first guess.
constexpr int kNtry = 7;
constexpr int kSubElems = 32;

// ggml's nearest_int: round half to even via the 1.5*2^23 trick. Only fed |fval| <= ~33 here;
// a NaN gives 0 (ggml's result too), with no undefined behaviour.
int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  int32_t i;
  std::memcpy(&i, &val, sizeof(i));
  return (i & 0x007fffff) - 0x00400000;
}

// Index of the level of the sorted 16-entry table closest to x; ties go to the upper level.
// This is ggml's best_index_int8 as of llama.cpp 16cc3c60 (the goldens' version): a binary
// search, then a comparison of the two float distances. NaN gives 15 without UB.
int best_index_int8(const int8_t* val, float x) {
  constexpr int n = 16;
  if (x <= val[0]) return 0;
  if (x >= val[n - 1]) return n - 1;
  int ml = 0, mu = n - 1;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < val[mav]) mu = mav; else ml = mav;
  }
  return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

bool all_finite(const float* x, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// One super-block of super_elems (32 for IQ4_NL, 256 for IQ4_XS), as ggml's
// quantize_row_iq4_nl_impl with ntry = 7. scales_h/scales_l are only written for IQ4_XS.
// Writes the fp16 bits of the super-block scale to *dh. Returns false on float overflow.
bool quantize_superblock(const int super_elems, const float* x, const float* quant_weights, uint16_t* dh,
                         uint8_t* q4, uint16_t* scales_h, uint8_t* scales_l) {
  const int8_t* values = kValuesIq4nl;
  float scales[kSuperElems / kSubElems];
  float weight[kSubElems];
  uint8_t L[kSuperElems];
  const int n_sub = super_elems / kSubElems;

  float sigma2 = 0;
  for (int j = 0; j < super_elems; ++j) sigma2 += x[j] * x[j];
  sigma2 *= 2.f / super_elems;

  std::memset(q4, 0, super_elems / 2);
  std::memset(L, 0, sizeof(L));  // every code is recomputed below; this only keeps L defined
  *dh = f32_to_f16(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < n_sub; ++ib) {
    const float* xb = x + ib * kSubElems;
    uint8_t* Lb = L + ib * kSubElems;
    if (quant_weights) {
      const float* qw = quant_weights + ib * kSubElems;
      for (int j = 0; j < kSubElems; ++j) weight[j] = qw[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
    } else {
      for (int j = 0; j < kSubElems; ++j) weight[j] = xb[j] * xb[j];
    }
    float amax = 0, max = 0;
    for (int j = 0; j < kSubElems; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }
    // First guess: the largest-magnitude element on the table's end level values[0] = -127.
    float d = -max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < kSubElems; ++j) {
      const float al = id * xb[j];
      const int l = best_index_int8(values, al);
      Lb[j] = static_cast<uint8_t>(l);
      const float q = values[l];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    // All weights zero: ggml's d is 0/0 (see the top of the file); any other non-finite
    // value means the sums overflowed.
    const bool zero_weights = sumq2 == 0;
    d = sumqx / sumq2;
    float best = d * sumqx;
    for (int itry = -kNtry; itry <= kNtry; ++itry) {
      id = (itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < kSubElems; ++j) {
        const float al = id * xb[j];
        const int l = best_index_int8(values, al);
        const float q = values[l];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    if (!std::isfinite(d) && !zero_weights) return false;
    scales[ib] = d;
    const float abs_d = std::fabs(d);
    if (abs_d > amax_scale) {
      amax_scale = abs_d;
      max_scale = d;
    }
  }

  if (n_sub > 1) {
    // IQ4_XS: 6-bit signed sub-block scales relative to d = -max_scale/32, then every element
    // is re-quantized with its final (rounded) sub-block scale.
    *scales_h = 0;
    const float d = -max_scale / 32;
    *dh = f32_to_f16(d);
    const float id = d ? 1 / d : 0.f;
    for (int ib = 0; ib < n_sub; ++ib) {
      int l = nearest_int(id * scales[ib]);
      l = l < -32 ? -32 : (l > 31 ? 31 : l);
      const float dl = d * l;
      const float idl = dl ? 1 / dl : 0.f;
      uint8_t* Lb = L + ib * kSubElems;
      const float* xb = x + ib * kSubElems;
      for (int j = 0; j < kSubElems; ++j) Lb[j] = static_cast<uint8_t>(best_index_int8(values, idl * xb[j]));
      l += 32;
      const uint8_t l_l = l & 0xf;
      const uint8_t l_h = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) scales_l[ib / 2] = l_l;
      else scales_l[ib / 2] |= static_cast<uint8_t>(l_l << 4);
      *scales_h |= static_cast<uint16_t>(l_h << 2 * (ib % 8));
    }
  } else {
    // IQ4_NL: the scale is stored as is, and (ntry > 0) the codes are recomputed from it.
    if (std::isnan(scales[0])) scales[0] = 0;  // all-zero weights: lowbit's choice, see the top
    *dh = f32_to_f16(scales[0]);
    const float id = scales[0] ? 1 / scales[0] : 0;
    for (int j = 0; j < super_elems; ++j) L[j] = static_cast<uint8_t>(best_index_int8(values, id * x[j]));
  }

  for (int i = 0; i < super_elems / kSubElems; ++i)
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  return (*dh & 0x7c00) != 0x7c00;  // the fp16 scale is finite
}

template <class Block>
void store_block(void* dst, int64_t i, const Block& b) {
  std::memcpy(static_cast<uint8_t*>(dst) + i * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
}

template <class Block>
Block load_block(const void* src, int64_t i) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(src) + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

}  // namespace

bool quantize_row_iq4_nl(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  for (int64_t ib = 0; ib < n_per_row / kNlElems; ++ib) {
    BlockIq4nl b{};
    uint16_t unused_h = 0;
    if (!quantize_superblock(kNlElems, x + ib * kNlElems, importance ? importance + ib * kNlElems : nullptr, &b.d,
                             b.qs, &unused_h, nullptr))
      return false;
    store_block(dst, ib, b);
  }
  return true;
}

bool quantize_row_iq4_xs(const float* x, void* dst, int64_t n_per_row, const float* importance) {
  if (!all_finite(x, n_per_row) || (importance && !all_finite(importance, n_per_row))) return false;
  for (int64_t ib = 0; ib < n_per_row / kSuperElems; ++ib) {
    BlockIq4xs b{};
    if (!quantize_superblock(kSuperElems, x + ib * kSuperElems, importance ? importance + ib * kSuperElems : nullptr,
                             &b.d, b.qs, &b.scales_h, b.scales_l))
      return false;
    store_block(dst, ib, b);
  }
  return true;
}

void dequantize_row_iq4_nl(const void* src, float* y, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems / kNlElems; ++i) {
    const auto b = load_block<BlockIq4nl>(src, i);
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < kNlElems / 2; ++j) {
      y[j] = d * kValuesIq4nl[b.qs[j] & 0xf];
      y[j + kNlElems / 2] = d * kValuesIq4nl[b.qs[j] >> 4];
    }
    y += kNlElems;
  }
}

void dequantize_row_iq4_xs(const void* src, float* y, int64_t n_elems) {
  for (int64_t i = 0; i < n_elems / kSuperElems; ++i) {
    const auto b = load_block<BlockIq4xs>(src, i);
    const float d = f16_to_f32(b.d);
    const uint8_t* qs = b.qs;
    for (int ib = 0; ib < kSuperElems / 32; ++ib) {
      const int ls = ((b.scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((b.scales_h >> 2 * ib) & 3) << 4);
      const float dl = d * (ls - 32);
      for (int j = 0; j < 16; ++j) {
        y[j + 0] = dl * kValuesIq4nl[qs[j] & 0xf];
        y[j + 16] = dl * kValuesIq4nl[qs[j] >> 4];
      }
      y += 32;
      qs += 16;
    }
  }
}

}  // namespace lowbit::iq
