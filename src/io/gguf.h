// GGUF (ggml / llama.cpp) container: reader and writer. specs/gguf.md §1.
//
//   "GGUF" u32 version, i64 n_tensors, i64 n_kv, n_kv KV records, n_tensors tensor infos,
//   zero padding to ALIGNMENT, data section (tensor i at data + offset_i).
//
// The reader takes v2 and v3 (v1 used 32-bit counts and is rejected; v2 and v3 differ only
// in that v3 allows big-endian files, which are not supported). It validates the whole
// header before any tensor is touched: every length, count and offset is checked against
// the bytes that remain before it is used, so a hostile file can neither trigger a huge
// allocation nor an out-of-bounds read; metadata value types 0..12 (arrays of any non-array
// type; nested arrays rejected; BOOL must be 0 or 1); unique non-empty keys;
// general.alignment, when present, a UINT32 power of two (default 32); tensor names
// unique and < 64 bytes (GGML_MAX_NAME incl. NUL); 1..4 dims, each >= 0, element and byte
// counts overflow-checked; ggml type id known (io/gguf_types.h) and ne[0] a multiple of its
// block; each tensor's bytes aligned, inside the file, no two overlapping. Any violation
// throws Error(path, one-line reason).
//
// ggml's own reader is stricter about offsets (tensor i must sit exactly at the running sum
// of align_up(nbytes, ALIGNMENT) of the tensors before it); this reader accepts any aligned,
// non-overlapping layout and reports whether the file has ggml's (has_ggml_layout()).
// The writer always produces ggml's layout.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/mmap.h"
#include "io/gguf_types.h"
#include "io/gguf_value.h"

namespace lowbit {

inline constexpr uint32_t kGgufVersion = 3;             // what the writer emits
inline constexpr uint32_t kGgufDefaultAlignment = 32;   // GGUF_DEFAULT_ALIGNMENT
inline constexpr size_t kGgufMaxTensorNameBytes = 63;   // GGML_MAX_NAME (64) minus the NUL
inline constexpr size_t kGgufMaxDims = 4;               // GGML_MAX_DIMS
inline constexpr const char* kGgufAlignmentKey = "general.alignment";

struct GgufTensor {
  std::string name;
  uint32_t ggml_type = 0;      // ggml type id (io/gguf_types.h)
  std::vector<int64_t> ne;     // n_dims entries, ne[0] fastest-varying (reverse of PyTorch)
  uint64_t offset = 0;         // from the start of the data section
  const uint8_t* data = nullptr;  // inside the image/mapping
  size_t n_bytes = 0;

  int64_t n_elems() const;
  std::string type_name() const { return ggml_type_label(ggml_type); }
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

// The validated header of a GGUF image held in memory.
struct GgufHeader {
  uint32_t version = 0;
  uint32_t alignment = kGgufDefaultAlignment;
  size_t data_offset = 0;            // start of the data section in the image
  std::vector<GgufKv> metadata;      // file order
  std::vector<GgufTensor> tensors;   // tensor-info order; data points into the image
  bool ggml_layout = true;           // offsets are ggml's running sum (see top)
};

// Validates a whole GGUF image in memory without copying tensor data; `path` names it in
// errors. GgufFile::open is this on a mapping; the fuzzer calls it directly.
GgufHeader parse_gguf(const uint8_t* data, size_t n_bytes, const std::string& path);

// One .gguf file, mapped read-only. Typed getters require the exact stored type (as
// llama.cpp's loader does, specs/gguf.md §2) and throw
// Error(path, "key X has type Y, expected Z"), or Error(path, "missing key X"); the _opt
// variants return nullopt for an absent key but still throw on a wrong type.
class GgufFile {
 public:
  static std::unique_ptr<GgufFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return h_.version; }
  uint32_t alignment() const { return h_.alignment; }
  size_t data_offset() const { return h_.data_offset; }
  bool has_ggml_layout() const { return h_.ggml_layout; }
  const uint8_t* image() const { return file_.data(); }
  size_t image_n_bytes() const { return file_.n_bytes(); }

  // --- metadata
  const std::vector<GgufKv>& metadata() const { return h_.metadata; }  // file order
  const std::vector<std::string>& keys() const { return keys_; }       // file order
  bool has(const std::string& key) const { return find_value(key) != nullptr; }
  const GgufValue* find_value(const std::string& key) const;
  const GgufValue& value(const std::string& key) const;  // Error if missing

  template <GgufScalar T>
  T get(const std::string& key) const {
    return typed(key, GgufTypeOf<T>::value, false).template at<T>(0);
  }
  template <GgufScalar T>
  std::optional<T> get_opt(const std::string& key) const {
    if (const GgufValue* v = typed_opt(key, GgufTypeOf<T>::value, false)) return v->at<T>(0);
    return std::nullopt;
  }
  template <GgufScalar T>
  std::vector<T> get_array(const std::string& key) const {
    return typed(key, GgufTypeOf<T>::value, true).template to_vector<T>();
  }
  template <GgufScalar T>
  std::optional<std::vector<T>> get_array_opt(const std::string& key) const {
    if (const GgufValue* v = typed_opt(key, GgufTypeOf<T>::value, true))
      return v->to_vector<T>();
    return std::nullopt;
  }

  uint8_t get_u8(const std::string& k) const { return get<uint8_t>(k); }
  int8_t get_i8(const std::string& k) const { return get<int8_t>(k); }
  uint16_t get_u16(const std::string& k) const { return get<uint16_t>(k); }
  int16_t get_i16(const std::string& k) const { return get<int16_t>(k); }
  uint32_t get_u32(const std::string& k) const { return get<uint32_t>(k); }
  int32_t get_i32(const std::string& k) const { return get<int32_t>(k); }
  uint64_t get_u64(const std::string& k) const { return get<uint64_t>(k); }
  int64_t get_i64(const std::string& k) const { return get<int64_t>(k); }
  float get_f32(const std::string& k) const { return get<float>(k); }
  double get_f64(const std::string& k) const { return get<double>(k); }
  bool get_bool(const std::string& k) const { return get<bool>(k); }
  const std::string& get_string(const std::string& k) const;

  std::optional<uint32_t> get_u32_opt(const std::string& k) const { return get_opt<uint32_t>(k); }
  std::optional<int32_t> get_i32_opt(const std::string& k) const { return get_opt<int32_t>(k); }
  std::optional<uint64_t> get_u64_opt(const std::string& k) const { return get_opt<uint64_t>(k); }
  std::optional<float> get_f32_opt(const std::string& k) const { return get_opt<float>(k); }
  std::optional<bool> get_bool_opt(const std::string& k) const { return get_opt<bool>(k); }
  std::optional<std::string> get_string_opt(const std::string& k) const;

  const std::vector<std::string>& get_array_string(const std::string& k) const;
  std::vector<float> get_array_f32(const std::string& k) const { return get_array<float>(k); }
  std::vector<int32_t> get_array_i32(const std::string& k) const { return get_array<int32_t>(k); }
  std::vector<uint32_t> get_array_u32(const std::string& k) const { return get_array<uint32_t>(k); }
  std::optional<std::vector<std::string>> get_array_string_opt(const std::string& k) const;
  std::optional<std::vector<float>> get_array_f32_opt(const std::string& k) const {
    return get_array_opt<float>(k);
  }
  std::optional<std::vector<int32_t>> get_array_i32_opt(const std::string& k) const {
    return get_array_opt<int32_t>(k);
  }

  // --- tensors
  const std::vector<GgufTensor>& tensors() const { return h_.tensors; }  // tensor-info order
  const GgufTensor* find(const std::string& name) const;
  const GgufTensor& tensor(const std::string& name) const;  // Error naming it if absent

 private:
  const GgufValue& typed(const std::string& key, GgufType elem, bool is_array) const;
  const GgufValue* typed_opt(const std::string& key, GgufType elem, bool is_array) const;

  MappedFile file_;
  GgufHeader h_;
  std::vector<std::string> keys_;
  std::map<std::string, size_t> key_index_;
  std::map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file: metadata in insertion order with explicit types, tensors in
// add_tensor() order at ggml's offsets (each at the running sum of align_up(n_bytes,
// ALIGNMENT), the data section aligned, all padding zeros), so llama.cpp loads it.
// ALIGNMENT is general.alignment if set (must be UINT32, a power of two), else 32.
// Tensor data is copied from the given pointers at write() time, so they must stay valid
// until then. Errors before write() name "gguf writer"; write() errors name the path.
class GgufWriter {
 public:
  // Sets a key; a new key goes last, an existing one keeps its place and takes the new
  // value and type.
  void set(const std::string& key, GgufValue value);
  template <GgufScalar T>
  void set_scalar(const std::string& key, T v) { set(key, GgufValue::scalar(v)); }
  template <GgufScalar T>
  void set_array(const std::string& key, std::span<const T> vs) { set(key, GgufValue::array(vs)); }

  void set_u8(const std::string& k, uint8_t v) { set_scalar(k, v); }
  void set_i8(const std::string& k, int8_t v) { set_scalar(k, v); }
  void set_u16(const std::string& k, uint16_t v) { set_scalar(k, v); }
  void set_i16(const std::string& k, int16_t v) { set_scalar(k, v); }
  void set_u32(const std::string& k, uint32_t v) { set_scalar(k, v); }
  void set_i32(const std::string& k, int32_t v) { set_scalar(k, v); }
  void set_u64(const std::string& k, uint64_t v) { set_scalar(k, v); }
  void set_i64(const std::string& k, int64_t v) { set_scalar(k, v); }
  void set_f32(const std::string& k, float v) { set_scalar(k, v); }
  void set_f64(const std::string& k, double v) { set_scalar(k, v); }
  void set_bool(const std::string& k, bool v) { set_scalar(k, v); }
  void set_string(const std::string& k, std::string v) { set(k, GgufValue::string(std::move(v))); }

  void set_array_u8(const std::string& k, std::span<const uint8_t> v) { set_array(k, v); }
  void set_array_i8(const std::string& k, std::span<const int8_t> v) { set_array(k, v); }
  void set_array_u16(const std::string& k, std::span<const uint16_t> v) { set_array(k, v); }
  void set_array_i16(const std::string& k, std::span<const int16_t> v) { set_array(k, v); }
  void set_array_u32(const std::string& k, std::span<const uint32_t> v) { set_array(k, v); }
  void set_array_i32(const std::string& k, std::span<const int32_t> v) { set_array(k, v); }
  void set_array_u64(const std::string& k, std::span<const uint64_t> v) { set_array(k, v); }
  void set_array_i64(const std::string& k, std::span<const int64_t> v) { set_array(k, v); }
  void set_array_f32(const std::string& k, std::span<const float> v) { set_array(k, v); }
  void set_array_f64(const std::string& k, std::span<const double> v) { set_array(k, v); }
  void set_array_bool(const std::string& k, const std::vector<bool>& v) {
    set(k, GgufValue::array(v));
  }
  void set_array_string(const std::string& k, std::vector<std::string> v) {
    set(k, GgufValue::string_array(std::move(v)));
  }

  bool remove(const std::string& key);  // false if absent
  const GgufValue* find(const std::string& key) const;
  const std::vector<GgufKv>& metadata() const { return kvs_; }

  // ne: 1..4 dims, fastest first, written as given (ggml's writer drops trailing 1-dims,
  // gguf-py keeps them). n_bytes must equal the size implied by ggml_type and ne.
  void add_tensor(const std::string& name, uint32_t ggml_type, std::vector<int64_t> ne,
                  const void* data, size_t n_bytes);
  size_t n_tensors() const { return tensors_.size(); }

  uint32_t alignment() const;
  void write(const std::string& path) const;  // atomic: temp file, fsync, rename

 private:
  struct Tensor {
    std::string name;
    uint32_t ggml_type;
    std::vector<int64_t> ne;
    const void* data;
    size_t n_bytes;
  };
  std::vector<GgufKv> kvs_;
  std::map<std::string, size_t> key_index_;
  std::vector<Tensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace lowbit
