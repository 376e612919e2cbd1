// Dequantizers of the IQ codebook types (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M).
// Each group of 8 (or 4) elements is a grid point (a magnitude pattern from iq_tables) times
// signs times a block scale. Bit-exact with ggml's dequantize_row_iq* (ggml-quants.c): the
// float expressions below keep ggml's operand order, e.g. (db * grid) * sign.
// Every index is masked to its table's size, so any bytes decode without out-of-range reads.
#include <cstring>

#include "core/convert.h"
#include "formats/blocks_iq.h"
#include "formats/iq_rows.h"
#include "formats/iq_tables.h"

namespace lowbit::iq {
namespace {

// ggml's IQ1S_DELTA / IQ1M_DELTA (both 0.125f): the grid shift of the 1-bit types.
constexpr float kIq1Delta = 0.125f;

template <class Block>
Block load_block(const void* src, int64_t i) {
  Block b;
  std::memcpy(&b, static_cast<const uint8_t*>(src) + i * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

const uint8_t* grid_bytes(const uint64_t* grid, int index) { return reinterpret_cast<const uint8_t*>(grid + index); }
const uint8_t* grid_bytes(const uint32_t* grid, int index) { return reinterpret_cast<const uint8_t*>(grid + index); }

float sign_of(uint8_t signs, int j) { return (signs & kMaskIq2xs[j]) ? -1.f : 1.f; }

}  // namespace

void dequantize_row_iq2_xxs(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq2xxs>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib32 = 0; ib32 < kSuperElems / 32; ++ib32) {
      uint32_t aux32[2];
      std::memcpy(aux32, b.qs + 4 * ib32, sizeof(aux32));
      const uint8_t* aux8 = reinterpret_cast<const uint8_t*>(aux32);
      const float db = d * (0.5f + (aux32[1] >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l) {
        const uint8_t* grid = grid_bytes(kIq2xxsGrid, aux8[l]);
        const uint8_t signs = kSignsIq2xs[(aux32[1] >> 7 * l) & 127];
        for (int j = 0; j < 8; ++j) y[j] = db * grid[j] * sign_of(signs, j);
        y += 8;
      }
    }
  }
}

void dequantize_row_iq2_xs(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq2xs>(src, i);
    const float d = f16_to_f32(b.d);
    for (int ib32 = 0; ib32 < kSuperElems / 32; ++ib32) {
      const float db[2] = {d * (0.5f + (b.scales[ib32] & 0xf)) * 0.25f, d * (0.5f + (b.scales[ib32] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l) {
        const uint16_t q = b.qs[4 * ib32 + l];
        const uint8_t* grid = grid_bytes(kIq2xsGrid, q & 511);
        const uint8_t signs = kSignsIq2xs[q >> 9];
        for (int j = 0; j < 8; ++j) y[j] = db[l / 2] * grid[j] * sign_of(signs, j);
        y += 8;
      }
    }
  }
}

void dequantize_row_iq2_s(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq2s>(src, i);
    const float d = f16_to_f32(b.d);
    const uint8_t* qs = b.qs;
    const uint8_t* signs = b.qs + kSuperElems / 8;
    for (int ib32 = 0; ib32 < kSuperElems / 32; ++ib32) {
      const float db[2] = {d * (0.5f + (b.scales[ib32] & 0xf)) * 0.25f, d * (0.5f + (b.scales[ib32] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l) {
        const float dl = db[l / 2];
        const uint8_t* grid = grid_bytes(kIq2sGrid, qs[l] | ((b.qh[ib32] << (8 - 2 * l)) & 0x300));
        for (int j = 0; j < 8; ++j) y[j] = dl * grid[j] * sign_of(signs[l], j);
        y += 8;
      }
      qs += 4;
      signs += 4;
    }
  }
}

void dequantize_row_iq3_xxs(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq3xxs>(src, i);
    const float d = f16_to_f32(b.d);
    const uint8_t* qs = b.qs;
    const uint8_t* scales_and_signs = b.qs + kSuperElems / 4;
    for (int ib32 = 0; ib32 < kSuperElems / 32; ++ib32) {
      uint32_t aux32;
      std::memcpy(&aux32, scales_and_signs + 4 * ib32, sizeof(aux32));
      const float db = d * (0.5f + (aux32 >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l) {
        const uint8_t signs = kSignsIq2xs[(aux32 >> 7 * l) & 127];
        const uint8_t* grid1 = grid_bytes(kIq3xxsGrid, qs[2 * l + 0]);
        const uint8_t* grid2 = grid_bytes(kIq3xxsGrid, qs[2 * l + 1]);
        for (int j = 0; j < 4; ++j) {
          y[j + 0] = db * grid1[j] * sign_of(signs, j + 0);
          y[j + 4] = db * grid2[j] * sign_of(signs, j + 4);
        }
        y += 8;
      }
      qs += 8;
    }
  }
}

void dequantize_row_iq3_s(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq3s>(src, i);
    const float d = f16_to_f32(b.d);
    const uint8_t* qs = b.qs;
    const uint8_t* qh = b.qh;
    const uint8_t* signs = b.signs;
    // Two 32-element halves share one scale byte (low nibble, high nibble).
    for (int ib32 = 0; ib32 < kSuperElems / 32; ib32 += 2) {
      const float db[2] = {d * (1 + 2 * (b.scales[ib32 / 2] & 0xf)), d * (1 + 2 * (b.scales[ib32 / 2] >> 4))};
      for (int half = 0; half < 2; ++half) {
        for (int l = 0; l < 4; ++l) {
          const uint8_t* grid1 = grid_bytes(kIq3sGrid, qs[2 * l + 0] | ((qh[half] << (8 - 2 * l)) & 256));
          const uint8_t* grid2 = grid_bytes(kIq3sGrid, qs[2 * l + 1] | ((qh[half] << (7 - 2 * l)) & 256));
          for (int j = 0; j < 4; ++j) {
            y[j + 0] = db[half] * grid1[j] * sign_of(signs[l], j + 0);
            y[j + 4] = db[half] * grid2[j] * sign_of(signs[l], j + 4);
          }
          y += 8;
        }
        qs += 8;
        signs += 4;
      }
      qh += 2;
    }
  }
}

void dequantize_row_iq1_s(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq1s>(src, i);
    const float d = f16_to_f32(b.d);
    const uint8_t* qs = b.qs;
    for (int ib = 0; ib < kSuperElems / 32; ++ib) {
      const float dl = d * (2 * ((b.qh[ib] >> 12) & 7) + 1);
      const float delta = (b.qh[ib] & 0x8000) ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l) {
        const auto* grid = reinterpret_cast<const int8_t*>(kIq1sGrid + (qs[l] | (((b.qh[ib] >> 3 * l) & 7) << 8)));
        for (int j = 0; j < 8; ++j) y[j] = dl * (grid[j] + delta);
        y += 8;
      }
      qs += 4;
    }
  }
}

void dequantize_row_iq1_m(const void* src, float* y, int64_t n_elems) {
  const int64_t n_blocks = n_elems / kSuperElems;
  for (int64_t i = 0; i < n_blocks; ++i) {
    const auto b = load_block<BlockIq1m>(src, i);
    uint16_t sc[4];
    std::memcpy(sc, b.scales, sizeof(sc));
    // The fp16 super-scale is the top nibbles of the four scale words, lowest word first.
    const uint16_t d_bits = (sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000);
    const float d = f16_to_f32(d_bits);
    const uint8_t* qs = b.qs;
    const uint8_t* qh = b.qh;
    for (int ib = 0; ib < kSuperElems / 32; ++ib) {
      const float dl1 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1);
      const float dl2 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1);
      const int idx[4] = {qs[0] | ((qh[0] << 8) & 0x700), qs[1] | ((qh[0] << 4) & 0x700),
                          qs[2] | ((qh[1] << 8) & 0x700), qs[3] | ((qh[1] << 4) & 0x700)};
      const float delta[4] = {(qh[0] & 0x08) ? -kIq1Delta : kIq1Delta, (qh[0] & 0x80) ? -kIq1Delta : kIq1Delta,
                              (qh[1] & 0x08) ? -kIq1Delta : kIq1Delta, (qh[1] & 0x80) ? -kIq1Delta : kIq1Delta};
      for (int l = 0; l < 4; ++l) {
        const float dl = l < 2 ? dl1 : dl2;
        const auto* grid = reinterpret_cast<const int8_t*>(kIq1sGrid + idx[l]);
        for (int j = 0; j < 8; ++j) y[j] = dl * (grid[j] + delta[l]);
        y += 8;
      }
      qs += 4;
      qh += 2;
    }
  }
}

}  // namespace lowbit::iq
