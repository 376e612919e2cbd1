#include "formats/registry.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/families.h"

namespace lowbit {
namespace {

const std::vector<FormatTraits>& table() {
  static const std::vector<FormatTraits> t = [] {
    std::vector<FormatTraits> v;
    for (auto fam : {float_formats(), legacy_formats(), kquant_formats(), iquant_formats(), ternary_formats(),
                     mx_formats(), group_int_formats()})
      v.insert(v.end(), fam.begin(), fam.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return v;
  }();
  return t;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::span<const FormatTraits> all_formats() { return table(); }

const FormatTraits* find_format(FormatId id) {
  for (const auto& f : table())
    if (f.id == id) return &f;
  return nullptr;
}

const FormatTraits* find_format(std::string_view name) {
  for (const auto& f : table())
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

const FormatTraits& format(FormatId id) {
  const FormatTraits* f = find_format(id);
  if (!f) fail("", "unknown format id " + std::to_string(static_cast<uint32_t>(id)));
  return *f;
}

void quantize_rows(FormatId id, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                   const float* importance) {
  const FormatTraits& f = format(id);
  if (!f.quantize) fail("", std::string(f.name) + ": quantization is not supported (dequantize only)");
  if (n_per_row % f.block_elems != 0)
    fail("", std::string(f.name) + ": row of " + std::to_string(n_per_row) + " is not a multiple of the block size " +
                 std::to_string(f.block_elems));
  if (f.requires_importance && !importance)
    fail("", std::string(f.name) + " needs an importance matrix (--imatrix)");
  const size_t row_bytes = f.row_bytes(n_per_row);
  std::atomic<int64_t> bad_row{-1};
#pragma omp parallel for schedule(dynamic, 1) if (n_rows * n_per_row > 65536)
  for (int64_t r = 0; r < n_rows; ++r) {
    if (!f.quantize(src + r * n_per_row, static_cast<uint8_t*>(dst) + r * row_bytes, n_per_row, importance))
      bad_row.store(r);
  }
  if (bad_row.load() >= 0)
    fail("", std::string(f.name) + ": cannot quantize row " + std::to_string(bad_row.load()) +
                 " (non-finite or out-of-range values)");
}

void dequantize_rows(FormatId id, const void* src, float* dst, int64_t n_rows, int64_t n_per_row) {
  const FormatTraits& f = format(id);
  if (n_per_row % f.block_elems != 0)
    fail("", std::string(f.name) + ": row of " + std::to_string(n_per_row) + " is not a multiple of the block size " +
                 std::to_string(f.block_elems));
  const size_t row_bytes = f.row_bytes(n_per_row);
#pragma omp parallel for schedule(static) if (n_rows * n_per_row > 65536)
  for (int64_t r = 0; r < n_rows; ++r)
    f.dequantize(static_cast<const uint8_t*>(src) + r * row_bytes, dst + r * n_per_row, n_per_row);
}

}  // namespace lowbit
