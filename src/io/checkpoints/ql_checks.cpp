#include "io/checkpoints/ql_checks.h"

#include <cmath>

#include "core/error.h"

namespace lowbit {

void check_quantized_linear(const QuantizedLinear& q, const std::string& who) {
  if (q.n_out <= 0 || q.n_in <= 0) fail(who, "empty matrix");
  if (q.bits < 1 || q.bits > 8) fail(who, "bits " + std::to_string(q.bits) + " outside 1..8");
  if (q.group_size < 1) fail(who, "group_size " + std::to_string(q.group_size) + " < 1");
  const int64_t n_groups = q.n_groups();
  if (static_cast<int64_t>(q.codes.size()) != q.n_out * q.n_in)
    fail(who, "codes has " + std::to_string(q.codes.size()) + " entries, expected n_out * n_in");
  if (static_cast<int64_t>(q.scales.size()) != q.n_out * n_groups)
    fail(who, "scales has " + std::to_string(q.scales.size()) + " entries, expected n_out * n_groups");
  if (static_cast<int64_t>(q.zeros.size()) != q.n_out * n_groups)
    fail(who, "zeros has " + std::to_string(q.zeros.size()) + " entries, expected n_out * n_groups");
  if (!q.g_idx.empty()) {
    if (static_cast<int64_t>(q.g_idx.size()) != q.n_in) fail(who, "g_idx must have n_in entries");
    for (int32_t g : q.g_idx)
      if (g < 0 || g >= n_groups) fail(who, "g_idx entry " + std::to_string(g) + " outside [0, n_groups)");
  }
  const unsigned max_code = (1u << q.bits) - 1;
  for (size_t i = 0; i < q.codes.size(); ++i)
    if (q.codes[i] > max_code)
      fail(who, "code " + std::to_string(q.codes[i]) + " at " + std::to_string(i) + " does not fit in " +
                    std::to_string(q.bits) + " bits");
}

std::vector<uint8_t> integer_zeros(const QuantizedLinear& q, const std::string& who) {
  const float max_zero = static_cast<float>((1 << q.bits) - 1);
  std::vector<uint8_t> z(q.zeros.size());
  for (size_t i = 0; i < z.size(); ++i) {
    const float v = q.zeros[i];
    if (!(v >= 0.0f && v <= max_zero) || std::nearbyint(v) != v)
      fail(who, "zero point " + std::to_string(v) + " at " + std::to_string(i) + " is not an integer in [0, " +
                    std::to_string(static_cast<int>(max_zero)) + "]");
    z[i] = static_cast<uint8_t>(v);
  }
  return z;
}

bool g_idx_is_trivial(const std::vector<int32_t>& g_idx, int64_t group_size) {
  for (size_t i = 0; i < g_idx.size(); ++i)
    if (g_idx[i] != static_cast<int64_t>(i) / group_size) return false;
  return true;
}

std::vector<int32_t> g_idx_or_default(const QuantizedLinear& q) {
  if (!q.g_idx.empty()) return q.g_idx;
  std::vector<int32_t> g(static_cast<size_t>(q.n_in));
  for (int64_t i = 0; i < q.n_in; ++i) g[i] = static_cast<int32_t>(i / q.group_size);
  return g;
}

}  // namespace lowbit
