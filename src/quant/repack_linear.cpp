#include "quant/repack_linear.h"

#include <algorithm>
#include <numeric>

#include "core/convert.h"
#include "formats/blocks_group.h"

namespace lowbit {
namespace {

int container_bits(int bits) { return bits <= 2 ? 2 : bits <= 4 ? (bits == 3 ? 3 : 4) : bits <= 8 ? 8 : 0; }

bool fp16_exact(float v) { return f16_to_f32(f32_to_f16(v)) == v || (v != v); }

QMatrix dequantized(const QuantizedLinear& q) {
  QMatrix m;
  m.format = FormatId::F32;
  m.n_rows = q.n_out;
  m.n_cols = q.n_in;
  m.row_bytes = static_cast<size_t>(q.n_in) * sizeof(float);
  m.owned.resize(m.n_bytes());
  q.dequantize(reinterpret_cast<float*>(m.owned.data()));
  m.data = m.owned.data();
  return m;
}

// The column order that makes every group contiguous (empty: the identity), or nullopt when
// g_idx's groups are not runs of exactly group_size columns once sorted.
std::optional<std::vector<int32_t>> column_order(const QuantizedLinear& q) {
  if (q.g_idx.empty()) return std::vector<int32_t>{};
  bool trivial = true;
  for (int64_t i = 0; i < q.n_in && trivial; ++i) trivial = q.g_idx[i] == i / q.group_size;
  if (trivial) return std::vector<int32_t>{};
  std::vector<int32_t> perm(static_cast<size_t>(q.n_in));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return q.g_idx[a] < q.g_idx[b]; });
  for (int64_t i = 0; i < q.n_in; ++i)
    if (q.g_idx[perm[i]] != i / q.group_size) return std::nullopt;
  return perm;
}

}  // namespace

QMatrix repack_linear(const QuantizedLinear& q, std::string* why_f32) {
  auto fallback = [&](const std::string& why) {
    if (why_f32) *why_f32 = why;
    return dequantized(q);
  };
  const int cbits = container_bits(q.bits);
  if (cbits == 0) return fallback(std::to_string(q.bits) + "-bit codes");
  int block = 0;
  for (int g : {128, 64, 32})
    if (q.group_size % g == 0 && q.n_in % g == 0) {
      block = g;
      break;
    }
  if (block == 0)
    return fallback(q.group_size == 1 ? "its groups run across rows (HQQ axis 0)"
                                      : "group size " + std::to_string(q.group_size) + " / " +
                                            std::to_string(q.n_in) + " columns are not multiples of 32");
  const auto order = column_order(q);
  if (!order) return fallback("its act-order groups (g_idx) are not all of " + std::to_string(q.group_size) + " columns");
  for (size_t i = 0; i < q.scales.size(); ++i)
    if (!fp16_exact(q.scales[i]) || !fp16_exact(q.zeros[i]))
      return fallback("a scale or zero point is not exactly representable in fp16");

  QMatrix m;
  m.format = group_int_format(cbits, block);
  m.n_rows = q.n_out;
  m.n_cols = q.n_in;
  m.row_bytes = static_cast<size_t>(q.n_in / block) * group_int::block_bytes(cbits, block);
  m.owned.resize(m.n_bytes());
  m.col_perm = *order;
  const std::vector<int32_t>& perm = m.col_perm;
  const int64_t n_groups = q.n_groups();
  for (int64_t o = 0; o < q.n_out; ++o) {
    uint8_t* out = m.owned.data() + static_cast<size_t>(o) * m.row_bytes;
    const uint8_t* codes = q.codes.data() + o * q.n_in;
    for (int64_t c0 = 0; c0 < q.n_in; c0 += block, out += group_int::block_bytes(cbits, block)) {
      const int64_t g = o * n_groups + c0 / q.group_size;  // in the reordered columns, groups are runs
      const uint16_t d = f32_to_f16(q.scales[g]), z = f32_to_f16(q.zeros[g]);
      std::memcpy(out, &d, 2);
      std::memcpy(out + 2, &z, 2);
      uint8_t sub[group_int::kSubElems];
      for (int s = 0; s < block / group_int::kSubElems; ++s) {
        for (int j = 0; j < group_int::kSubElems; ++j) {
          const int64_t c = c0 + s * group_int::kSubElems + j;
          sub[j] = codes[perm.empty() ? c : perm[c]];
        }
        group_int::pack_sub_block(cbits, sub, out + group_int::kHeaderBytes + s * group_int::sub_block_bytes(cbits));
      }
    }
  }
  m.data = m.owned.data();
  return m;
}

}  // namespace lowbit
