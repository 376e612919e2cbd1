// GGUF v3 writer, byte layout as ggml's gguf_write_to_buf (gguf.cpp): header, KVs in
// order, tensor infos, zero padding to ALIGNMENT, then each tensor's bytes followed by zero
// padding to ALIGNMENT (the last one too). specs/gguf.md §1.
#include <fmt/format.h>

#include <cstring>

#include "core/atomic_file.h"
#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_text.h"

namespace lowbit {
namespace {

const std::string kWriterName = "gguf writer";

uint64_t align_up(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

class Buffer {
 public:
  template <class T>
  void put(T v) {
    put_raw(&v, sizeof(T));  // little-endian host (static_assert in gguf_value.h)
  }
  void put_raw(const void* p, size_t n_bytes) {
    // resize + memcpy rather than insert(): GCC 12 misreports the latter (-Wstringop-overflow)
    const size_t n_old = bytes.size();
    bytes.resize(n_old + n_bytes);
    if (n_bytes > 0) std::memcpy(bytes.data() + n_old, p, n_bytes);
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    put_raw(s.data(), s.size());
  }
  void put_value(const GgufValue& v) {
    if (v.is_array()) {
      put<uint32_t>(static_cast<uint32_t>(GgufType::ARRAY));
      put<uint32_t>(static_cast<uint32_t>(v.elem_type()));
      put<uint64_t>(v.n_elems());
    } else {
      put<uint32_t>(static_cast<uint32_t>(v.elem_type()));
    }
    if (v.elem_type() == GgufType::STRING) {
      for (const auto& s : v.strings()) put_string(s);
    } else {
      put_raw(v.bytes().data(), v.bytes().size());
    }
  }
  std::vector<uint8_t> bytes;
};

void check_alignment_value(const GgufValue& v) {
  if (v.is_array() || v.elem_type() != GgufType::U32)
    fail(kWriterName, fmt::format("key {} has type {}, expected u32", kGgufAlignmentKey,
                                  v.type_label()));
  const uint32_t a = v.at<uint32_t>(0);
  if (a == 0 || (a & (a - 1)) != 0)
    fail(kWriterName, fmt::format("{} = {} is not a power of two", kGgufAlignmentKey, a));
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  if (key.empty()) fail(kWriterName, "empty metadata key");
  if (value.elem_type() == GgufType::ARRAY)  // GgufValue cannot build one; belt and braces
    fail(kWriterName, fmt::format("key {}: nested arrays are not supported", gguf_quote(key)));
  if (key == kGgufAlignmentKey) check_alignment_value(value);
  auto it = key_index_.find(key);
  if (it != key_index_.end()) {
    kvs_[it->second].value = std::move(value);
    return;
  }
  key_index_.emplace(key, kvs_.size());
  kvs_.push_back({key, std::move(value)});
}

bool GgufWriter::remove(const std::string& key) {
  auto it = key_index_.find(key);
  if (it == key_index_.end()) return false;
  kvs_.erase(kvs_.begin() + static_cast<std::ptrdiff_t>(it->second));
  key_index_.clear();
  for (size_t i = 0; i < kvs_.size(); ++i) key_index_.emplace(kvs_[i].key, i);
  return true;
}

const GgufValue* GgufWriter::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &kvs_[it->second].value;
}

uint32_t GgufWriter::alignment() const {
  const GgufValue* v = find(kGgufAlignmentKey);
  return v ? v->at<uint32_t>(0) : kGgufDefaultAlignment;  // type checked in set()
}

void GgufWriter::add_tensor(const std::string& name, uint32_t ggml_type, std::vector<int64_t> ne,
                            const void* data, size_t n_bytes) {
  const std::string label = "tensor " + gguf_quote(name);
  if (name.size() > kGgufMaxTensorNameBytes)
    fail(kWriterName, fmt::format("{}: name is {} bytes, the limit is {}", label, name.size(),
                                  kGgufMaxTensorNameBytes));
  if (tensor_index_.count(name)) fail(kWriterName, "duplicate tensor name " + gguf_quote(name));
  if (ne.empty() || ne.size() > kGgufMaxDims)
    fail(kWriterName, fmt::format("{}: {} dimensions, expected 1..{}", label, ne.size(),
                                  kGgufMaxDims));
  const GgmlTypeInfo* info = ggml_type_info(ggml_type);
  if (!info) fail(kWriterName, fmt::format("{}: unknown ggml type id {}", label, ggml_type));
  int64_t n_elems = 1;
  uint64_t n_rows = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] < 0) fail(kWriterName, fmt::format("{}: ne[{}] = {} is negative", label, d, ne[d]));
    if (__builtin_mul_overflow(n_elems, ne[d], &n_elems) ||
        (d > 0 && __builtin_mul_overflow(n_rows, static_cast<uint64_t>(ne[d]), &n_rows)))
      fail(kWriterName, fmt::format("{}: shape {} overflows", label, gguf_shape_str(ne)));
  }
  if (ne[0] % info->block_n_elems != 0)
    fail(kWriterName, fmt::format("{}: ne[0] = {} is not a multiple of the {} block size {}",
                                  label, ne[0], info->name, info->block_n_elems));
  const auto row_n_bytes = ggml_row_n_bytes(ggml_type, ne[0]);
  if (!row_n_bytes)
    fail(kWriterName, fmt::format("{}: row size of shape {} overflows", label, gguf_shape_str(ne)));
  uint64_t expected = 0;
  if (__builtin_mul_overflow(*row_n_bytes, n_rows, &expected) || expected != n_bytes)
    fail(kWriterName, fmt::format("{}: {} bytes given, {} {} needs {}", label, n_bytes,
                                  info->name, gguf_shape_str(ne), expected));
  if (!data && n_bytes > 0) fail(kWriterName, label + ": no data");
  tensor_index_.emplace(name, tensors_.size());
  tensors_.push_back({name, ggml_type, std::move(ne), data, n_bytes});
}

void GgufWriter::write(const std::string& path) const {
  const uint64_t alignment = this->alignment();
  Buffer meta;
  meta.put_raw("GGUF", 4);
  meta.put<uint32_t>(kGgufVersion);
  meta.put<int64_t>(static_cast<int64_t>(tensors_.size()));
  meta.put<int64_t>(static_cast<int64_t>(kvs_.size()));
  for (const auto& kv : kvs_) {
    meta.put_string(kv.key);
    meta.put_value(kv.value);
  }
  uint64_t offset = 0;  // ggml: tensor i at the running sum of align_up(nbytes, ALIGNMENT)
  for (const auto& t : tensors_) {
    meta.put_string(t.name);
    meta.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) meta.put<int64_t>(d);
    meta.put<uint32_t>(t.ggml_type);
    meta.put<uint64_t>(offset);
    offset += align_up(t.n_bytes, alignment);
  }

  AtomicFile out(path);
  out.write(meta.bytes.data(), meta.bytes.size());
  out.write_zeros(align_up(meta.bytes.size(), alignment) - meta.bytes.size());
  for (const auto& t : tensors_) {
    if (t.n_bytes > 0) out.write(t.data, t.n_bytes);
    out.write_zeros(align_up(t.n_bytes, alignment) - t.n_bytes);
  }
  out.commit();
}

}  // namespace lowbit
