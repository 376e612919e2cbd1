// Registry entries of the IQ family (ids, block sizes: ../shared/specs/gguf.md §3; block
// layouts in blocks_iq.h). IQ4_NL / IQ4_XS quantize and dequantize (iq4_quants.cpp); the
// codebook types dequantize only for now (iq_grid_dequant.cpp).
#include "formats/blocks_iq.h"
#include "formats/families.h"
#include "formats/iq_rows.h"

namespace lowbit {
namespace {

using namespace iq;

// test_rel_rmse: relative RMS error bound of quantize->dequantize on N(0,1) rows; IQ4_NL/XS
// measure about 0.10 (0.11 with random importance). 0 where there is no quantizer yet.
// requires_importance follows llama.cpp (llama-quant.cpp refuses IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS
// and IQ2_S without an imatrix), kept even while these types have no quantizer here.
constexpr FormatTraits kIqFormats[] = {
    {FormatId::IQ2_XXS, "IQ2_XXS", kSuperElems, sizeof(BlockIq2xxs), nullptr, dequantize_row_iq2_xxs, true, true, 0.f},
    {FormatId::IQ2_XS, "IQ2_XS", kSuperElems, sizeof(BlockIq2xs), nullptr, dequantize_row_iq2_xs, true, true, 0.f},
    {FormatId::IQ3_XXS, "IQ3_XXS", kSuperElems, sizeof(BlockIq3xxs), nullptr, dequantize_row_iq3_xxs, false, true, 0.f},
    {FormatId::IQ1_S, "IQ1_S", kSuperElems, sizeof(BlockIq1s), nullptr, dequantize_row_iq1_s, true, true, 0.f},
    {FormatId::IQ4_NL, "IQ4_NL", kNlElems, sizeof(BlockIq4nl), quantize_row_iq4_nl, dequantize_row_iq4_nl, false, true,
     0.13f},
    {FormatId::IQ3_S, "IQ3_S", kSuperElems, sizeof(BlockIq3s), nullptr, dequantize_row_iq3_s, false, true, 0.f},
    {FormatId::IQ2_S, "IQ2_S", kSuperElems, sizeof(BlockIq2s), nullptr, dequantize_row_iq2_s, true, true, 0.f},
    {FormatId::IQ4_XS, "IQ4_XS", kSuperElems, sizeof(BlockIq4xs), quantize_row_iq4_xs, dequantize_row_iq4_xs, false, true,
     0.13f},
    {FormatId::IQ1_M, "IQ1_M", kSuperElems, sizeof(BlockIq1m), nullptr, dequantize_row_iq1_m, true, true, 0.f},
};

}  // namespace

std::span<const FormatTraits> iquant_formats() { return kIqFormats; }

}  // namespace lowbit
