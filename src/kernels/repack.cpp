#include "kernels/repack.h"

#include <cstring>

#include "core/convert.h"
#include "formats/blocks_k.h"
#include "formats/blocks_legacy.h"
#include "kernels/qmatrix.h"

namespace lowbit {

// Kernels (kernels/ref/gemm_r16_ref.cpp, kernels/x86/gemm_r16*_avx512.cpp).
namespace ref {
void gemm_q4_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
void gemm_q8_0_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
void gemm_q4_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
void gemm_q6_K_r16(const RepackedMatrix& w, const ActQ8& a, int64_t g0, int64_t g1, float* y, int64_t ldy);
}  // namespace ref
RepackedGemmFn gemm_q4_0_r16_avx512();
RepackedGemmFn gemm_q8_0_r16_avx512();
RepackedGemmFn gemm_q4_K_r16_avx512();
RepackedGemmFn gemm_q6_K_r16_avx512();

namespace {

RepackedGemmFn q4_0_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q4_0_r16_avx512() : ref::gemm_q4_0_r16; }
RepackedGemmFn q8_0_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q8_0_r16_avx512() : ref::gemm_q8_0_r16; }
RepackedGemmFn q4_K_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q4_K_r16_avx512() : ref::gemm_q4_K_r16; }
RepackedGemmFn q6_K_for(Isa isa) { return isa >= Isa::Avx512 ? gemm_q6_K_r16_avx512() : ref::gemm_q6_K_r16; }

// --- 32-element legacy formats: d first, then code bytes ------------------------------------

uint8_t legacy_code_byte(RepackKind kind, const uint8_t* block, int j) {
  if (kind == RepackKind::Q4_0_R16) return reinterpret_cast<const legacy::BlockQ4_0*>(block)->qs[j];
  return static_cast<uint8_t>(reinterpret_cast<const legacy::BlockQ8_0*>(block)->qs[j] ^ 0x80);  // + 128
}

void pack_legacy(const RepackTraits& t, const uint8_t* const src[kRepackRows], uint8_t* out) {
  for (int i = 0; i < kRepackRows; ++i) {
    std::memcpy(out + 2 * i, src[i], 2);  // d is the first field of both block types
    for (int c = 0; c < t.n_chunks; ++c)
      for (int b = 0; b < 4; ++b) out[r16::kLegacyCodes + 64 * c + 4 * i + b] = legacy_code_byte(t.kind, src[i], 4 * c + b);
  }
}

void decode_legacy(const RepackTraits& t, const uint8_t* p, int i, float* out) {
  const float d = f16_to_f32(r16::row_half(p, 0, i));
  for (int c = 0; c < t.n_chunks; ++c)
    for (int b = 0; b < 4; ++b) {
      const uint8_t u = p[r16::kLegacyCodes + 64 * c + 4 * i + b];
      const int j = 4 * c + b;
      if (t.kind == RepackKind::Q4_0_R16) {
        out[j] = d * static_cast<float>((u & 0x0F) - t.offset);
        out[j + 16] = d * static_cast<float>((u >> 4) - t.offset);
      } else {
        out[j] = d * static_cast<float>(u - t.offset);
      }
    }
}

// --- Q4_K ---------------------------------------------------------------------------------

void q4k_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void pack_q4_K(const RepackTraits&, const uint8_t* const src[kRepackRows], uint8_t* out) {
  for (int i = 0; i < kRepackRows; ++i) {
    const auto* b = reinterpret_cast<const kq::BlockQ4K*>(src[i]);
    std::memcpy(out + 2 * i, &b->d, 2);
    std::memcpy(out + r16::kQ4KDmin + 2 * i, &b->dmin, 2);
    for (int j = 0; j < 8; ++j)
      q4k_scale_min(b->scales, j, out + r16::kQ4KSc + 16 * j + i, out + r16::kQ4KMn + 16 * j + i);
    for (int c = 0; c < 4; ++c)
      for (int q = 0; q < 8; ++q) std::memcpy(out + r16::kQ4KCodes + 512 * c + 64 * q + 4 * i, b->qs + 32 * c + 4 * q, 4);
  }
}

void decode_q4_K(const RepackTraits&, const uint8_t* p, int i, float* out) {
  const float d = f16_to_f32(r16::row_half(p, 0, i)), dmin = f16_to_f32(r16::row_half(p, r16::kQ4KDmin, i));
  for (int c = 0; c < 4; ++c) {
    // ggml's dequantize_row_q4_K: d1 = d * sc, m1 = dmin * m, y = d1 * q - m1.
    const float d1 = d * p[r16::kQ4KSc + 16 * (2 * c) + i], m1 = dmin * p[r16::kQ4KMn + 16 * (2 * c) + i];
    const float d2 = d * p[r16::kQ4KSc + 16 * (2 * c + 1) + i], m2 = dmin * p[r16::kQ4KMn + 16 * (2 * c + 1) + i];
    for (int q = 0; q < 8; ++q)
      for (int b = 0; b < 4; ++b) {
        const uint8_t u = r16::q4k_byte(p, i, c, q, b);
        out[64 * c + 4 * q + b] = d1 * static_cast<float>(u & 0x0F) - m1;
        out[64 * c + 32 + 4 * q + b] = d2 * static_cast<float>(u >> 4) - m2;
      }
  }
}

// --- Q6_K ---------------------------------------------------------------------------------
void pack_q6_K(const RepackTraits&, const uint8_t* const src[kRepackRows], uint8_t* out) {
  for (int i = 0; i < kRepackRows; ++i) {
    const auto* b = reinterpret_cast<const kq::BlockQ6K*>(src[i]);
    std::memcpy(out + 2 * i, &b->d, 2);
    for (int s = 0; s < 16; ++s) out[r16::kQ6Sc + 16 * s + i] = static_cast<uint8_t>(b->scales[s]);
    for (int h = 0; h < 2; ++h)
      for (int q = 0; q < 8; ++q) {
        for (int p = 0; p < 2; ++p)
          std::memcpy(out + r16::kQ6Ql + 1024 * h + 512 * p + 64 * q + 4 * i, b->ql + 64 * h + 32 * p + 4 * q, 4);
        std::memcpy(out + r16::kQ6Qh + 512 * h + 64 * q + 4 * i, b->qh + 32 * h + 4 * q, 4);
      }
  }
}

void decode_q6_K(const RepackTraits&, const uint8_t* p, int i, float* out) {
  const float d = f16_to_f32(r16::row_half(p, 0, i));
  for (int h = 0; h < 2; ++h)
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) {
        const int e = 128 * h + 32 * g + l;
        // ggml's dequantize_row_q6_K: y = d * sc * (q - 32).
        const float sc = static_cast<float>(static_cast<int8_t>(p[r16::kQ6Sc + 16 * (e / 16) + i]));
        out[e] = d * sc * static_cast<float>(r16::q6_code(p, i, h, g, l) - 32);
      }
}

const RepackTraits kRepacks[] = {
    {RepackKind::Q4_0_R16, FormatId::Q4_0, 32, r16::kLegacyCodes + 64 * 4, 4, 8, pack_legacy, decode_legacy, ref::gemm_q4_0_r16,
     q4_0_for},
    {RepackKind::Q8_0_R16, FormatId::Q8_0, 32, r16::kLegacyCodes + 64 * 8, 8, 128, pack_legacy, decode_legacy, ref::gemm_q8_0_r16,
     q8_0_for},
    {RepackKind::Q4_K_R16, FormatId::Q4_K, 256, r16::kQ4KBytes, 0, 0, pack_q4_K, decode_q4_K, ref::gemm_q4_K_r16,
     q4_K_for},
    {RepackKind::Q6_K_R16, FormatId::Q6_K, 256, r16::kQ6Bytes, 0, 0, pack_q6_K, decode_q6_K,
     ref::gemm_q6_K_r16, q6_K_for},
};

}  // namespace

const RepackTraits* find_repack(FormatId from) {
  for (const RepackTraits& t : kRepacks)
    if (t.from == from) return &t;
  return nullptr;
}

std::unique_ptr<RepackedMatrix> repack(const QMatrix& m) {
  const RepackTraits* t = find_repack(m.format);
  if (!t || !m.data || m.n_rows % kRepackRows != 0 || m.n_cols % t->block_elems != 0 || !m.col_perm.empty())
    return nullptr;
  auto r = std::make_unique<RepackedMatrix>();
  r->traits = t;
  r->n_rows = m.n_rows;
  r->n_cols = m.n_cols;
  const size_t src_block_bytes = format(m.format).block_bytes;
  r->bytes = HugeBuffer(static_cast<size_t>(r->n_groups() * r->n_blocks()) * t->gbb);
#pragma omp parallel for schedule(static) if (m.n_rows * m.n_cols > (1 << 20))
  for (int64_t g = 0; g < r->n_groups(); ++g) {
    uint8_t* out = r->bytes.data() + static_cast<size_t>(g * r->n_blocks()) * t->gbb;
    for (int64_t k = 0; k < r->n_blocks(); ++k, out += t->gbb) {
      const uint8_t* src[kRepackRows];
      for (int i = 0; i < kRepackRows; ++i) src[i] = m.row(g * kRepackRows + i) + k * src_block_bytes;
      t->pack(*t, src, out);
    }
  }
  return r;
}

void repacked_row_f32(const RepackedMatrix& w, int64_t r, float* out) {
  const RepackTraits& t = *w.traits;
  const uint8_t* p = w.group(r / kRepackRows);
  for (int64_t k = 0; k < w.n_blocks(); ++k, p += t.gbb, out += t.block_elems)
    t.decode(t, p, static_cast<int>(r % kRepackRows), out);
}

}  // namespace lowbit
