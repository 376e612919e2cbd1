// Row-interleaved repacking at load (the file on disk is unchanged): a weight matrix in a block
// format is rearranged so that one SIMD register holds the same 4 columns of 16 rows, which an
// integer multiply-add instruction (VNNI vpdpbusd: 16 lanes x 4 u8*s8 products) consumes
// against 4 activation bytes broadcast to all lanes. One pass over a block then yields 16 row
// sums at once, the activation block is loaded once per 16 rows instead of once per row, and a
// prompt tile of several tokens reuses the unpacked weights from registers (the idea of
// ik_llama.cpp's _R8 / llama.cpp's repack types; this layout is lowbit's own).
//
// Layout "R16" of a 32-element block format, per group of 16 rows and block k:
//   16 x fp16 scales (row r's d), then n_chunks chunks of 64 bytes; chunk c holds, for rows
//   r = 0..15, the 4 code bytes 4c..4c+3 of row r's block (bytes as the source format stores them).
//   Q4_0_R16: 4 chunks (the 16 nibble bytes; low nibble = element j, high = element j+16);
//             codes are unsigned 0..15 with offset 8.     288 bytes per 16 x 32 weights.
//   Q8_0_R16: 8 chunks of (int8 code + 128) as unsigned bytes; offset 128.  544 bytes.
// Both decode as  w = d * (u - offset)  and match ggml's Q4_0 / Q8_0 values exactly.
//
// Q4_K_R16, per group of 16 rows and 256-element super-block (2368 bytes, 148 per row):
//   16 x fp16 d, 16 x fp16 dmin, sc[8][16] and mn[8][16] (the 6-bit sub-block scales and mins,
//   unpacked to bytes, sub-block-major), then for each 64-element pair c = 0..3 eight chunks of
//   64 bytes: chunk q holds, for rows r = 0..15, bytes 32c+4q..32c+4q+3 of row r's qs (low
//   nibble: sub-block 2c, high nibble: sub-block 2c+1).  w = d*sc*q - dmin*mn, as ggml decodes.
//
// Q6_K_R16, per group of 16 rows and super-block (3360 bytes, 210 per row, as Q6_K): 16 x fp16 d,
//   sc[16][16] (int8 scales, sub-block-major), then ql chunks [half h][pair p][q = 0..7] (row r's
//   ql bytes 64h+32p+4q..+3) and qh chunks [h][q] (row r's qh bytes 32h+4q..+3). Group g of
//   half h takes the low (g < 2) or high nibble of pair g % 2 and qh bits 2g..2g+1 as bits 4..5:
//   the 6-bit code of element 128h + 32g + 4q + b.  w = d * sc * (code - 32), as ggml decodes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/huge_buffer.h"
#include "formats/registry.h"
#include "kernels/act_q8.h"
#include "kernels/cpu_features.h"

namespace lowbit {

// Byte offsets inside one repacked (16 rows, block) block, and the accessors the packers,
// decoders and kernels of every ISA share (the layouts are described above).
namespace r16 {
inline constexpr int kLegacyCodes = 32;  // after 16 fp16 d (Q4_0_R16, Q8_0_R16)
inline constexpr int kQ4KDmin = 32, kQ4KSc = 64, kQ4KMn = 192, kQ4KCodes = 320, kQ4KBytes = 320 + 4 * 512;
inline constexpr int kQ6Sc = 32, kQ6Ql = 32 + 256, kQ6Qh = 32 + 256 + 2048, kQ6Bytes = 32 + 256 + 2048 + 1024;

// The fp16 value at 16-entry table `off` for row i (d at 0; Q4_K's dmin at kQ4KDmin).
inline uint16_t row_half(const uint8_t* p, int off, int i) {
  uint16_t h;
  std::memcpy(&h, p + off + 2 * i, 2);
  return h;
}
// Q4_K: the code byte (low nibble: sub-block 2c, high: 2c+1) of row i, pair c, chunk q, byte b.
inline uint8_t q4k_byte(const uint8_t* p, int i, int c, int q, int b) {
  return p[kQ4KCodes + 512 * c + 64 * q + 4 * i + b];
}
// Q6_K: the 6-bit code of row i, half h, group g (0..3), element l (0..31).
inline int q6_code(const uint8_t* p, int i, int h, int g, int l) {
  const int q = l / 4, b = l % 4;
  const uint8_t ql = p[kQ6Ql + 1024 * h + 512 * (g % 2) + 64 * q + 4 * i + b];
  const uint8_t qh = p[kQ6Qh + 512 * h + 64 * q + 4 * i + b];
  return (g < 2 ? ql & 0x0F : ql >> 4) | (((qh >> (2 * g)) & 3) << 4);
}
}  // namespace r16

struct QMatrix;

enum class RepackKind : uint8_t { Q4_0_R16, Q8_0_R16, Q4_K_R16, Q6_K_R16 };
inline constexpr int kRepackRows = 16;

struct RepackedMatrix;

// y[t * ldy + r] = dot(activation row t, weight row r) for rows in [16*g0, 16*g1) and all
// activation rows of a; no bias.
using RepackedGemmFn = void (*)(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y,
                                int64_t ldy);

struct RepackTraits {
  RepackKind kind;
  FormatId from;        // the source block format
  int block_elems;      // columns per source block (32, or 256 for K-quants)
  int gbb;              // bytes per (16 rows, block) in the repacked layout
  int n_chunks;         // 64-byte code chunks per (16 rows, block) (32-element formats)
  int offset;           // w = d * (u - offset) (32-element formats)
  // The 16 source blocks of one column block (rows 16g..16g+15) -> gbb bytes.
  void (*pack)(const RepackTraits& t, const uint8_t* const src[kRepackRows], uint8_t* out);
  // Row i (0..15) of one repacked block -> block_elems floats, exactly the source dequantizer.
  void (*decode)(const RepackTraits& t, const uint8_t* block, int i, float* out);
  RepackedGemmFn ref;   // scalar reference (kernels/ref/gemm_r16_ref.cpp)
  RepackedGemmFn (*for_isa)(Isa);  // the best kernel up to an ISA (falls back to ref)

  int group_block_bytes() const { return gbb; }
};

struct RepackedMatrix {
  const RepackTraits* traits = nullptr;
  int64_t n_rows = 0, n_cols = 0;
  HugeBuffer bytes;  // n_rows/16 groups x n_blocks x gbb

  int64_t n_groups() const { return n_rows / kRepackRows; }
  int64_t n_blocks() const { return n_cols / traits->block_elems; }
  const uint8_t* group(int64_t g) const {
    return bytes.data() + static_cast<size_t>(g * n_blocks()) * traits->group_block_bytes();
  }
};

// The repack traits for a format, or nullptr if it has none.
const RepackTraits* find_repack(FormatId from);
// A repacked copy of m (rows a multiple of 16), or nullptr if its format has no repack or its
// shape does not fit. m is unchanged.
std::unique_ptr<RepackedMatrix> repack(const QMatrix& m);
// Row r of a repacked matrix decoded to f32 (tests, and the exactness check).
void repacked_row_f32(const RepackedMatrix& w, int64_t r, float* out);

}  // namespace lowbit
