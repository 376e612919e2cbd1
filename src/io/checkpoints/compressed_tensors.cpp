// pack-quantized tensors: pack_to_int32 / unpack_from_int32 and the per-module pack/unpack.
// Config parsing and scheme matching are in compressed_tensors_config.cpp.
#include "io/checkpoints/compressed_tensors.h"

#include "core/error.h"
#include "io/checkpoints/ql_checks.h"

namespace lowbit {

std::vector<int32_t> ct_pack_int32(const int8_t* values, int64_t rows, int64_t cols, int bits, int packed_dim) {
  if (bits < 1 || bits > 8) fail("ct_pack", "num_bits " + std::to_string(bits) + " outside 1..8");
  const int64_t pf = 32 / bits;
  const int offset = 1 << (bits - 1);
  const uint32_t mask = (1u << bits) - 1;
  // Along dim 1 (rows of words) or dim 0 (columns of words); element j of a word at bits b*j.
  const int64_t packed_rows = packed_dim == 1 ? rows : (rows + pf - 1) / pf;
  const int64_t packed_cols = packed_dim == 1 ? (cols + pf - 1) / pf : cols;
  std::vector<uint32_t> out(static_cast<size_t>(packed_rows * packed_cols), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t along = packed_dim == 1 ? c : r;
      const uint32_t u = static_cast<uint32_t>(values[r * cols + c] + offset) & mask;
      const int64_t pr = packed_dim == 1 ? r : along / pf, pc = packed_dim == 1 ? along / pf : c;
      out[pr * packed_cols + pc] |= u << (bits * (along % pf));
    }
  return std::vector<int32_t>(out.begin(), out.end());
}

std::vector<int8_t> ct_unpack_int32(const int32_t* packed, int64_t rows, int64_t cols, int bits, int packed_dim) {
  if (bits < 1 || bits > 8) fail("ct_unpack", "num_bits " + std::to_string(bits) + " outside 1..8");
  const int64_t pf = 32 / bits;
  const int offset = 1 << (bits - 1);
  const uint32_t mask = (1u << bits) - 1;
  const int64_t packed_cols = packed_dim == 1 ? (cols + pf - 1) / pf : cols;
  std::vector<int8_t> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t along = packed_dim == 1 ? c : r;
      const int64_t pr = packed_dim == 1 ? r : along / pf, pc = packed_dim == 1 ? along / pf : c;
      const uint32_t u = (static_cast<uint32_t>(packed[pr * packed_cols + pc]) >> (bits * (along % pf))) & mask;
      out[r * cols + c] = static_cast<int8_t>(static_cast<int>(u) - offset);
    }
  return out;
}

std::vector<NamedTensor> ct_pack(const QuantizedLinear& q, const CtQuantArgs& args, const CtPackOptions& options) {
  const std::string who = "ct_pack";
  check_quantized_linear(q, who);
  if (args.type != "int") fail(who, "pack-quantized holds int weights, not " + args.type);
  if (args.num_bits != q.bits) fail(who, "num_bits " + std::to_string(args.num_bits) + " but the codes are " +
                                             std::to_string(q.bits) + "-bit");
  const int64_t n_groups = q.n_groups();
  if (args.strategy == CtStrategy::Group) {
    if (!args.group_size || *args.group_size != q.group_size)
      fail(who, "group_size in the scheme does not match the QuantizedLinear's " + std::to_string(q.group_size));
  } else if (args.strategy == CtStrategy::Channel) {
    if (n_groups != 1) fail(who, "channel strategy needs one group per row");
  } else {
    fail(who, "pack writes the group and channel strategies only");
  }
  const bool act_order = !g_idx_is_trivial(q.g_idx, q.group_size);
  if (act_order && args.actorder != "group") fail(who, "act-order g_idx needs actorder \"group\" in the scheme");
  const int offset = 1 << (q.bits - 1);
  const std::vector<uint8_t> z = integer_zeros(q, who);
  if (args.symmetric)
    for (uint8_t v : z)
      if (v != offset) fail(who, "symmetric scheme but a zero point is " + std::to_string(v) + ", not " + std::to_string(offset));

  std::vector<int8_t> signed_codes(q.codes.size());
  for (size_t i = 0; i < q.codes.size(); ++i) signed_codes[i] = static_cast<int8_t>(q.codes[i] - offset);
  const int64_t pf = 32 / q.bits;
  std::vector<NamedTensor> out;
  out.push_back(make_i32_tensor("weight_packed", {q.n_out, (q.n_in + pf - 1) / pf},
                                ct_pack_int32(signed_codes.data(), q.n_out, q.n_in, q.bits, 1)));
  out.push_back(make_float_tensor("weight_scale", options.scale_dtype, {q.n_out, n_groups}, q.scales));
  if (!args.symmetric) {
    std::vector<int8_t> zp(z.size());
    for (size_t i = 0; i < z.size(); ++i) zp[i] = static_cast<int8_t>(z[i] - offset);
    out.push_back(make_i32_tensor("weight_zero_point", {(q.n_out + pf - 1) / pf, n_groups},
                                  ct_pack_int32(zp.data(), q.n_out, n_groups, q.bits, 0)));
  }
  const int64_t shape[2] = {q.n_out, q.n_in};
  out.push_back(make_tensor("weight_shape", DType::I64, {2}, shape));  // torch.tensor(weight.shape)
  if (args.actorder == "group") out.push_back(make_i32_tensor("weight_g_idx", {q.n_in}, g_idx_or_default(q)));
  return out;
}

QuantizedLinear ct_unpack(const TensorSource& src, const std::string& module, const CtQuantArgs& args) {
  const std::string where = src.where();
  if (args.type != "int") fail(where, module + ": pack-quantized with type " + args.type + " is not supported");
  const int bits = args.num_bits;
  if (bits < 1 || bits > 8) fail(where, module + ": num_bits " + std::to_string(bits) + " outside 1..8");
  if (args.strategy != CtStrategy::Group && args.strategy != CtStrategy::Channel && args.strategy != CtStrategy::Tensor)
    fail(where, module + ": only the tensor, channel and group strategies are supported for weights");
  const std::string packed_name = tensor_name(module, "weight_packed");
  const std::string scale_name = tensor_name(module, "weight_scale");
  const std::string zp_name = tensor_name(module, "weight_zero_point");
  const std::string shape_name = tensor_name(module, "weight_shape");
  const std::string g_idx_name = tensor_name(module, "weight_g_idx");

  const TensorView shape_t = require_tensor(src, shape_name);
  check_shape(shape_t, {2}, where, shape_name);
  const std::vector<int64_t> shape = tensor_to_i64(shape_t, where, shape_name);
  const int64_t n_out = shape[0], n_in = shape[1];
  if (n_out <= 0 || n_in <= 0 || n_out > (int64_t{1} << 31) || n_in > (int64_t{1} << 31))
    fail(where, shape_name + ": bad shape " + shape_str(shape));
  const int64_t pf = 32 / bits;
  const TensorView packed = require_tensor(src, packed_name);
  check_dtype(packed, DType::I32, where, packed_name);
  check_shape(packed, {n_out, (n_in + pf - 1) / pf}, where, packed_name);

  int64_t group_size = n_in;
  if (args.strategy == CtStrategy::Group) {
    if (!args.group_size || *args.group_size <= 0) fail(where, module + ": group strategy without a group_size");
    group_size = *args.group_size;
  }
  const int64_t n_groups = (n_in + group_size - 1) / group_size;
  const TensorView scale = require_tensor(src, scale_name);
  std::vector<float> scales = tensor_to_f32(scale, where, scale_name);
  if (args.strategy == CtStrategy::Tensor) {
    if (scales.size() != 1) fail(where, scale_name + ": tensor strategy needs one scale, got " + shape_str(scale.shape));
    scales.assign(static_cast<size_t>(n_out), scales[0]);
  } else {
    check_shape(scale, {n_out, n_groups}, where, scale_name);
  }

  QuantizedLinear q;
  q.n_out = n_out;
  q.n_in = n_in;
  q.bits = bits;
  q.group_size = static_cast<int>(group_size);
  q.sym = args.symmetric;
  q.scales = std::move(scales);
  const int offset = 1 << (bits - 1);
  const std::vector<int8_t> codes = ct_unpack_int32(static_cast<const int32_t*>(packed.data), n_out, n_in, bits, 1);
  q.codes.resize(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) q.codes[i] = static_cast<uint8_t>(codes[i] + offset);
  q.zeros.assign(static_cast<size_t>(n_out * n_groups), static_cast<float>(offset));
  if (!args.symmetric) {
    const TensorView zp = require_tensor(src, zp_name);
    std::vector<int8_t> zp_signed;
    if (zp.dtype == DType::I32 && args.strategy != CtStrategy::Tensor) {  // packed along dim 0
      check_shape(zp, {(n_out + pf - 1) / pf, n_groups}, where, zp_name);
      zp_signed = ct_unpack_int32(static_cast<const int32_t*>(zp.data), n_out, n_groups, bits, 0);
    } else {  // not packed (tensor strategy): int8 in the signed domain
      check_dtype(zp, DType::I8, where, zp_name);
      const std::vector<int64_t> v = tensor_to_i64(zp, where, zp_name);
      if (v.size() != 1 && static_cast<int64_t>(v.size()) != n_out * n_groups)
        fail(where, zp_name + ": shape " + shape_str(zp.shape) + " does not match the scales");
      for (int64_t i = 0; i < n_out * n_groups; ++i) zp_signed.push_back(static_cast<int8_t>(v[v.size() == 1 ? 0 : i]));
    }
    for (size_t i = 0; i < zp_signed.size(); ++i) {
      const int z = zp_signed[i] + offset;
      if (z < 0 || z >= (1 << bits)) fail(where, zp_name + ": zero point outside the " + std::to_string(bits) + "-bit range");
      q.zeros[i] = static_cast<float>(z);
    }
  }
  if (auto g = src.find(g_idx_name)) {
    check_shape(*g, {n_in}, where, g_idx_name);
    std::vector<int32_t> g_idx = tensor_to_i32(*g, where, g_idx_name);
    for (int32_t v : g_idx)
      if (v < 0 || v >= n_groups) fail(where, g_idx_name + ": group " + std::to_string(v) + " out of range");
    if (!g_idx_is_trivial(g_idx, group_size)) q.g_idx = std::move(g_idx);
  }
  return q;
}

}  // namespace lowbit
