// An independent implementation of the GPTQ layout, written from the text of
// specs/gptq.md §1.1 (2/4/8-bit: pf = 32/b values per word, value j at bits [b*j, b*j+b))
// and §1.2 (3-bit: the explicit word0/word1/word2 table), NOT from gptq_bits.cpp. The tests
// decode what lowbit writes with it, and build fixtures in layouts lowbit did not write.
#pragma once
#include <cstdint>
#include <vector>

namespace gptq_spec {

// Field i of a packed sequence (qweight: down a column; qzeros: along a row). `word(w)`
// returns the w-th int32 of that sequence.
template <typename WordAt>
uint32_t field(WordAt word, int64_t i, int bits) {
  const uint32_t mask = (1u << bits) - 1;
  if (bits != 3) {
    const int64_t pf = 32 / bits;
    return (static_cast<uint32_t>(word(i / pf)) >> (bits * (i % pf))) & mask;
  }
  const int64_t blk = i / 32, j = i % 32;
  const uint32_t w0 = static_cast<uint32_t>(word(3 * blk)), w1 = static_cast<uint32_t>(word(3 * blk + 1)),
                 w2 = static_cast<uint32_t>(word(3 * blk + 2));
  if (j < 10) return (w0 >> (3 * j)) & 7;
  if (j == 10) return ((w0 >> 30) & 3) | ((w1 & 1) << 2);
  if (j < 21) return (w1 >> (3 * (j - 11) + 1)) & 7;
  if (j == 21) return ((w1 >> 31) & 1) | ((w2 & 3) << 1);
  return (w2 >> (3 * (j - 22) + 2)) & 7;
}

// The inverse: OR value v (< 2^bits) in as field i. `word(w)` returns a reference.
template <typename WordRef>
void set_field(WordRef word, int64_t i, int bits, uint32_t v) {
  auto orw = [&](int64_t w, uint32_t bitsv) { word(w) = static_cast<int32_t>(static_cast<uint32_t>(word(w)) | bitsv); };
  if (bits != 3) {
    const int64_t pf = 32 / bits;
    orw(i / pf, v << (bits * (i % pf)));
    return;
  }
  const int64_t blk = i / 32, j = i % 32;
  if (j < 10) {
    orw(3 * blk, v << (3 * j));
  } else if (j == 10) {
    orw(3 * blk, (v & 3) << 30);
    orw(3 * blk + 1, (v >> 2) & 1);
  } else if (j < 21) {
    orw(3 * blk + 1, v << (3 * (j - 11) + 1));
  } else if (j == 21) {
    orw(3 * blk + 1, (v & 1) << 31);
    orw(3 * blk + 2, (v >> 1) & 3);
  } else {
    orw(3 * blk + 2, v << (3 * (j - 22) + 2));
  }
}

// qweight [K*b/32, N] -> codes [N, K] (nn.Linear orientation).
inline std::vector<uint8_t> decode_qweight(const std::vector<int32_t>& qw, int64_t n_in, int64_t n_out, int bits) {
  std::vector<uint8_t> codes(static_cast<size_t>(n_out * n_in));
  for (int64_t n = 0; n < n_out; ++n)
    for (int64_t k = 0; k < n_in; ++k)
      codes[n * n_in + k] = static_cast<uint8_t>(field([&](int64_t w) { return qw[w * n_out + n]; }, k, bits));
  return codes;
}

// qzeros [G, N*b/32] -> z [N, G]; v1 adds 1 and masks.
inline std::vector<uint8_t> decode_qzeros(const std::vector<int32_t>& qz, int64_t n_groups, int64_t n_out, int bits,
                                          bool v1) {
  const int64_t n_words = n_out * bits / 32;
  std::vector<uint8_t> z(static_cast<size_t>(n_out * n_groups));
  for (int64_t g = 0; g < n_groups; ++g)
    for (int64_t n = 0; n < n_out; ++n) {
      uint32_t f = field([&](int64_t w) { return qz[g * n_words + w]; }, n, bits);
      if (v1) f = (f + 1) & ((1u << bits) - 1);
      z[n * n_groups + g] = static_cast<uint8_t>(f);
    }
  return z;
}

inline std::vector<int32_t> encode_qweight(const std::vector<uint8_t>& codes, int64_t n_in, int64_t n_out, int bits) {
  std::vector<int32_t> qw(static_cast<size_t>(n_in * bits / 32 * n_out), 0);
  for (int64_t n = 0; n < n_out; ++n)
    for (int64_t k = 0; k < n_in; ++k)
      set_field([&](int64_t w) -> int32_t& { return qw[w * n_out + n]; }, k, bits, codes[n * n_in + k]);
  return qw;
}

// z [N, G] -> qzeros [G, N*b/32]; v1 stores (z-1) & mask.
inline std::vector<int32_t> encode_qzeros(const std::vector<uint8_t>& z, int64_t n_groups, int64_t n_out, int bits,
                                          bool v1) {
  const int64_t n_words = n_out * bits / 32;
  std::vector<int32_t> qz(static_cast<size_t>(n_groups * n_words), 0);
  for (int64_t g = 0; g < n_groups; ++g)
    for (int64_t n = 0; n < n_out; ++n) {
      uint32_t v = z[n * n_groups + g];
      if (v1) v = (v - 1) & ((1u << bits) - 1);
      set_field([&](int64_t w) -> int32_t& { return qz[g * n_words + w]; }, n, bits, v);
    }
  return qz;
}

}  // namespace gptq_spec
