// Each family of formats lives in its own file and exposes its registry entries here;
// registry.cpp only concatenates them.
#pragma once
#include <span>

#include "formats/registry.h"

namespace lowbit {

std::span<const FormatTraits> float_formats();    // F32, F16, BF16        (float_formats.cpp)
std::span<const FormatTraits> legacy_formats();   // Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 (legacy_quants.cpp)
std::span<const FormatTraits> kquant_formats();   // Q2_K..Q6_K, Q8_K      (k_quants.cpp)
std::span<const FormatTraits> iquant_formats();   // IQ4_NL, IQ4_XS, IQ1_S..IQ3_S (iq_quants.cpp)
std::span<const FormatTraits> ternary_formats();  // TQ1_0, TQ2_0          (ternary_quants.cpp)
std::span<const FormatTraits> mx_formats();       // MXFP4                 (mx_quants.cpp)
std::span<const FormatTraits> group_int_formats();  // GQ2_32..GQ8_128 (group_quants.cpp; not GGUF)

}  // namespace lowbit
