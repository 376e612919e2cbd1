#include "io/checkpoints/bnb.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/checkpoints/json_fields.h"

namespace lowbit {
namespace {

DType dtype_from_torch_name(const std::string& s, const std::string& where) {
  if (s == "float16") return DType::F16;
  if (s == "bfloat16") return DType::BF16;
  if (s == "float32") return DType::F32;
  fail(where, "bitsandbytes quant_state dtype \"" + s + "\" is not supported");
}

}  // namespace

int64_t Bnb4bitWeight::n_elems() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void Bnb4bitWeight::dequantize(float* out) const {
  const int64_t n = n_elems();
  for (int64_t e = 0; e < n; ++e) out[e] = quant_map[codes[e]] * absmax[e / blocksize];
}

Bnb4bitWeight bnb4_unpack(const TensorSource& src, const std::string& module) {
  const std::string where = src.where();
  const std::string weight_name = tensor_name(module, "weight");
  Bnb4bitWeight w;
  // Exactly one quant_state.bitsandbytes__{nf4,fp4}; its suffix names the type.
  std::string state_name;
  for (const char* t : {"nf4", "fp4"}) {
    const std::string name = weight_name + ".quant_state.bitsandbytes__" + t;
    if (src.find(name)) {
      if (!state_name.empty()) fail(where, weight_name + ": both nf4 and fp4 quant states are present");
      state_name = name;
      w.quant_type = t;
    }
  }
  if (state_name.empty()) fail(where, weight_name + ".quant_state.bitsandbytes__nf4/fp4: tensor is missing");
  const TensorView state_t = require_tensor(src, state_name);
  check_dtype(state_t, DType::U8, where, state_name);
  const std::string text(static_cast<const char*>(state_t.data), state_t.n_bytes());
  nlohmann::json js = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (js.is_discarded() || !js.is_object()) fail(where, state_name + ": not a JSON object");
  const std::string qt = json_string(js, "quant_type", where).value_or("");
  if (qt != w.quant_type) fail(where, state_name + ": quant_type \"" + qt + "\" does not match the tensor name");
  w.blocksize = json_int(js, "blocksize", where).value_or(0);
  if (w.blocksize <= 0 || w.blocksize > 4096) fail(where, state_name + ": blocksize " + std::to_string(w.blocksize));
  w.dtype = dtype_from_torch_name(json_string(js, "dtype", where).value_or(""), where);
  auto shape_it = js.find("shape");
  if (shape_it == js.end() || !shape_it->is_array() || shape_it->empty() || shape_it->size() > 4)
    fail(where, state_name + ": bad shape");
  int64_t n = 1;
  for (const auto& d : *shape_it) {
    if (!d.is_number_integer() || d.get<int64_t>() <= 0 || d.get<int64_t>() > (int64_t{1} << 31))
      fail(where, state_name + ": bad shape");
    w.shape.push_back(d.get<int64_t>());
    n *= w.shape.back();
    if (n > (int64_t{1} << 40)) fail(where, state_name + ": shape too large");
  }
  const int64_t n_blocks = (n + w.blocksize - 1) / w.blocksize;

  // Packed codes: any quant_storage dtype, read as bytes.
  const TensorView weight = require_tensor(src, weight_name);
  if (weight.n_bytes() != static_cast<size_t>((n + 1) / 2))
    fail(where, weight_name + ": " + std::to_string(weight.n_bytes()) + " bytes, expected " + std::to_string((n + 1) / 2));
  const auto* bytes = static_cast<const uint8_t*>(weight.data);
  w.codes.resize(static_cast<size_t>(n));
  for (int64_t e = 0; e < n; ++e) w.codes[e] = e % 2 == 0 ? bytes[e / 2] >> 4 : bytes[e / 2] & 0xF;

  const std::string qmap_name = weight_name + ".quant_map";
  const TensorView qmap = require_tensor(src, qmap_name);
  check_shape(qmap, {16}, where, qmap_name);
  w.quant_map = tensor_to_f32(qmap, where, qmap_name);

  const std::string absmax_name = weight_name + ".absmax";
  const TensorView absmax = require_tensor(src, absmax_name);
  check_shape(absmax, {n_blocks}, where, absmax_name);
  if (js.contains("nested_blocksize")) {  // double quant: absmax holds 8-bit codes
    check_dtype(absmax, DType::U8, where, absmax_name);
    const int64_t nested_bs = json_int(js, "nested_blocksize", where).value_or(0);
    if (nested_bs <= 0 || nested_bs > 4096) fail(where, state_name + ": nested_blocksize " + std::to_string(nested_bs));
    const float offset = static_cast<float>(json_number(js, "nested_offset", where).value_or(0.0));
    const std::string nmap_name = weight_name + ".nested_quant_map", nabs_name = weight_name + ".nested_absmax";
    const TensorView nmap = require_tensor(src, nmap_name);
    check_shape(nmap, {256}, where, nmap_name);
    const TensorView nabs = require_tensor(src, nabs_name);
    check_shape(nabs, {(n_blocks + nested_bs - 1) / nested_bs}, where, nabs_name);
    const std::vector<float> code = tensor_to_f32(nmap, where, nmap_name), scale = tensor_to_f32(nabs, where, nabs_name);
    const auto* a = static_cast<const uint8_t*>(absmax.data);
    w.absmax.resize(static_cast<size_t>(n_blocks));
    // dequantize_blockwise (code[A] * absmax2 per block, fp32), then absmax += offset.
    for (int64_t b = 0; b < n_blocks; ++b) w.absmax[b] = code[a[b]] * scale[b / nested_bs] + offset;
  } else {
    w.absmax = tensor_to_f32(absmax, where, absmax_name);
  }
  return w;
}

void BnbInt8Weight::dequantize(float* out) const {
  const float inv127 = static_cast<float>(7.874015718698502e-3);  // the Python float, cast to fp32
  for (int64_t r = 0; r < n_out; ++r)
    for (int64_t c = 0; c < n_in; ++c) out[r * n_in + c] = static_cast<float>(cb[r * n_in + c]) * scb[r] * inv127;
}

QuantizedLinear BnbInt8Weight::to_quantized_linear() const {
  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = 8;
  q.group_size = static_cast<int>(n_in);
  q.sym = true;
  q.codes.resize(cb.size());
  for (size_t i = 0; i < cb.size(); ++i) q.codes[i] = static_cast<uint8_t>(cb[i] + 128);
  q.zeros.assign(static_cast<size_t>(n_out), 128.0f);
  for (float s : scb) q.scales.push_back(s / 127.0f);
  return q;
}

BnbInt8Weight bnb_int8_unpack(const TensorSource& src, const std::string& module) {
  const std::string where = src.where();
  const std::string weight_name = tensor_name(module, "weight"), scb_name = tensor_name(module, "SCB"),
                    format_name = tensor_name(module, "weight_format");
  const TensorView weight = require_tensor(src, weight_name);
  check_dtype(weight, DType::I8, where, weight_name);
  check_shape(weight, {-1, -1}, where, weight_name);
  BnbInt8Weight w;
  w.n_out = weight.shape[0];
  w.n_in = weight.shape[1];
  const TensorView scb = require_tensor(src, scb_name);
  check_shape(scb, {w.n_out}, where, scb_name);
  if (auto f = src.find(format_name)) {
    if (f->n_elems() != 1 || tensor_to_i64(*f, where, format_name)[0] != 0)
      fail(where, format_name + ": only the \"row\" weight format (0) is supported");
  }
  w.cb.resize(static_cast<size_t>(w.n_out * w.n_in));
  std::memcpy(w.cb.data(), weight.data, w.cb.size());
  w.scb = tensor_to_f32(scb, where, scb_name);
  return w;
}

}  // namespace lowbit
