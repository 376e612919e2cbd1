// pack_exact_gguf (quant/gguf_exact.h): a QuantizedLinear's codes and fp16 scales written
// as legacy GGUF blocks, byte for byte as ggml lays them out (formats/blocks_legacy.h).
#include <cstring>

#include "core/convert.h"
#include "core/error.h"
#include "formats/blocks_legacy.h"
#include "quant/gguf_exact.h"

namespace lowbit {
namespace {

constexpr int64_t kBlock = legacy::kBlockElems;
constexpr int64_t kHalf = kBlock / 2;

// The stored code of element j: the code itself for Q4_1 / Q5_1 (d * q + m), else
// code - zero plus the type's offset (Q4_0: d * (q - 8), Q5_0: d * (q - 16), Q8_0: d * q as
// int8), which is the code itself for a symmetric checkpoint of the type's width.
struct StoredCodes {
  int offset;    // added to code - zero; -1: store the code itself
  int min, max;  // the type's range of stored codes

  static StoredCodes of(FormatId type) {
    switch (type) {
      case FormatId::Q4_0: return {8, 0, 15};
      case FormatId::Q5_0: return {16, 0, 31};
      case FormatId::Q8_0: return {0, -128, 127};
      case FormatId::Q4_1: return {-1, 0, 15};
      case FormatId::Q5_1: return {-1, 0, 31};
      default: fail("", std::string(format(type).name) + " is not a type a quantized linear packs into exactly");
    }
  }
};

// The low 4 bits of element j and j + 16 share qs[j]; Q5's fifth bits go to qh bits j and
// j + 16 (a little-endian u32).
void pack_nibbles(const int* v, uint8_t* qs, uint32_t& qh) {
  qh = 0;
  for (int64_t j = 0; j < kHalf; ++j) {
    qs[j] = static_cast<uint8_t>((v[j] & 0x0F) | ((v[j + kHalf] & 0x0F) << 4));
    qh |= static_cast<uint32_t>((v[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((v[j + kHalf] >> 4) & 1) << (j + kHalf);
  }
}

void write_block(FormatId type, const int* v, uint16_t d, uint16_t m, uint8_t* dst) {
  uint8_t qs[kHalf];
  uint32_t qh = 0;
  if (type != FormatId::Q8_0) pack_nibbles(v, qs, qh);
  switch (type) {
    case FormatId::Q4_0: {
      legacy::BlockQ4_0 b{d, {}};
      std::memcpy(b.qs, qs, sizeof qs);
      std::memcpy(dst, &b, sizeof b);
      return;
    }
    case FormatId::Q4_1: {
      legacy::BlockQ4_1 b{d, m, {}};
      std::memcpy(b.qs, qs, sizeof qs);
      std::memcpy(dst, &b, sizeof b);
      return;
    }
    case FormatId::Q5_0: {
      legacy::BlockQ5_0 b{d, {}, {}};
      std::memcpy(b.qh, &qh, sizeof qh);
      std::memcpy(b.qs, qs, sizeof qs);
      std::memcpy(dst, &b, sizeof b);
      return;
    }
    case FormatId::Q5_1: {
      legacy::BlockQ5_1 b{d, m, {}, {}};
      std::memcpy(b.qh, &qh, sizeof qh);
      std::memcpy(b.qs, qs, sizeof qs);
      std::memcpy(dst, &b, sizeof b);
      return;
    }
    default: {  // Q8_0
      legacy::BlockQ8_0 b{d, {}};
      for (int64_t j = 0; j < kBlock; ++j) b.qs[j] = static_cast<int8_t>(v[j]);
      std::memcpy(dst, &b, sizeof b);
      return;
    }
  }
}

}  // namespace

std::vector<uint8_t> pack_exact_gguf(const QuantizedLinear& q, FormatId type) {
  const StoredCodes sc = StoredCodes::of(type);
  const FormatTraits& f = format(type);
  if (q.n_in % kBlock != 0) fail("", "n_in " + std::to_string(q.n_in) + " is not a multiple of 32");
  const size_t row_bytes = f.row_bytes(q.n_in);
  std::vector<uint8_t> out(row_bytes * static_cast<size_t>(q.n_out));
  const int64_t ng = q.n_groups();
  int v[kBlock];
  for (int64_t o = 0; o < q.n_out; ++o)
    for (int64_t b = 0; b < q.n_in / kBlock; ++b) {
      const int64_t g = q.group_of(b * kBlock);
      const float s = q.scales[o * ng + g], z = q.zeros[o * ng + g];
      const uint8_t* c = q.codes.data() + o * q.n_in + b * kBlock;
      for (int64_t j = 0; j < kBlock; ++j) {
        v[j] = sc.offset < 0 ? c[j] : c[j] - static_cast<int>(z) + sc.offset;
        if (v[j] < sc.min || v[j] > sc.max)
          fail("", "row " + std::to_string(o) + ": code " + std::to_string(c[j]) + " does not fit " +
                       std::string(f.name));
      }
      write_block(type, v, f32_to_f16(s), f32_to_f16(-(s * z)), out.data() + static_cast<size_t>(o) * row_bytes +
                                                                    static_cast<size_t>(b) * f.block_bytes);
    }
  return out;
}

}  // namespace lowbit
