// Registry entries of the group-quantized integer rows (blocks_group.h): bits 2, 3, 4, 8 x
// groups of 32, 64, 128. These are lowbit's runtime layout for GPTQ / AWQ / HQQ /
// compressed-tensors linears, not GGUF types (ids from 1000; is_ggml_type() is false).
//
// The reference quantizer is plain asymmetric min-max rounding per group (GPTQ's RTN with
// the range widened to include 0). It exists so the registry-driven tests and `--to` paths
// can exercise the format; the real values come from the algorithms and are repacked.
#include <algorithm>
#include <cmath>

#include "core/convert.h"
#include "formats/blocks_group.h"
#include "formats/families.h"

namespace lowbit {
namespace {

using namespace group_int;

template <int Bits, int Group>
bool quantize_group_row(const float* x, void* dst, int64_t n, const float* /*importance*/) {
  constexpr int kMaxQ = (1 << Bits) - 1;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < n / Group; ++g, x += Group, out += block_bytes(Bits, Group)) {
    float lo = 0.0f, hi = 0.0f;
    for (int j = 0; j < Group; ++j) {
      if (!std::isfinite(x[j])) return false;
      lo = std::min(lo, x[j]);
      hi = std::max(hi, x[j]);
    }
    float scale = (hi - lo) / kMaxQ;
    if (scale == 0.0f) scale = 1.0f;
    // A range too small for fp16 gets the smallest subnormal step (its values round to the
    // zero point); one too large for fp16 cannot be stored.
    uint16_t d16 = f32_to_f16(scale);
    if (d16 == 0) d16 = 1;
    const float d = f16_to_f32(d16);
    if (!std::isfinite(d)) return false;
    const float z = std::clamp(std::nearbyint(-lo / d), 0.0f, static_cast<float>(kMaxQ));
    const uint16_t z16 = f32_to_f16(z);
    std::memcpy(out, &d16, 2);
    std::memcpy(out + 2, &z16, 2);
    uint8_t q[kSubElems];
    for (int s = 0; s < Group / kSubElems; ++s) {
      for (int j = 0; j < kSubElems; ++j)
        q[j] = static_cast<uint8_t>(std::clamp(std::nearbyint(x[s * kSubElems + j] / d) + z, 0.0f,
                                               static_cast<float>(kMaxQ)));
      pack_sub_block(Bits, q, out + kHeaderBytes + s * sub_block_bytes(Bits));
    }
  }
  return true;
}

template <int Bits, int Group>
void dequantize_group_row(const void* src, float* y, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t g = 0; g < n / Group; ++g, in += block_bytes(Bits, Group)) {
    const float d = f16_to_f32(header_d(in)), z = f16_to_f32(header_z(in));
    uint8_t q[kSubElems];
    for (int s = 0; s < Group / kSubElems; ++s, y += kSubElems) {
      unpack_sub_block(Bits, in + kHeaderBytes + s * sub_block_bytes(Bits), q);
      // The same expression as QuantizedLinear::dequant, so a repack decodes bit-identically.
      for (int j = 0; j < kSubElems; ++j) y[j] = d * (static_cast<float>(q[j]) - z);
    }
  }
}

template <int Bits, int Group>
constexpr FormatTraits entry(FormatId id, std::string_view name, float rel_rmse) {
  return {id, name, Group, block_bytes(Bits, Group), quantize_group_row<Bits, Group>,
          dequantize_group_row<Bits, Group>, false, false, rel_rmse};
}

// test_rel_rmse: 1.3-1.7x the relative RMS error of the min-max quantizer on N(0,1) rows
// (measured: GQ2_128 0.50, GQ3_128 0.22, GQ4_32 0.081, GQ4_128 0.10, GQ8_128 0.0059).
constexpr FormatTraits kGroup[] = {
    entry<2, 32>(FormatId::GQ2_32, "GQ2_32", 0.55f),   entry<2, 64>(FormatId::GQ2_64, "GQ2_64", 0.6f),
    entry<2, 128>(FormatId::GQ2_128, "GQ2_128", 0.65f), entry<3, 32>(FormatId::GQ3_32, "GQ3_32", 0.25f),
    entry<3, 64>(FormatId::GQ3_64, "GQ3_64", 0.28f),   entry<3, 128>(FormatId::GQ3_128, "GQ3_128", 0.3f),
    entry<4, 32>(FormatId::GQ4_32, "GQ4_32", 0.12f),   entry<4, 64>(FormatId::GQ4_64, "GQ4_64", 0.13f),
    entry<4, 128>(FormatId::GQ4_128, "GQ4_128", 0.15f), entry<8, 32>(FormatId::GQ8_32, "GQ8_32", 0.008f),
    entry<8, 64>(FormatId::GQ8_64, "GQ8_64", 0.009f),  entry<8, 128>(FormatId::GQ8_128, "GQ8_128", 0.01f),
};

}  // namespace

std::span<const FormatTraits> group_int_formats() { return kGroup; }

FormatId group_int_format(int bits, int group) {
  const int b = bits == 2 ? 0 : bits == 3 ? 1 : bits == 4 ? 2 : bits == 8 ? 3 : -1;
  const int g = group == 32 ? 0 : group == 64 ? 1 : group == 128 ? 2 : -1;
  if (b < 0 || g < 0) return FormatId::F32;
  return static_cast<FormatId>(static_cast<uint32_t>(FormatId::GQ2_32) + 3 * b + g);
}

}  // namespace lowbit
