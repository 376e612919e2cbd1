#include "io/checkpoints/gptq_bits.h"

namespace lowbit {
namespace {

// Bit position p of a value stream lives in word p / 32 at bit p % 32. A value that starts
// at bit s > 32 - b continues at bit 0 of the next word (3-bit only).
inline void put(uint32_t* words, int64_t word_stride, int64_t pos_bits, uint32_t v, int bits) {
  const int64_t w = pos_bits >> 5;
  const int s = static_cast<int>(pos_bits & 31);
  words[w * word_stride] |= v << s;
  if (s + bits > 32) words[(w + 1) * word_stride] |= v >> (32 - s);
}

inline uint32_t get(const uint32_t* words, int64_t word_stride, int64_t pos_bits, int bits) {
  const int64_t w = pos_bits >> 5;
  const int s = static_cast<int>(pos_bits & 31);
  uint32_t v = words[w * word_stride] >> s;
  if (s + bits > 32) v |= words[(w + 1) * word_stride] << (32 - s);
  return v & ((1u << bits) - 1);
}

std::vector<int32_t> to_i32(const std::vector<uint32_t>& u) {
  return std::vector<int32_t>(u.begin(), u.end());  // same bits (two's complement)
}

}  // namespace

bool gptq_bits_supported(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

int64_t gptq_n_words(int64_t n_vals, int bits) {
  if (!gptq_bits_supported(bits) || n_vals < 0) return -1;
  const int64_t unit = bits == 3 ? 32 : 32 / bits;  // values per whole group of words
  if (n_vals % unit != 0) return -1;
  return n_vals * bits / 32;
}

std::vector<int32_t> gptq_pack_rows(const uint8_t* vals, int64_t n_rows, int64_t n_cols, int bits) {
  const int64_t n_words = gptq_n_words(n_rows, bits);
  std::vector<uint32_t> out(static_cast<size_t>(n_words * n_cols), 0);
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c) put(out.data() + c, n_cols, r * bits, vals[r * n_cols + c], bits);
  return to_i32(out);
}

std::vector<uint8_t> gptq_unpack_rows(const int32_t* words, int64_t n_rows, int64_t n_cols, int bits) {
  const auto* u = reinterpret_cast<const uint32_t*>(words);
  std::vector<uint8_t> out(static_cast<size_t>(n_rows * n_cols));
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c)
      out[r * n_cols + c] = static_cast<uint8_t>(get(u + c, n_cols, r * bits, bits));
  return out;
}

std::vector<int32_t> gptq_pack_cols(const uint8_t* vals, int64_t n_rows, int64_t n_cols, int bits) {
  const int64_t n_words = gptq_n_words(n_cols, bits);
  std::vector<uint32_t> out(static_cast<size_t>(n_rows * n_words), 0);
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c) put(out.data() + r * n_words, 1, c * bits, vals[r * n_cols + c], bits);
  return to_i32(out);
}

std::vector<uint8_t> gptq_unpack_cols(const int32_t* words, int64_t n_rows, int64_t n_cols, int bits) {
  const int64_t n_words = gptq_n_words(n_cols, bits);
  const auto* u = reinterpret_cast<const uint32_t*>(words);
  std::vector<uint8_t> out(static_cast<size_t>(n_rows * n_cols));
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c)
      out[r * n_cols + c] = static_cast<uint8_t>(get(u + r * n_words, 1, c * bits, bits));
  return out;
}

std::vector<int32_t> gptq_pack_v1_zeros_fieldwise(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits) {
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint8_t> shifted(static_cast<size_t>(n_rows * n_cols));
  for (size_t i = 0; i < shifted.size(); ++i) shifted[i] = static_cast<uint8_t>((zeros[i] - 1u) & mask);
  return gptq_pack_cols(shifted.data(), n_rows, n_cols, bits);
}

std::vector<int32_t> gptq_pack_v1_zeros_autogptq(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits) {
  // qlinear_cuda.py: zeros -= 1; zeros.numpy().astype(np.uint32); qzeros[:, col] |= z << shift,
  // and for the 3-bit straddles (z >> 2) & 1, (z >> 1) & 0x3 into the next word.
  const int64_t n_words = gptq_n_words(n_cols, bits);
  const uint32_t mask = (1u << bits) - 1;
  std::vector<uint32_t> out(static_cast<size_t>(n_rows * n_words), 0);
  for (int64_t r = 0; r < n_rows; ++r) {
    uint32_t* row = out.data() + r * n_words;
    for (int64_t c = 0; c < n_cols; ++c) {
      const uint32_t v = static_cast<uint32_t>(static_cast<int32_t>(zeros[r * n_cols + c]) - 1);
      const int64_t pos = c * bits;
      const int64_t w = pos >> 5;
      const int s = static_cast<int>(pos & 31);
      row[w] |= v << s;
      if (s + bits > 32) row[w + 1] |= (v >> (32 - s)) & (mask >> (32 - s));
    }
  }
  return to_i32(out);
}

std::vector<int32_t> gptq_pack_v1_zeros_gptqmodel(const uint8_t* zeros, int64_t n_rows, int64_t n_cols, int bits) {
  if (bits == 3) return gptq_pack_v1_zeros_fieldwise(zeros, n_rows, n_cols, bits);
  // utils/model.py convert_gptq_v2_to_v1_format_module: qzeros -= 0b0101.. / 0b0001.. / 0b0000_0001..
  const uint32_t one_per_field = bits == 2 ? 0x55555555u : bits == 4 ? 0x11111111u : 0x01010101u;
  std::vector<int32_t> v2 = gptq_pack_cols(zeros, n_rows, n_cols, bits);
  for (auto& w : v2) w = static_cast<int32_t>(static_cast<uint32_t>(w) - one_per_field);
  return v2;
}

}  // namespace lowbit
