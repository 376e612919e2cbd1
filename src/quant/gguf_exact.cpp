#include "quant/gguf_exact.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "core/convert.h"
#include "formats/blocks_legacy.h"

namespace lowbit {
namespace {

constexpr int64_t kBlock = legacy::kBlockElems;  // columns per legacy GGUF block

// The same 32 bits after float -> f16 -> float (so NaN payloads and -0 count too).
bool is_f16_value(float x) {
  return std::bit_cast<uint32_t>(f16_to_f32(f32_to_f16(x))) == std::bit_cast<uint32_t>(x);
}

// Symmetric checkpoints store zero = 2^(bits-1) (GPTQ's convention, quantized_linear.h),
// the same offset Q4_0 (8), Q5_0 (16) and Q8_0 (128) subtract.
float sym_zero(int bits) { return static_cast<float>(1 << (bits - 1)); }

struct LegacyPair {
  FormatId sym, asym;
  bool has_asym;
};

bool legacy_pair(int bits, LegacyPair& p) {
  switch (bits) {
    case 4: p = {FormatId::Q4_0, FormatId::Q4_1, true}; return true;
    case 5: p = {FormatId::Q5_0, FormatId::Q5_1, true}; return true;
    case 8: p = {FormatId::Q8_0, FormatId::Q8_0, false}; return true;  // ggml has no 8-bit type with a min
    default: return false;
  }
}

bool g_idx_trivial(const QuantizedLinear& q) {
  for (size_t i = 0; i < q.g_idx.size(); ++i)
    if (q.g_idx[i] != static_cast<int32_t>(static_cast<int64_t>(i) / q.group_size)) return false;
  return true;
}

// "" if each 32-column block reads one group's scale and zero, else why not.
std::string block_group_problem(const QuantizedLinear& q) {
  if (q.n_in % kBlock != 0) return fmt::format("n_in {} is not a multiple of 32 (the columns of one GGUF block)", q.n_in);
  const bool trivial = g_idx_trivial(q);
  for (int64_t b = 0; b < q.n_in / kBlock; ++b) {
    const int32_t g0 = q.group_of(b * kBlock);
    for (int64_t j = 1; j < kBlock; ++j) {
      const int32_t g = q.group_of(b * kBlock + j);
      if (g == g0) continue;
      if (trivial) return fmt::format("group size {} is not a multiple of 32, so a 32-column block spans two groups", q.group_size);
      return fmt::format("act-order g_idx puts columns {} and {} of one 32-column block in groups {} and {}", b * kBlock,
                         b * kBlock + j, g0, g);
    }
  }
  return "";
}

}  // namespace

std::string non_finite_parameter(const QuantizedLinear& q) {
  const int64_t ng = q.n_groups();
  for (int64_t o = 0; o < q.n_out; ++o)
    for (int64_t g = 0; g < ng; ++g) {
      const float s = q.scales[o * ng + g], z = q.zeros[o * ng + g];
      if (!std::isfinite(s)) return fmt::format("scale of row {}, group {} is {}", o, g, s);
      if (!std::isfinite(z)) return fmt::format("zero point of row {}, group {} is {}", o, g, z);
    }
  return "";
}

namespace {

// Same width: the checkpoint's codes stored as they are (sym -> Q4_0/Q5_0/Q8_0, asym ->
// Q4_1/Q5_1 when the min is exact). Scales are known to be fp16 values here.
void decide_same_width(const QuantizedLinear& q, ExactGgufType& r) {
  LegacyPair pair{};
  if (!legacy_pair(q.bits, pair)) {
    r.why_not = fmt::format("{}-bit codes: GGUF's 32-column types hold 4, 5 or 8 bits", q.bits);
    return;
  }
  const int64_t ng = q.n_groups();
  const float z_sym = sym_zero(q.bits);
  int64_t first_asym = -1;  // index into scales/zeros of the first zero that is not z_sym
  for (int64_t i = 0; i < q.n_out * ng && first_asym < 0; ++i)
    if (q.zeros[i] != z_sym) first_asym = i;
  if (first_asym < 0) {
    r.exact = true;
    r.type = pair.sym;
    return;
  }
  const std::string zero_note = fmt::format("zero point {} (row {}, group {}) is not {}", q.zeros[first_asym],
                                            first_asym / ng, first_asym % ng, z_sym);
  if (!pair.has_asym) {
    r.why_not = zero_note + "; Q8_0 has no zero point";
    return;
  }
  // Q4_1 / Q5_1 decode d * q + m (formats/legacy_quants.cpp). d = scale is exact, so d * q
  // is exact in f32 and each code rounds once; compare with the checkpoint's
  // scale * (q - zero) for every code, which also catches non-integer zeros.
  const std::string asym_name(format(pair.asym).name);
  const int n_codes = 1 << q.bits;
  for (int64_t i = 0; i < q.n_out * ng; ++i) {
    const float s = q.scales[i], z = q.zeros[i];
    const float m = -(s * z);
    if (!is_f16_value(m)) {
      const std::string where = i == first_asym ? "" : fmt::format(" (row {}, group {})", i / ng, i % ng);
      r.why_not = fmt::format("{}, and {}'s min -scale*zero = {}{} is not an fp16 value", zero_note, asym_name, m, where);
      return;
    }
    for (int c = 0; c < n_codes; ++c) {
      const float want = s * (static_cast<float>(c) - z), got = static_cast<float>(c) * s + m;
      if (want != got) {  // == so that -0 and +0 count as the same weight
        r.why_not = fmt::format("{}, and {}'s d*q + m differs from scale*(q - zero) at q = {} (row {}, group {})",
                                zero_note, asym_name, c, i / ng, i % ng);
        return;
      }
    }
  }
  r.exact = true;
  r.type = pair.asym;
}

// Wider: with integer zeros, code - zero is a small integer k and scale * k is exactly what
// Q4_0 / Q5_0 / Q8_0 decode from the stored code k + offset (d * (q - offset)), so the
// smallest of them whose range holds every k holds the linear exactly, at more bits.
void decide_wider(const QuantizedLinear& q, ExactGgufType& r) {
  const int64_t ng = q.n_groups();
  for (int64_t i = 0; i < q.n_out * ng; ++i)
    if (q.zeros[i] != std::nearbyint(q.zeros[i])) {
      r.why_not_wide = fmt::format("zero point {} (row {}, group {}) is not an integer", q.zeros[i], i / ng, i % ng);
      return;
    }
  int lo = 0, hi = 0;  // range of code - zero over every element
  for (int64_t o = 0; o < q.n_out; ++o)
    for (int64_t i = 0; i < q.n_in; ++i) {
      const int k = static_cast<int>(q.codes[o * q.n_in + i]) - static_cast<int>(q.zeros[o * ng + q.group_of(i)]);
      lo = std::min(lo, k);
      hi = std::max(hi, k);
    }
  for (const auto& [type, bits] : {std::pair{FormatId::Q4_0, 4}, {FormatId::Q5_0, 5}, {FormatId::Q8_0, 8}}) {
    const int offset = 1 << (bits - 1);
    if (bits < q.bits || lo < -offset || hi > offset - 1) continue;
    r.widens = true;
    r.wide_type = type;
    return;
  }
  r.why_not_wide = fmt::format("code - zero spans {}..{}, beyond Q8_0's -128..127", lo, hi);
}

}  // namespace

ExactGgufType exact_gguf_type(const QuantizedLinear& q) {
  ExactGgufType r;
  auto refuse = [&](std::string why) {
    r.why_not_wide = why;
    r.why_not = std::move(why);
    return r;
  };
  if (q.bits < 1 || q.bits > 8) return refuse(fmt::format("{}-bit codes do not fit any GGUF type", q.bits));
  if (std::string p = block_group_problem(q); !p.empty()) return refuse(std::move(p));
  const int64_t ng = q.n_groups();
  for (int64_t i = 0; i < q.n_out * ng; ++i)
    if (!is_f16_value(q.scales[i]))
      return refuse(fmt::format("scale {} (row {}, group {}) is not an fp16 value", q.scales[i], i / ng, i % ng));
  decide_same_width(q, r);
  if (!r.exact) decide_wider(q, r);
  return r;
}

std::string describe_quantized_linear(const QuantizedLinear& q) {
  bool sym = true, integer_zeros = true;
  for (float z : q.zeros) {
    sym = sym && z == sym_zero(q.bits);
    integer_zeros = integer_zeros && z == std::nearbyint(z);
  }
  const bool act_order = !g_idx_trivial(q);
  std::string s = fmt::format("{}-bit {}", q.bits, sym ? "sym" : "asym");
  s += q.group_size >= q.n_in && !act_order ? " per-channel" : fmt::format(" g{}", q.group_size);
  if (act_order) s += " act-order";
  if (!integer_zeros) s += " float-zeros";
  return s;
}

std::string suggested_requantize_type(const QuantizedLinear& q) {
  if (q.n_in % 256 == 0) {  // QK_K
    static const char* kByBits[] = {"Q2_K", "Q2_K", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q8_0"};
    return kByBits[q.bits >= 0 && q.bits <= 8 ? q.bits : 8];
  }
  if (q.n_in % kBlock == 0) return q.bits <= 4 ? "Q4_1" : q.bits == 5 ? "Q5_1" : "Q8_0";
  return "F16";
}

}  // namespace lowbit
