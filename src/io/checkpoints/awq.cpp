#include "io/checkpoints/awq.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/json_fields.h"
#include "io/checkpoints/ql_checks.h"

namespace lowbit {
namespace {

// awq/utils/packing_utils.py AWQ_ORDER: nibble i of a word holds column 8c + kOrder[i].
constexpr int kOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

// vals [rows, n_cols] (4-bit) -> words [rows, n_cols / 8] in AWQ nibble order.
std::vector<int32_t> pack_awq(const uint8_t* vals, int64_t rows, int64_t n_cols) {
  const int64_t n_words = n_cols / 8;
  std::vector<int32_t> out(static_cast<size_t>(rows * n_words));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_words; ++c) {
      uint32_t w = 0;
      for (int i = 0; i < 8; ++i) w |= static_cast<uint32_t>(vals[r * n_cols + 8 * c + kOrder[i]] & 0xF) << (4 * i);
      out[r * n_words + c] = static_cast<int32_t>(w);
    }
  return out;
}

std::vector<uint8_t> unpack_awq(const std::vector<int32_t>& words, int64_t rows, int64_t n_cols) {
  const int64_t n_words = n_cols / 8;
  std::vector<uint8_t> out(static_cast<size_t>(rows * n_cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < n_words; ++c) {
      const uint32_t w = static_cast<uint32_t>(words[r * n_words + c]);
      for (int i = 0; i < 8; ++i) out[r * n_cols + 8 * c + kOrder[i]] = static_cast<uint8_t>((w >> (4 * i)) & 0xF);
    }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

AwqConfig awq_config_from_json(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "quantization_config");
  if (auto m = json_string(j, "quant_method", where); m && lower(*m) != "awq")
    fail(where, "quantization_config quant_method is \"" + *m + "\", not \"awq\"");
  AwqConfig c;
  auto bits = json_int(j, "bits", where);
  if (!bits) bits = json_int(j, "w_bit", where);
  c.bits = static_cast<int>(bits.value_or(4));
  if (c.bits != 4) fail(where, "AWQ bits " + std::to_string(c.bits) + " is not supported (GEMM is 4-bit only)");
  auto gs = json_int(j, "group_size", where);
  if (!gs) gs = json_int(j, "q_group_size", where);
  c.group_size = static_cast<int>(gs.value_or(128));
  if (c.group_size == 0 || c.group_size < -1) fail(where, "AWQ group_size " + std::to_string(c.group_size));
  c.zero_point = json_bool(j, "zero_point", where).value_or(true);
  if (!c.zero_point) fail(where, "AWQ zero_point false is not supported (the GEMM layout stores zero points)");
  c.version = lower(json_string(j, "version", where).value_or("gemm"));
  if (c.version != "gemm")
    fail(where, "AWQ version \"" + c.version + "\" is not supported (only gemm; gemv, gemv_fast, marlin, exllama "
                "and ipex store other layouts or kernels)");
  if (auto backend = json_string(j, "backend", where); backend && lower(*backend) == "llm-awq")
    fail(where, "AWQ backend llm-awq stores another layout; not supported");
  c.modules_to_not_convert = json_strings(j, "modules_to_not_convert", where);
  return c;
}

nlohmann::json awq_config_to_json(const AwqConfig& c) {
  nlohmann::json j;
  j["quant_method"] = "awq";
  j["bits"] = c.bits;
  j["group_size"] = c.group_size;
  j["zero_point"] = c.zero_point;
  j["version"] = c.version;
  j["modules_to_not_convert"] = c.modules_to_not_convert.empty() ? nlohmann::json(nullptr)
                                                                 : nlohmann::json(c.modules_to_not_convert);
  return j;
}

std::vector<NamedTensor> awq_pack(const QuantizedLinear& q, const AwqPackOptions& options) {
  const std::string who = "awq_pack";
  check_quantized_linear(q, who);
  if (q.bits != 4) fail(who, "bits " + std::to_string(q.bits) + " (AWQ GEMM is 4-bit only)");
  if (!g_idx_is_trivial(q.g_idx, q.group_size)) fail(who, "act-order g_idx cannot be stored in AWQ GEMM");
  if (q.n_out % 8 != 0) fail(who, "n_out " + std::to_string(q.n_out) + " is not a multiple of 8");
  if (q.n_in % q.group_size != 0)
    fail(who, "n_in " + std::to_string(q.n_in) + " is not a multiple of group_size " + std::to_string(q.group_size));
  const int64_t n_groups = q.n_groups();
  const std::vector<uint8_t> z_gn = transposed(integer_zeros(q, who), q.n_out, n_groups);
  const std::vector<uint8_t> codes_kn = transposed(q.codes, q.n_out, q.n_in);
  std::vector<NamedTensor> out;
  out.push_back(make_i32_tensor("qweight", {q.n_in, q.n_out / 8}, pack_awq(codes_kn.data(), q.n_in, q.n_out)));
  out.push_back(make_i32_tensor("qzeros", {n_groups, q.n_out / 8}, pack_awq(z_gn.data(), n_groups, q.n_out)));
  out.push_back(make_float_tensor("scales", options.scale_dtype, {n_groups, q.n_out}, transposed(q.scales, q.n_out, n_groups)));
  return out;
}

QuantizedLinear awq_unpack(const TensorSource& src, const std::string& module, const AwqConfig& config) {
  const std::string where = src.where();
  if (config.bits != 4) fail(where, "AWQ bits " + std::to_string(config.bits) + " is not supported");
  const std::string qweight_name = tensor_name(module, "qweight");
  const std::string qzeros_name = tensor_name(module, "qzeros");
  const std::string scales_name = tensor_name(module, "scales");
  const TensorView qweight = require_tensor(src, qweight_name);
  check_dtype(qweight, DType::I32, where, qweight_name);
  check_shape(qweight, {-1, -1}, where, qweight_name);
  const int64_t n_in = qweight.shape[0];
  const int64_t n_out = qweight.shape[1] * 8;
  if (n_in <= 0 || n_out <= 0) fail(where, qweight_name + ": empty");
  const int64_t group_size = config.group_size > 0 ? config.group_size : n_in;
  if (n_in % group_size != 0)
    fail(where, qweight_name + ": n_in " + std::to_string(n_in) + " is not a multiple of group_size " +
                    std::to_string(group_size));
  const int64_t n_groups = n_in / group_size;
  const TensorView qzeros = require_tensor(src, qzeros_name);
  check_dtype(qzeros, DType::I32, where, qzeros_name);
  check_shape(qzeros, {n_groups, n_out / 8}, where, qzeros_name);
  const TensorView scales = require_tensor(src, scales_name);
  check_shape(scales, {n_groups, n_out}, where, scales_name);

  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = 4;
  q.group_size = static_cast<int>(group_size);
  q.sym = false;
  q.codes = transposed(unpack_awq(tensor_to_i32(qweight, where, qweight_name), n_in, n_out), n_in, n_out);
  const std::vector<uint8_t> z = transposed(unpack_awq(tensor_to_i32(qzeros, where, qzeros_name), n_groups, n_out),
                                            n_groups, n_out);
  q.zeros.assign(z.begin(), z.end());
  q.scales = transposed(tensor_to_f32(scales, where, scales_name), n_groups, n_out);
  return q;
}

}  // namespace lowbit
