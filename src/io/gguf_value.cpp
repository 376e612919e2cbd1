#include "io/gguf_value.h"

#include <stdexcept>

namespace lowbit {

std::string gguf_type_name(GgufType t) {
  // ggml gguf.cpp GGUF_TYPE_NAME
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "str";
    case GgufType::ARRAY: return "arr";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "type(" + std::to_string(static_cast<uint32_t>(t)) + ")";
}

size_t gguf_type_n_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    case GgufType::STRING:
    case GgufType::ARRAY: return 0;
  }
  return 0;
}

GgufValue GgufValue::array(const std::vector<bool>& vs) {
  GgufValue out(GgufType::BOOL, true);
  out.bytes_.reserve(vs.size());
  for (bool v : vs) out.bytes_.push_back(v ? 1 : 0);
  out.n_elems_ = vs.size();
  return out;
}

GgufValue GgufValue::string(std::string v) {
  GgufValue out(GgufType::STRING, false);
  out.strings_.push_back(std::move(v));
  out.n_elems_ = 1;
  return out;
}

GgufValue GgufValue::string_array(std::vector<std::string> vs) {
  GgufValue out(GgufType::STRING, true);
  out.n_elems_ = vs.size();
  out.strings_ = std::move(vs);
  return out;
}

GgufValue GgufValue::from_bytes(GgufType type, bool is_array, const uint8_t* data,
                                size_t n_elems) {
  if (gguf_type_n_bytes(type) == 0) throw std::invalid_argument("GgufValue::from_bytes: not a fixed-size type");
  GgufValue out(type, is_array);
  const size_t n_bytes = n_elems * gguf_type_n_bytes(type);
  out.bytes_.assign(data, data + n_bytes);
  out.n_elems_ = n_elems;
  return out;
}

std::string GgufValue::type_label() const {
  if (is_array_) return "arr[" + gguf_type_name(elem_type_) + "]";
  return gguf_type_name(elem_type_);
}

}  // namespace lowbit
