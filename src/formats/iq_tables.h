// ggml's IQ lookup tables, as constant arrays (data generated from
// ../shared/specs/iq-grids/ggml-iq-tables.json by tools/gen/gen_iq_tables.py; MIT, see the
// notice in iq_tables.cpp). A u64 grid entry packs 8 grid coordinates and a u32 entry 4,
// one per byte, low byte = first coordinate (the README of iq-grids).
#pragma once
#include <cstdint>

namespace lowbit::iq {

extern const uint64_t kIq2xxsGrid[256];  // IQ2_XXS: 8 magnitudes in {8, 25, 43}
extern const uint64_t kIq2xsGrid[512];   // IQ2_XS
extern const uint64_t kIq2sGrid[1024];   // IQ2_S
extern const uint32_t kIq3xxsGrid[256];  // IQ3_XXS: 4 magnitudes
extern const uint32_t kIq3sGrid[512];    // IQ3_S
extern const uint64_t kIq1sGrid[2048];   // IQ1_S / IQ1_M: 8 signed bytes in {-1, 0, 1} (iq1_tables.cpp)
extern const uint8_t kSignsIq2xs[128];   // 7 sign bits -> 8 sign bits with even parity
extern const uint8_t kMaskIq2xs[8];      // 1 << j
extern const int8_t kValuesIq4nl[16];    // IQ4_NL / IQ4_XS non-linear levels (sorted)

}  // namespace lowbit::iq
