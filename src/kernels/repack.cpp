#include "kernels/repack.h"

#include <cstring>

#include "core/convert.h"
#include "formats/blocks_legacy.h"
#include "kernels/qmatrix.h"

namespace lowbit {

// Kernels (kernels/ref/gemm_r16_ref.cpp, kernels/x86/gemm_r16_avx512.cpp).
namespace ref {
void gemm_q4_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
void gemm_q8_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
}  // namespace ref
RepackedGemmFn gemm_q4_0_r16_avx512();
RepackedGemmFn gemm_q8_0_r16_avx512();

namespace {

RepackedGemmFn q4_0_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q4_0_r16_avx512() : ref::gemm_q4_0_r16; }
RepackedGemmFn q8_0_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q8_0_r16_avx512() : ref::gemm_q8_0_r16; }

const RepackTraits kRepacks[] = {
    {RepackKind::Q4_0_R16, FormatId::Q4_0, 4, 8, ref::gemm_q4_0_r16, q4_0_for},
    {RepackKind::Q8_0_R16, FormatId::Q8_0, 8, 128, ref::gemm_q8_0_r16, q8_0_for},
};

// The code byte j (0..15 for Q4_0, 0..31 for Q8_0) of a source block, as the R16 layout stores it.
uint8_t code_byte(RepackKind kind, const uint8_t* block, int j) {
  if (kind == RepackKind::Q4_0_R16) return reinterpret_cast<const legacy::BlockQ4_0*>(block)->qs[j];
  return static_cast<uint8_t>(reinterpret_cast<const legacy::BlockQ8_0*>(block)->qs[j] ^ 0x80);  // + 128
}

}  // namespace

const RepackTraits* find_repack(FormatId from) {
  for (const RepackTraits& t : kRepacks)
    if (t.from == from) return &t;
  return nullptr;
}

std::unique_ptr<RepackedMatrix> repack(const QMatrix& m) {
  const RepackTraits* t = find_repack(m.format);
  if (!t || !m.data || m.n_rows % kRepackRows != 0 || m.n_cols % 32 != 0 || !m.col_perm.empty()) return nullptr;
  auto r = std::make_unique<RepackedMatrix>();
  r->traits = t;
  r->n_rows = m.n_rows;
  r->n_cols = m.n_cols;
  const int gbb = t->group_block_bytes();
  const size_t src_block_bytes = format(m.format).block_bytes;
  r->bytes.resize(static_cast<size_t>(r->n_groups() * r->n_blocks()) * gbb);
#pragma omp parallel for schedule(static) if (m.n_rows * m.n_cols > (1 << 20))
  for (int64_t g = 0; g < r->n_groups(); ++g) {
    uint8_t* out = r->bytes.data() + static_cast<size_t>(g * r->n_blocks()) * gbb;
    for (int64_t k = 0; k < r->n_blocks(); ++k, out += gbb) {
      for (int i = 0; i < kRepackRows; ++i) {
        const uint8_t* block = m.row(g * kRepackRows + i) + k * src_block_bytes;
        std::memcpy(out + 2 * i, block, 2);  // d is the first field of both block types
        for (int c = 0; c < t->n_chunks; ++c)
          for (int b = 0; b < 4; ++b) out[32 + 64 * c + 4 * i + b] = code_byte(t->kind, block, 4 * c + b);
      }
    }
  }
  return r;
}

void repacked_row_f32(const RepackedMatrix& w, int64_t r, float* out) {
  const RepackTraits& t = *w.traits;
  const int64_t g = r / kRepackRows, i = r % kRepackRows;
  const uint8_t* p = w.group(g);
  for (int64_t k = 0; k < w.n_blocks(); ++k, p += t.group_block_bytes(), out += 32) {
    uint16_t dh;
    std::memcpy(&dh, p + 2 * i, 2);
    const float d = f16_to_f32(dh);
    for (int c = 0; c < t.n_chunks; ++c)
      for (int b = 0; b < 4; ++b) {
        const uint8_t u = p[32 + 64 * c + 4 * i + b];
        const int j = 4 * c + b;
        if (t.kind == RepackKind::Q4_0_R16) {
          out[j] = d * static_cast<float>((u & 0x0F) - t.offset);
          out[j + 16] = d * static_cast<float>((u >> 4) - t.offset);
        } else {
          out[j] = d * static_cast<float>(u - t.offset);
        }
      }
  }
}

}  // namespace lowbit
