#include "io/checkpoints/gptq.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/gptq_bits.h"
#include "io/checkpoints/json_fields.h"
#include "io/checkpoints/ql_checks.h"

namespace lowbit {
namespace {

GptqCheckpointFormat parse_format(const std::string& s, const std::string& where) {
  if (s == "gptq" || s.empty()) return GptqCheckpointFormat::V1;
  if (s == "gptq_v2") return GptqCheckpointFormat::V2;
  fail(where, "GPTQ checkpoint_format \"" + s + "\" is not supported (only gptq and gptq_v2; marlin and "
              "other kernel layouts are not)");
}

const char* format_name(GptqCheckpointFormat f) { return f == GptqCheckpointFormat::V2 ? "gptq_v2" : "gptq"; }

}  // namespace

GptqConfig gptq_config_from_json(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "quantization_config");
  if (auto m = json_string(j, "quant_method", where); m && *m != "gptq")
    fail(where, "quantization_config quant_method is \"" + *m + "\", not \"gptq\"");
  if (json_bool(j, "is_marlin_format", where).value_or(false))
    fail(where, "GPTQ Marlin-format checkpoints are not supported");
  GptqConfig c;
  auto bits = json_int(j, "bits", where);
  if (!bits) bits = json_int(j, "w_bit", where);
  if (!bits) fail(where, "GPTQ quantization_config has no \"bits\"");
  if (!gptq_bits_supported(static_cast<int>(*bits)))
    fail(where, "GPTQ bits " + std::to_string(*bits) + " is not supported (2, 3, 4 or 8)");
  c.bits = static_cast<int>(*bits);
  auto gs = json_int(j, "group_size", where);
  if (!gs) gs = json_int(j, "q_group_size", where);
  c.group_size = static_cast<int>(gs.value_or(128));
  if (c.group_size == 0 || c.group_size < -1) fail(where, "GPTQ group_size " + std::to_string(c.group_size));
  c.desc_act = json_bool(j, "desc_act", where).value_or(false);
  c.sym = json_bool(j, "sym", where).value_or(true);
  c.static_groups = json_bool(j, "static_groups", where).value_or(false);
  c.true_sequential = json_bool(j, "true_sequential", where).value_or(true);
  c.damp_percent = json_number(j, "damp_percent", where).value_or(0.01);
  // vLLM reads checkpoint_format only; GPTQModel and newer optimum also write "format".
  auto fmt = json_string(j, "checkpoint_format", where);
  if (!fmt) fmt = json_string(j, "format", where);
  c.format = parse_format(fmt.value_or("gptq"), where);
  if (auto pack_dtype = json_string(j, "pack_dtype", where); pack_dtype && *pack_dtype != "int32")
    fail(where, "GPTQ pack_dtype \"" + *pack_dtype + "\" is not supported (int32 only)");
  // GPTQModel "dynamic": per-module regex overrides. "-:" entries only skip modules (they stay
  // unquantized, which the loader sees anyway); anything else would change how to decode.
  if (auto it = j.find("dynamic"); it != j.end() && it->is_object()) {
    for (const auto& [key, value] : it->items())
      if (key.rfind("-:", 0) != 0 && !value.empty())
        fail(where, "GPTQModel per-module \"dynamic\" overrides are not supported (" + key + ")");
  }
  return c;
}

nlohmann::json gptq_config_to_json(const GptqConfig& c) {
  nlohmann::json j;
  j["quant_method"] = "gptq";
  j["bits"] = c.bits;
  j["group_size"] = c.group_size;
  j["desc_act"] = c.desc_act;
  j["sym"] = c.sym;
  j["damp_percent"] = c.damp_percent;
  j["true_sequential"] = c.true_sequential;
  j["static_groups"] = c.static_groups;
  j["checkpoint_format"] = format_name(c.format);
  j["format"] = format_name(c.format);
  return j;
}

std::vector<NamedTensor> gptq_pack(const QuantizedLinear& q, const GptqPackOptions& options,
                                   std::vector<std::string>* warnings) {
  const std::string who = "gptq_pack";
  check_quantized_linear(q, who);
  if (!gptq_bits_supported(q.bits)) fail(who, "bits " + std::to_string(q.bits) + " (GPTQ packs 2, 3, 4, 8)");
  const int64_t k_words = gptq_n_words(q.n_in, q.bits);
  const int64_t n_words = gptq_n_words(q.n_out, q.bits);
  const int64_t unit = q.bits == 3 ? 32 : 32 / q.bits;
  if (k_words < 0 || n_words < 0)
    fail(who, "n_in " + std::to_string(q.n_in) + " and n_out " + std::to_string(q.n_out) +
                  " must be multiples of " + std::to_string(unit) + " for " + std::to_string(q.bits) + "-bit");
  const int64_t n_groups = q.n_groups();
  const std::vector<uint8_t> z_ng = integer_zeros(q, who);

  const std::vector<uint8_t> codes_kn = transposed(q.codes, q.n_out, q.n_in);
  const std::vector<uint8_t> z_gn = transposed(z_ng, q.n_out, n_groups);
  std::vector<int32_t> qzeros;
  if (options.format == GptqCheckpointFormat::V2) {
    qzeros = gptq_pack_cols(z_gn.data(), n_groups, q.n_out, q.bits);
  } else {
    int64_t n_zero = 0;
    for (uint8_t z : z_gn) n_zero += z == 0;
    if (n_zero > 0)
      emit_warning(warnings, "gptq_pack: " + std::to_string(n_zero) +
                                 " zero points are 0, which GPTQ v1 stores as -1: kernels that add 1 without "
                                 "masking decode them as " + std::to_string(1 << q.bits) +
                                 "; checkpoint_format gptq_v2 represents them exactly");
    switch (options.v1_zeros) {
      case GptqV1Zeros::FieldWise: qzeros = gptq_pack_v1_zeros_fieldwise(z_gn.data(), n_groups, q.n_out, q.bits); break;
      case GptqV1Zeros::AutoGptq: qzeros = gptq_pack_v1_zeros_autogptq(z_gn.data(), n_groups, q.n_out, q.bits); break;
      case GptqV1Zeros::GptqModel: qzeros = gptq_pack_v1_zeros_gptqmodel(z_gn.data(), n_groups, q.n_out, q.bits); break;
    }
  }

  std::vector<NamedTensor> out;
  out.push_back(make_i32_tensor("qweight", {k_words, q.n_out}, gptq_pack_rows(codes_kn.data(), q.n_in, q.n_out, q.bits)));
  out.push_back(make_i32_tensor("qzeros", {n_groups, n_words}, qzeros));
  out.push_back(make_float_tensor("scales", options.scale_dtype, {n_groups, q.n_out}, transposed(q.scales, q.n_out, n_groups)));
  out.push_back(make_i32_tensor("g_idx", {q.n_in}, g_idx_or_default(q)));
  return out;
}

QuantizedLinear gptq_unpack(const TensorSource& src, const std::string& module, const GptqConfig& config,
                            std::vector<std::string>* warnings) {
  const std::string where = src.where();
  const int bits = config.bits;
  if (!gptq_bits_supported(bits)) fail(where, "GPTQ bits " + std::to_string(bits) + " is not supported");
  const std::string qweight_name = tensor_name(module, "qweight");
  const std::string qzeros_name = tensor_name(module, "qzeros");
  const std::string scales_name = tensor_name(module, "scales");
  const std::string g_idx_name = tensor_name(module, "g_idx");

  const TensorView qweight = require_tensor(src, qweight_name);
  check_dtype(qweight, DType::I32, where, qweight_name);
  check_shape(qweight, {-1, -1}, where, qweight_name);
  const int64_t n_out = qweight.shape[1];
  const int64_t n_in = qweight.shape[0] * 32 / bits;
  if (qweight.shape[0] * 32 % bits != 0 || gptq_n_words(n_in, bits) != qweight.shape[0] || n_in <= 0 || n_out <= 0)
    fail(where, qweight_name + ": " + shape_str(qweight.shape) + " is not a " + std::to_string(bits) +
                    "-bit GPTQ qweight");
  const int64_t group_size = config.group_size > 0 ? config.group_size : n_in;
  const int64_t n_groups = (n_in + group_size - 1) / group_size;
  const int64_t n_zero_words = gptq_n_words(n_out, bits);
  if (n_zero_words < 0) fail(where, qzeros_name + ": n_out " + std::to_string(n_out) + " does not fill whole words");

  const TensorView qzeros = require_tensor(src, qzeros_name);
  check_dtype(qzeros, DType::I32, where, qzeros_name);
  check_shape(qzeros, {n_groups, n_zero_words}, where, qzeros_name);
  const TensorView scales = require_tensor(src, scales_name);
  check_shape(scales, {n_groups, n_out}, where, scales_name);

  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = static_cast<int>(group_size);
  q.sym = config.sym;
  if (auto g = src.find(g_idx_name)) {
    check_shape(*g, {n_in}, where, g_idx_name);
    std::vector<int32_t> g_idx = tensor_to_i32(*g, where, g_idx_name);
    for (int32_t v : g_idx)
      if (v < 0 || v >= n_groups)
        fail(where, g_idx_name + ": group " + std::to_string(v) + " outside [0, " + std::to_string(n_groups) + ")");
    if (!g_idx_is_trivial(g_idx, group_size)) q.g_idx = std::move(g_idx);
  }

  const std::vector<int32_t> qweight_words = tensor_to_i32(qweight, where, qweight_name);
  q.codes = transposed(gptq_unpack_rows(qweight_words.data(), n_in, n_out, bits), n_in, n_out);

  const std::vector<int32_t> qzeros_words = tensor_to_i32(qzeros, where, qzeros_name);
  std::vector<uint8_t> z_gn = gptq_unpack_cols(qzeros_words.data(), n_groups, n_out, bits);
  if (config.format == GptqCheckpointFormat::V1) {
    const unsigned mask = (1u << bits) - 1;
    int64_t n_zero = 0;
    for (auto& z : z_gn) {
      n_zero += z == mask;
      z = static_cast<uint8_t>((z + 1u) & mask);  // GPTQModel _correct_gptq_v1_qzeros
    }
    if (n_zero > 0)
      emit_warning(warnings, where + ": " + qzeros_name + ": " + std::to_string(n_zero) +
                                 " v1 zero points decode to 0 ((field+1) & mask); GPTQ v1 writers corrupt the "
                                 "neighbouring zero points of such words, so this layer may decode wrongly "
                                 "(specs/gptq.md 1.3)");
  }
  const std::vector<uint8_t> z_ng = transposed(z_gn, n_groups, n_out);
  q.zeros.assign(z_ng.begin(), z_ng.end());
  q.scales = transposed(tensor_to_f32(scales, where, scales_name), n_groups, n_out);
  return q;
}

}  // namespace lowbit
