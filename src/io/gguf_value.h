// A GGUF metadata value: a scalar of one of the 12 value types, or an array of one
// non-array type. specs/gguf.md §1 (KV record; gguf.h enum gguf_type). Shared by the
// reader (GgufFile) and the writer (GgufWriter), so a read value can be written back
// unchanged with its exact type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <bit>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace lowbit {

// Values are kept as little-endian bytes and read with memcpy.
static_assert(std::endian::native == std::endian::little, "GGUF is little-endian");

// Value type ids as stored in the file (gguf.h enum gguf_type).
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
inline constexpr uint32_t kGgufTypeCount = 13;

// "u8", "i8", ..., "str", "arr" (ggml's GGUF_TYPE_NAME spelling); "type(<id>)" if unknown.
std::string gguf_type_name(GgufType t);
// Bytes per element of a fixed-size type; 0 for STRING, ARRAY and unknown ids.
size_t gguf_type_n_bytes(GgufType t);

// The GGUF value type of a C++ scalar type.
template <class T> struct GgufTypeOf;
template <> struct GgufTypeOf<uint8_t> { static constexpr GgufType value = GgufType::U8; };
template <> struct GgufTypeOf<int8_t> { static constexpr GgufType value = GgufType::I8; };
template <> struct GgufTypeOf<uint16_t> { static constexpr GgufType value = GgufType::U16; };
template <> struct GgufTypeOf<int16_t> { static constexpr GgufType value = GgufType::I16; };
template <> struct GgufTypeOf<uint32_t> { static constexpr GgufType value = GgufType::U32; };
template <> struct GgufTypeOf<int32_t> { static constexpr GgufType value = GgufType::I32; };
template <> struct GgufTypeOf<float> { static constexpr GgufType value = GgufType::F32; };
template <> struct GgufTypeOf<bool> { static constexpr GgufType value = GgufType::BOOL; };
template <> struct GgufTypeOf<uint64_t> { static constexpr GgufType value = GgufType::U64; };
template <> struct GgufTypeOf<int64_t> { static constexpr GgufType value = GgufType::I64; };
template <> struct GgufTypeOf<double> { static constexpr GgufType value = GgufType::F64; };
template <class T>
concept GgufScalar = requires { GgufTypeOf<T>::value; };

class GgufValue {
 public:
  GgufValue() = default;  // an empty U8 array; only useful as a placeholder

  template <GgufScalar T>
  static GgufValue scalar(T v) {
    GgufValue out(GgufTypeOf<T>::value, false);
    out.append(v);
    out.n_elems_ = 1;
    return out;
  }
  template <GgufScalar T>
  static GgufValue array(std::span<const T> vs) {
    GgufValue out(GgufTypeOf<T>::value, true);
    out.bytes_.reserve(vs.size() * sizeof(T));
    for (const T& v : vs) out.append(v);
    out.n_elems_ = vs.size();
    return out;
  }
  template <GgufScalar T>
  static GgufValue array(const std::vector<T>& vs) {
    return array(std::span<const T>(vs.data(), vs.size()));
  }
  static GgufValue array(const std::vector<bool>& vs);
  static GgufValue string(std::string v);
  static GgufValue string_array(std::vector<std::string> vs);
  // A fixed-size value from its little-endian bytes (n_elems * gguf_type_n_bytes(type)
  // of them); the reader's constructor. BOOL bytes must be 0 or 1 (checked by the caller).
  static GgufValue from_bytes(GgufType type, bool is_array, const uint8_t* data, size_t n_elems);

  bool is_array() const { return is_array_; }
  // ARRAY for arrays, else the scalar's type.
  GgufType type() const { return is_array_ ? GgufType::ARRAY : elem_type_; }
  // The scalar's type, or the array's element type.
  GgufType elem_type() const { return elem_type_; }
  size_t n_elems() const { return n_elems_; }  // 1 for a scalar
  // "u32", "str", "arr[f32]": for messages.
  std::string type_label() const;

  // Element i; T must be the element type exactly (std::out_of_range otherwise: a
  // programming error; GgufFile's typed getters check first and name the key).
  template <GgufScalar T>
  T at(size_t i) const {
    if (i >= n_elems_ || elem_type_ != GgufTypeOf<T>::value) throw std::out_of_range("GgufValue::at");
    T v{};
    if constexpr (std::is_same_v<T, bool>) {
      v = bytes_.at(i) != 0;
    } else {
      std::memcpy(&v, bytes_.data() + i * sizeof(T), sizeof(T));
    }
    return v;
  }
  template <GgufScalar T>
  std::vector<T> to_vector() const {
    std::vector<T> out(n_elems_);
    for (size_t i = 0; i < n_elems_; ++i) out[i] = at<T>(i);
    return out;
  }
  const std::string& str(size_t i = 0) const { return strings_.at(i); }
  const std::vector<std::string>& strings() const { return strings_; }
  // Raw little-endian payload of a fixed-size value (empty for strings).
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  bool operator==(const GgufValue& o) const = default;

 private:
  GgufValue(GgufType t, bool is_array) : elem_type_(t), is_array_(is_array) {}
  template <class T>
  void append(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      bytes_.push_back(v ? 1 : 0);
    } else {
      // resize + memcpy rather than insert(): GCC 12 misreports the latter
      const size_t n_old = bytes_.size();
      bytes_.resize(n_old + sizeof(T));
      std::memcpy(bytes_.data() + n_old, &v, sizeof(T));
    }
  }

  GgufType elem_type_ = GgufType::U8;
  bool is_array_ = true;
  size_t n_elems_ = 0;
  std::vector<uint8_t> bytes_;          // fixed-size types, little-endian
  std::vector<std::string> strings_;    // STRING
};

}  // namespace lowbit
