#include "io/checkpoints/hqq.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/hqq_bits.h"
#include "io/checkpoints/json_fields.h"
#include "io/checkpoints/ql_checks.h"

namespace lowbit {
namespace {

// hqq/core/utils.py encode_safetensor_type: bool -> uint8 0-d, int -> int32 0-d,
// str / torch.dtype -> uint8 character codes, torch.Size -> int64.
NamedTensor encode_bool(const std::string& name, bool v) {
  const uint8_t b = v ? 1 : 0;
  return make_tensor(name, DType::U8, {}, &b);
}
NamedTensor encode_int(const std::string& name, int32_t v) { return make_tensor(name, DType::I32, {}, &v); }
NamedTensor encode_str(const std::string& name, const std::string& s) {
  return make_tensor(name, DType::U8, {static_cast<int64_t>(s.size())}, s.data());
}

std::string torch_dtype_name(DType t) {
  switch (t) {
    case DType::F16: return "torch.float16";
    case DType::BF16: return "torch.bfloat16";
    case DType::F32: return "torch.float32";
    default: fail("hqq_pack", "compute dtype must be F16, BF16 or F32");
  }
}

void check_hqq_weight(const HqqWeight& w, const std::string& who) {
  if (w.n_out <= 0 || w.n_in <= 0) fail(who, "empty matrix");
  if (w.group_size <= 0 || (w.n_out * w.n_in) % w.group_size != 0)
    fail(who, "group_size " + std::to_string(w.group_size) + " does not divide n_out * n_in");
  if (w.axis != 0 && w.axis != 1) fail(who, "axis " + std::to_string(w.axis) + " (HQQ has 0 and 1)");
  if (hqq_packing_for_bits(w.nbits).empty()) fail(who, "nbits " + std::to_string(w.nbits) + " has no HQQ packing");
  if (static_cast<int64_t>(w.codes.size()) != w.n_out * w.n_in) fail(who, "codes must have n_out * n_in entries");
  if (static_cast<int64_t>(w.scale.size()) != w.n_groups() || static_cast<int64_t>(w.zero.size()) != w.n_groups())
    fail(who, "scale and zero must have n_out * n_in / group_size entries");
  for (uint8_t c : w.codes)
    if (c >= (1u << w.nbits)) fail(who, "code " + std::to_string(c) + " does not fit in " + std::to_string(w.nbits) + " bits");
}

// Grouped view of W_q: [R, C] = [numel/gs, gs] (axis 1) or [gs, numel/gs] (axis 0).
void grouped_dims(const HqqWeight& w, int64_t& rows, int64_t& cols) {
  rows = w.axis == 1 ? w.n_groups() : w.group_size;
  cols = w.axis == 1 ? w.group_size : w.n_groups();
}

// One element of a 0-d (or [1]) tensor.
TensorView scalar_tensor(const TensorSource& src, const std::string& name) {
  const TensorView t = require_tensor(src, name);
  if (t.n_elems() != 1) fail(src.where(), name + ": expected a scalar, got shape " + shape_str(t.shape));
  return t;
}
int64_t read_int(const TensorSource& src, const std::string& name) {
  return tensor_to_i64(scalar_tensor(src, name), src.where(), name)[0];
}
std::optional<bool> read_bool(const TensorSource& src, const std::string& name) {
  if (!src.find(name)) return std::nullopt;
  return tensor_to_i64(scalar_tensor(src, name), src.where(), name)[0] != 0;
}
std::string read_str(const TensorSource& src, const std::string& name) {
  const TensorView t = require_tensor(src, name);
  check_dtype(t, DType::U8, src.where(), name);
  if (t.shape.size() != 1 || t.shape[0] > 64) fail(src.where(), name + ": expected a short string of character codes");
  return std::string(static_cast<const char*>(t.data), static_cast<size_t>(t.shape[0]));
}

HqqQuantParams params_from_json(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "HQQ weight_quant_params");
  HqqQuantParams p;
  p.nbits = static_cast<int>(json_int(j, "nbits", where).value_or(4));
  p.group_size = static_cast<int>(json_int(j, "group_size", where).value_or(64));
  p.axis = static_cast<int>(json_int(j, "axis", where).value_or(1));
  p.channel_wise = json_bool(j, "channel_wise", where).value_or(true);
  p.optimize = json_bool(j, "optimize", where).value_or(true);
  p.round_zero = json_bool(j, "round_zero", where).value_or(p.nbits == 4);
  p.view_as_float = json_bool(j, "view_as_float", where).value_or(false);
  if (hqq_packing_for_bits(p.nbits).empty()) fail(where, "HQQ nbits " + std::to_string(p.nbits) + " is not supported");
  if (p.axis != 0 && p.axis != 1) fail(where, "HQQ axis " + std::to_string(p.axis));
  if (p.group_size <= 0) fail(where, "HQQ group_size " + std::to_string(p.group_size));
  return p;
}

nlohmann::json params_to_json(const HqqQuantParams& p) {
  return {{"nbits", p.nbits},       {"channel_wise", p.channel_wise}, {"group_size", p.group_size},
          {"optimize", p.optimize}, {"round_zero", p.round_zero},     {"axis", p.axis},
          {"view_as_float", p.view_as_float}};
}

}  // namespace

QuantizedLinear hqq_to_quantized_linear(const HqqWeight& w) {
  check_hqq_weight(w, "hqq");
  QuantizedLinear q;
  q.n_out = w.n_out;
  q.n_in = w.n_in;
  q.bits = w.nbits;
  q.sym = false;
  q.codes = w.codes;
  if (w.axis == 1 && w.n_in % w.group_size == 0) {
    q.group_size = static_cast<int>(w.group_size);  // row o, group g is HQQ group o * (K/gs) + g
    q.scales = w.scale;
    q.zeros = w.zero;
    return q;
  }
  q.group_size = 1;
  q.scales.resize(w.codes.size());
  q.zeros.resize(w.codes.size());
  for (int64_t f = 0; f < w.n_out * w.n_in; ++f) {
    q.scales[f] = w.scale[w.group_of_flat(f)];
    q.zeros[f] = w.zero[w.group_of_flat(f)];
  }
  return q;
}

HqqWeight hqq_from_quantized_linear(const QuantizedLinear& q, int axis, int64_t group_size) {
  const std::string who = "hqq_pack";
  check_quantized_linear(q, who);
  HqqWeight w;
  w.n_out = q.n_out;
  w.n_in = q.n_in;
  w.nbits = q.bits;
  w.group_size = group_size;
  w.axis = axis;
  w.codes = q.codes;
  if (group_size <= 0 || (q.n_out * q.n_in) % group_size != 0)
    fail(who, "group_size " + std::to_string(group_size) + " does not divide n_out * n_in");
  const int64_t n_groups = w.n_groups();
  w.scale.assign(n_groups, 0.0f);
  w.zero.assign(n_groups, 0.0f);
  std::vector<uint8_t> seen(n_groups, 0);
  const int64_t q_groups = q.n_groups();
  for (int64_t o = 0; o < q.n_out; ++o)
    for (int64_t i = 0; i < q.n_in; ++i) {
      const int64_t c = w.group_of_flat(o * q.n_in + i);
      const float s = q.scales[o * q_groups + q.group_of(i)], z = q.zeros[o * q_groups + q.group_of(i)];
      if (!seen[c]) {
        seen[c] = 1;
        w.scale[c] = s;
        w.zero[c] = z;
      } else if (std::memcmp(&w.scale[c], &s, 4) != 0 || std::memcmp(&w.zero[c], &z, 4) != 0) {
        fail(who, "the QuantizedLinear's groups are not HQQ axis-" + std::to_string(axis) + " groups of " +
                      std::to_string(group_size) + " (two scales or zeros in HQQ group " + std::to_string(c) + ")");
      }
    }
  return w;
}

std::vector<NamedTensor> hqq_pack(const HqqWeight& w, const HqqPackOptions& o) {
  check_hqq_weight(w, "hqq_pack");
  const std::string packing = hqq_packing_for_bits(w.nbits);
  int64_t rows = 0, cols = 0;
  grouped_dims(w, rows, cols);
  const int64_t packed_rows = hqq_packed_rows(packing, rows);
  if (packed_rows < 0)
    fail("hqq_pack", packing + " needs the " + std::to_string(rows) + " grouped rows to split evenly");
  const DType packed_dtype = hqq_packed_dtype(packing);
  std::vector<uint8_t> packed = hqq_pack_bits(packing, w.codes.data(), rows, cols);

  std::vector<NamedTensor> out;
  NamedTensor wq;
  wq.name = "W_q";
  wq.bytes = std::move(packed);
  wq.dtype = packed_dtype;
  wq.shape = {packed_rows, cols};
  if (o.view_as_float) {  // W_q.view(compute_dtype): same bytes, last dim rescaled
    const int64_t row_bytes = cols * static_cast<int64_t>(dtype_n_bytes(packed_dtype));
    const int64_t item = static_cast<int64_t>(dtype_n_bytes(o.compute_dtype));
    if (row_bytes % item != 0) fail("hqq_pack", "view_as_float: a W_q row is not a whole number of floats");
    wq.dtype = o.compute_dtype;
    wq.shape = {packed_rows, row_bytes / item};
  }
  out.push_back(std::move(wq));
  // Meta in HQQLinear.state_dict order: Quantizer.quantize's meta, quant_scale/quant_zero,
  // compute_dtype, then offload_meta, encoded_state_dict, stores_quant_config and the
  // weight_quant_params.
  out.push_back(encode_int("nbits", w.nbits));
  out.push_back(encode_int("group_size", static_cast<int32_t>(w.group_size)));
  const int64_t shape[2] = {w.n_out, w.n_in};
  out.push_back(make_tensor("shape", DType::I64, {2}, shape));
  const std::vector<int64_t> sz_shape = w.axis == 1 ? std::vector<int64_t>{w.n_groups(), 1}
                                                    : std::vector<int64_t>{1, w.n_groups()};
  out.push_back(make_float_tensor("scale", o.compute_dtype, sz_shape, w.scale));
  out.push_back(make_float_tensor("zero", o.compute_dtype, sz_shape, w.zero));
  out.push_back(encode_int("axis", w.axis));
  out.push_back(encode_str("packing", packing));
  out.push_back(encode_str("unpack_view_dtype", packed_dtype == DType::I32 ? "torch.int32" : "torch.uint8"));
  out.push_back(encode_bool("view_as_float", o.view_as_float));
  out.push_back(encode_bool("quant_scale", false));
  out.push_back(encode_bool("quant_zero", false));
  out.push_back(encode_str("compute_dtype", torch_dtype_name(o.compute_dtype)));
  out.push_back(encode_bool("offload_meta", false));
  out.push_back(encode_bool("encoded_state_dict", true));
  out.push_back(encode_bool("stores_quant_config", true));
  out.push_back(encode_bool("channel_wise", true));
  out.push_back(encode_bool("optimize", o.optimize));
  out.push_back(encode_bool("round_zero", o.round_zero));
  return out;
}

std::vector<NamedTensor> hqq_pack(const QuantizedLinear& q, const HqqPackOptions& options) {
  return hqq_pack(hqq_from_quantized_linear(q, 1, q.group_size), options);
}

HqqWeight hqq_unpack_weight(const TensorSource& src, const std::string& module) {
  const std::string where = src.where();
  auto name = [&](const char* s) { return tensor_name(module, s); };
  if (read_bool(src, name("quant_scale")).value_or(false) || read_bool(src, name("quant_zero")).value_or(false) ||
      src.find(name("zero_scale")))
    fail(where, name("W_q") + ": quantized or offloaded HQQ scale/zero is not supported");
  if (!read_bool(src, name("channel_wise")).value_or(true))
    fail(where, name("W_q") + ": HQQ channel_wise false is not supported");

  HqqWeight w;
  const TensorView nbits_t = scalar_tensor(src, name("nbits"));
  if (dtype_is_float(nbits_t.dtype)) {  // 1.58-bit is stored as a float: codes 0..2, 2bit_u8
    const float nb = tensor_to_f32(nbits_t, where, name("nbits"))[0];
    if (std::fabs(nb - 1.58f) > 1e-3f) fail(where, name("nbits") + ": " + std::to_string(nb));
    w.nbits = 2;
  } else {
    w.nbits = static_cast<int>(read_int(src, name("nbits")));
  }
  const int64_t gs = read_int(src, name("group_size"));
  w.axis = static_cast<int>(read_int(src, name("axis")));
  const TensorView shape_t = require_tensor(src, name("shape"));
  check_shape(shape_t, {2}, where, name("shape"));
  const std::vector<int64_t> shape = tensor_to_i64(shape_t, where, name("shape"));
  w.n_out = shape[0];
  w.n_in = shape[1];
  w.group_size = gs;
  if (w.n_out <= 0 || w.n_in <= 0 || w.n_out > (int64_t{1} << 31) || w.n_in > (int64_t{1} << 31))
    fail(where, name("shape") + ": bad shape " + shape_str(shape));
  if (gs <= 0 || (w.n_out * w.n_in) % gs != 0)
    fail(where, name("group_size") + ": " + std::to_string(gs) + " does not divide the weight");
  if (w.axis != 0 && w.axis != 1) fail(where, name("axis") + ": " + std::to_string(w.axis));
  const std::string packing = read_str(src, name("packing"));
  const std::string expected = hqq_packing_for_bits(w.nbits);
  if (expected.empty() || packing != expected)
    fail(where, name("packing") + ": \"" + packing + "\" for nbits " + std::to_string(w.nbits) + " is not supported");

  int64_t rows = 0, cols = 0;
  grouped_dims(w, rows, cols);
  const int64_t packed_rows = hqq_packed_rows(packing, rows);
  if (packed_rows < 0) fail(where, name("W_q") + ": " + packing + " cannot hold " + std::to_string(rows) + " rows");
  const DType packed_dtype = hqq_packed_dtype(packing);
  const TensorView wq = require_tensor(src, name("W_q"));
  if (read_bool(src, name("view_as_float")).value_or(false)) {  // bytes viewed as a float dtype
    if (!dtype_is_float(wq.dtype) || wq.n_bytes() != static_cast<size_t>(packed_rows * cols) * dtype_n_bytes(packed_dtype))
      fail(where, name("W_q") + ": view_as_float tensor of " + std::to_string(wq.n_bytes()) + " bytes does not hold " +
                      packing + " [" + std::to_string(packed_rows) + ", " + std::to_string(cols) + "]");
  } else {
    check_dtype(wq, packed_dtype, where, name("W_q"));
    check_shape(wq, {packed_rows, cols}, where, name("W_q"));
  }
  w.codes = hqq_unpack_bits(packing, static_cast<const uint8_t*>(wq.data), rows, cols);

  const std::vector<int64_t> sz_shape = w.axis == 1 ? std::vector<int64_t>{w.n_groups(), 1}
                                                    : std::vector<int64_t>{1, w.n_groups()};
  const TensorView scale = require_tensor(src, name("scale"));
  const TensorView zero = require_tensor(src, name("zero"));
  check_shape(scale, sz_shape, where, name("scale"));
  check_shape(zero, sz_shape, where, name("zero"));
  w.scale = tensor_to_f32(scale, where, name("scale"));
  w.zero = tensor_to_f32(zero, where, name("zero"));
  const unsigned max_code = w.nbits == 2 && dtype_is_float(nbits_t.dtype) ? 2 : (1u << w.nbits) - 1;
  for (uint8_t c : w.codes)
    if (c > max_code) fail(where, name("W_q") + ": code " + std::to_string(c) + " above " + std::to_string(max_code));
  return w;
}

QuantizedLinear hqq_unpack(const TensorSource& src, const std::string& module) {
  return hqq_to_quantized_linear(hqq_unpack_weight(src, module));
}

HqqConfig hqq_config_from_json(const nlohmann::json& j, const std::string& where) {
  require_object(j, where, "quantization_config");
  if (auto m = json_string(j, "quant_method", where); m && *m != "hqq")
    fail(where, "quantization_config quant_method is \"" + *m + "\", not \"hqq\"");
  HqqConfig c;
  if (j.contains("skip_modules")) c.skip_modules = json_strings(j, "skip_modules", where);
  auto it = j.find("quant_config");
  if (it == j.end() || !it->is_object()) fail(where, "HQQ quantization_config has no quant_config object");
  const nlohmann::json& qc = *it;
  auto check_meta_quant = [&](const nlohmann::json& d) {
    for (const char* k : {"scale_quant_params", "zero_quant_params"})
      if (d.contains(k) && !d.at(k).is_null()) fail(where, std::string("HQQ ") + k + " (quantized meta-data) is not supported");
  };
  if (qc.contains("weight_quant_params")) {
    check_meta_quant(qc);
    c.params = params_from_json(qc.at("weight_quant_params"), where);
  } else {
    for (const auto& [tag, sub] : qc.items()) {
      require_object(sub, where, "HQQ quant_config[\"" + tag + "\"]");
      check_meta_quant(sub);
      if (!sub.contains("weight_quant_params")) fail(where, "HQQ quant_config[\"" + tag + "\"] has no weight_quant_params");
      c.per_module_tag[tag] = params_from_json(sub.at("weight_quant_params"), where);
    }
    if (c.per_module_tag.empty()) fail(where, "HQQ quant_config is empty");
    c.params = c.per_module_tag.begin()->second;
  }
  return c;
}

nlohmann::json hqq_config_to_json(const HqqConfig& c) {
  auto one = [](const HqqQuantParams& p) {
    return nlohmann::json{{"weight_quant_params", params_to_json(p)},
                          {"scale_quant_params", nullptr},
                          {"zero_quant_params", nullptr},
                          {"offload_meta", false}};
  };
  nlohmann::json qc;
  if (c.per_module_tag.empty()) {
    qc = one(c.params);
  } else {
    for (const auto& [tag, p] : c.per_module_tag) qc[tag] = one(p);
  }
  return {{"quant_method", "hqq"}, {"quant_config", qc}, {"skip_modules", c.skip_modules}};
}

}  // namespace lowbit
