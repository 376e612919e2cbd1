#include "io/checkpoints/hqq_bits.h"

#include <cstring>

#include "core/error.h"

namespace lowbit {
namespace {

// Sub-byte packings: `per` slices of R/per rows each, slice i at bit shift (per-1-i)*bits.
struct SubByte {
  int per;   // slices per byte
  int bits;  // bits per slice
};

bool sub_byte(const std::string& packing, SubByte& sb) {
  if (packing == "4bit_u8") sb = {2, 4};
  else if (packing == "2bit_u8") sb = {4, 2};
  else if (packing == "1bit_u8") sb = {8, 1};
  else return false;
  return true;
}

}  // namespace

std::string hqq_packing_for_bits(int nbits) {
  switch (nbits) {
    case 8: case 6: case 5: return "8bit_u8";
    case 4: return "4bit_u8";
    case 3: return "3bit_32";
    case 2: return "2bit_u8";
    case 1: return "1bit_u8";
    default: return "";
  }
}

int64_t hqq_packed_rows(const std::string& packing, int64_t n_rows) {
  if (n_rows <= 0) return -1;
  if (packing == "8bit_u8") return n_rows;
  if (packing == "3bit_32") return (n_rows + 9) / 10;
  SubByte sb;
  if (!sub_byte(packing, sb) || n_rows % sb.per != 0) return -1;
  return n_rows / sb.per;
}

DType hqq_packed_dtype(const std::string& packing) { return packing == "3bit_32" ? DType::I32 : DType::U8; }

std::vector<uint8_t> hqq_pack_bits(const std::string& packing, const uint8_t* codes, int64_t n_rows, int64_t n_cols) {
  const int64_t rows = hqq_packed_rows(packing, n_rows);
  if (rows < 0) fail("hqq_pack", "packing " + packing + " cannot hold " + std::to_string(n_rows) + " grouped rows");
  if (packing == "8bit_u8") return std::vector<uint8_t>(codes, codes + n_rows * n_cols);
  if (packing == "3bit_32") {
    // pack_3bit_32: rows padded with zeros to 10 * rows, slice i shifted by 27 - 3i.
    std::vector<uint8_t> out(static_cast<size_t>(rows * n_cols * 4));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n_cols; ++c) {
        uint32_t w = 0;
        for (int i = 0; i < 10; ++i) {
          const int64_t src = r + i * rows;
          if (src < n_rows) w |= static_cast<uint32_t>(codes[src * n_cols + c] & 7) << (27 - 3 * i);
        }
        std::memcpy(out.data() + 4 * (r * n_cols + c), &w, 4);
      }
    return out;
  }
  SubByte sb;
  sub_byte(packing, sb);
  const uint32_t mask = (1u << sb.bits) - 1;
  std::vector<uint8_t> out(static_cast<size_t>(rows * n_cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c) {
      uint32_t b = 0;
      for (int i = 0; i < sb.per; ++i) b |= (codes[(r + i * rows) * n_cols + c] & mask) << ((sb.per - 1 - i) * sb.bits);
      out[r * n_cols + c] = static_cast<uint8_t>(b);
    }
  return out;
}

std::vector<uint8_t> hqq_unpack_bits(const std::string& packing, const uint8_t* packed, int64_t n_rows, int64_t n_cols) {
  const int64_t rows = hqq_packed_rows(packing, n_rows);
  if (rows < 0) fail("hqq_unpack", "packing " + packing + " cannot hold " + std::to_string(n_rows) + " grouped rows");
  if (packing == "8bit_u8") return std::vector<uint8_t>(packed, packed + n_rows * n_cols);
  std::vector<uint8_t> out(static_cast<size_t>(n_rows * n_cols));
  if (packing == "3bit_32") {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < n_cols; ++c) {
        uint32_t w;
        std::memcpy(&w, packed + 4 * (r * n_cols + c), 4);
        for (int i = 0; i < 10; ++i) {
          const int64_t dst = r + i * rows;
          if (dst < n_rows) out[dst * n_cols + c] = static_cast<uint8_t>((w >> (27 - 3 * i)) & 7);
        }
      }
    return out;
  }
  SubByte sb;
  sub_byte(packing, sb);
  const uint32_t mask = (1u << sb.bits) - 1;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c) {
      const uint32_t b = packed[r * n_cols + c];
      for (int i = 0; i < sb.per; ++i)
        out[(r + i * rows) * n_cols + c] = static_cast<uint8_t>((b >> ((sb.per - 1 - i) * sb.bits)) & mask);
    }
  return out;
}

}  // namespace lowbit
