// GGUF reader. Layout and checks: specs/gguf.md §1; behaviour follows ggml's
// gguf_init_from_file_impl (gguf.cpp) except where noted, always refusing rather than
// aborting on bad input.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_text.h"

namespace lowbit {
namespace {

// Smallest possible encodings, used to bound header counts by the bytes left before any
// loop or allocation sized by them: a KV record is a non-empty key (8-byte length + 1),
// a u32 type and at least 1 value byte; a tensor info is a name (8-byte length), n_dims,
// one i64 dim, the type and the offset.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

// Bounds-checked little-endian reads from the image.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t n_bytes, const std::string& path)
      : data_(data), n_bytes_(n_bytes), path_(path) {}

  size_t pos() const { return pos_; }
  size_t n_left() const { return n_bytes_ - pos_; }

  const uint8_t* take(uint64_t n, const std::string& what) {
    if (n > n_left())
      fail(path_, fmt::format("truncated: {} needs {} bytes at offset {}, only {} left", what, n,
                              pos_, n_left()));
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }
  template <class T>
  T read(const std::string& what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  std::string read_string(const std::string& what) {
    const uint64_t len = read<uint64_t>(what + " length");
    if (len > n_left())
      fail(path_, fmt::format("{} has length {} at offset {}, but only {} bytes are left", what,
                              len, pos_, n_left()));
    const uint8_t* p = take(len, what);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  }

 private:
  const uint8_t* data_;
  size_t n_bytes_;
  size_t pos_ = 0;
  const std::string& path_;
};

uint32_t read_version(Cursor& c, const std::string& path) {
  const uint32_t version = c.read<uint32_t>("version");
  if (version == 2 || version == 3) return version;
  if (version == 1)
    fail(path, "GGUF v1 is not supported (it used 32-bit counts); re-convert the model");
  // GGUF v3 allows an all-big-endian file, detectable only by a byte-swapped version.
  if (version == 0x02000000u || version == 0x03000000u)
    fail(path, "big-endian GGUF files are not supported");
  fail(path, fmt::format("unsupported GGUF version {} (expected 2 or 3)", version));
}

// Reads one KV value of `type` (array element type if is_array) for `key`.
GgufValue read_value(Cursor& c, const std::string& path, const std::string& key, GgufType type,
                     bool is_array, uint64_t n_elems) {
  const std::string what = "value of key " + gguf_quote(key);
  if (type == GgufType::STRING) {
    // Each string takes at least its 8-byte length: bound the count before allocating.
    if (n_elems > c.n_left() / 8)
      fail(path, fmt::format("key {}: array of {} strings cannot fit in the {} bytes left",
                             gguf_quote(key), n_elems, c.n_left()));
    std::vector<std::string> strs;
    strs.reserve(static_cast<size_t>(n_elems));
    for (uint64_t i = 0; i < n_elems; ++i) strs.push_back(c.read_string(what));
    if (!is_array) return GgufValue::string(std::move(strs[0]));
    return GgufValue::string_array(std::move(strs));
  }
  const size_t elem_n_bytes = gguf_type_n_bytes(type);
  if (n_elems > c.n_left() / elem_n_bytes)
    fail(path, fmt::format("key {}: array of {} {} values cannot fit in the {} bytes left",
                           gguf_quote(key), n_elems, gguf_type_name(type), c.n_left()));
  const uint8_t* p = c.take(n_elems * elem_n_bytes, what);
  if (type == GgufType::BOOL) {
    for (uint64_t i = 0; i < n_elems; ++i)
      if (p[i] > 1)
        fail(path, fmt::format("key {}: bool value {} is not 0 or 1", gguf_quote(key), p[i]));
  }
  return GgufValue::from_bytes(type, is_array, p, static_cast<size_t>(n_elems));
}

void read_metadata(Cursor& c, const std::string& path, uint64_t n_kv, GgufHeader& h) {
  std::set<std::string> seen;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string(fmt::format("key of KV {}", i));
    if (key.empty()) fail(path, fmt::format("KV {} has an empty key", i));
    if (!seen.insert(key).second) fail(path, fmt::format("duplicate key {}", gguf_quote(key)));
    uint32_t type_id = c.read<uint32_t>("type of key " + gguf_quote(key));
    bool is_array = false;
    uint64_t n_elems = 1;
    if (type_id == static_cast<uint32_t>(GgufType::ARRAY)) {
      is_array = true;
      type_id = c.read<uint32_t>("element type of key " + gguf_quote(key));
      n_elems = c.read<uint64_t>("element count of key " + gguf_quote(key));
      if (type_id == static_cast<uint32_t>(GgufType::ARRAY))
        fail(path, fmt::format("key {}: nested arrays are not supported", gguf_quote(key)));
      if (type_id >= kGgufTypeCount)
        fail(path, fmt::format("key {}: unknown array element type {}", gguf_quote(key), type_id));
    } else if (type_id >= kGgufTypeCount) {
      fail(path, fmt::format("key {}: unknown value type {}", gguf_quote(key), type_id));
    }
    GgufValue v = read_value(c, path, key, static_cast<GgufType>(type_id), is_array, n_elems);
    h.metadata.push_back({std::move(key), std::move(v)});
  }
}

// general.alignment: ggml requires UINT32 and a power of two (gguf.cpp).
uint32_t read_alignment(const GgufHeader& h, const std::string& path) {
  for (const auto& kv : h.metadata) {
    if (kv.key != kGgufAlignmentKey) continue;
    if (kv.value.is_array() || kv.value.elem_type() != GgufType::U32)
      fail(path, fmt::format("key {} has type {}, expected u32", kv.key, kv.value.type_label()));
    const uint32_t a = kv.value.at<uint32_t>(0);
    if (a == 0 || (a & (a - 1)) != 0)
      fail(path, fmt::format("{} = {} is not a power of two", kv.key, a));
    return a;
  }
  return kGgufDefaultAlignment;
}

GgufTensor read_tensor_info(Cursor& c, const std::string& path, uint64_t i) {
  GgufTensor t;
  t.name = c.read_string(fmt::format("name of tensor {}", i));
  const std::string label = "tensor " + gguf_quote(t.name);
  if (t.name.size() > kGgufMaxTensorNameBytes)
    fail(path, fmt::format("{}: name is {} bytes, the limit is {}", label, t.name.size(),
                           kGgufMaxTensorNameBytes));
  const uint32_t n_dims = c.read<uint32_t>("n_dims of " + label);
  if (n_dims < 1 || n_dims > kGgufMaxDims)
    fail(path, fmt::format("{}: {} dimensions, expected 1..{}", label, n_dims, kGgufMaxDims));
  int64_t n_elems = 1;
  int64_t n_rows = 1;  // product of ne[1..]
  bool overflow = false;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const int64_t ne = c.read<int64_t>(fmt::format("ne[{}] of {}", d, label));
    if (ne < 0) fail(path, fmt::format("{}: ne[{}] = {} is negative", label, d, ne));
    t.ne.push_back(ne);
    overflow |= __builtin_mul_overflow(n_elems, ne, &n_elems);
    if (d > 0) overflow |= __builtin_mul_overflow(n_rows, ne, &n_rows);
  }
  if (overflow)
    fail(path, fmt::format("{}: element count of shape {} overflows int64", label,
                           gguf_shape_str(t.ne)));
  t.ggml_type = c.read<uint32_t>("type of " + label);
  const GgmlTypeInfo* info = ggml_type_info(t.ggml_type);
  if (!info) fail(path, fmt::format("{}: unknown ggml type id {}", label, t.ggml_type));
  if (t.ne[0] % info->block_n_elems != 0)
    fail(path, fmt::format("{}: ne[0] = {} is not a multiple of the {} block size {}", label,
                           t.ne[0], info->name, info->block_n_elems));
  // The row size can overflow even when the element count cannot (ne = [2^62, 0]).
  const std::optional<uint64_t> row_n_bytes = ggml_row_n_bytes(t.ggml_type, t.ne[0]);
  uint64_t n_bytes = 0;
  if (!row_n_bytes || __builtin_mul_overflow(*row_n_bytes, static_cast<uint64_t>(n_rows), &n_bytes) ||
      n_bytes > std::numeric_limits<size_t>::max())
    fail(path, fmt::format("{}: byte size of shape {} overflows", label, gguf_shape_str(t.ne)));
  t.n_bytes = static_cast<size_t>(n_bytes);
  t.offset = c.read<uint64_t>("offset of " + label);
  return t;
}

// Places every tensor in the data section: aligned, inside the image, no overlaps.
void place_tensors(GgufHeader& h, const uint8_t* data, size_t n_bytes, const std::string& path) {
  if (h.tensors.empty()) return;
  if (h.data_offset > n_bytes)
    fail(path, fmt::format("truncated: the data section starts at offset {}, past the end of "
                           "the {}-byte file",
                           h.data_offset, n_bytes));
  const uint64_t n_data_bytes = n_bytes - h.data_offset;
  uint64_t expected_offset = 0;  // ggml's running sum of align_up(n_bytes, alignment)
  for (auto& t : h.tensors) {
    const std::string label = "tensor " + gguf_quote(t.name);
    if (t.offset % h.alignment != 0)
      fail(path, fmt::format("{}: offset {} is not a multiple of the alignment {}", label,
                             t.offset, h.alignment));
    if (t.offset > n_data_bytes || t.n_bytes > n_data_bytes - t.offset)
      fail(path, fmt::format("{}: bytes [{}, +{}) of the data section lie outside the file "
                             "(data section has {} bytes; truncated?)",
                             label, t.offset, t.n_bytes, n_data_bytes));
    t.data = data + h.data_offset + t.offset;
    if (t.offset != expected_offset) h.ggml_layout = false;
    expected_offset += (t.n_bytes + h.alignment - 1) / h.alignment * h.alignment;
  }
  std::vector<const GgufTensor*> by_offset;
  for (const auto& t : h.tensors)
    if (t.n_bytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor& a = *by_offset[i - 1];
    const GgufTensor& b = *by_offset[i];
    if (a.offset + a.n_bytes > b.offset)
      fail(path, fmt::format("tensors {} [{}, +{}) and {} [{}, +{}) overlap", gguf_quote(a.name),
                             a.offset, a.n_bytes, gguf_quote(b.name), b.offset, b.n_bytes));
  }
}

}  // namespace

int64_t GgufTensor::n_elems() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // overflow excluded by the reader / writer checks
  return n;
}

GgufHeader parse_gguf(const uint8_t* data, size_t n_bytes, const std::string& path) {
  Cursor c(data, n_bytes, path);
  if (n_bytes < 4) fail(path, fmt::format("truncated: {} bytes, too short for a GGUF file", n_bytes));
  const uint8_t* magic = c.take(4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0)
    fail(path, fmt::format("bad magic \"{}\": not a GGUF file",
                           gguf_printable(std::string_view(reinterpret_cast<const char*>(magic), 4))));
  GgufHeader h;
  h.version = read_version(c, path);
  const int64_t n_tensors = c.read<int64_t>("tensor count");
  const int64_t n_kv = c.read<int64_t>("metadata count");
  if (n_tensors < 0) fail(path, fmt::format("negative tensor count {}", n_tensors));
  if (n_kv < 0) fail(path, fmt::format("negative metadata count {}", n_kv));
  if (static_cast<uint64_t>(n_kv) > c.n_left() / kMinKvBytes)
    fail(path, fmt::format("metadata count {} cannot fit in the {} bytes left", n_kv, c.n_left()));
  if (static_cast<uint64_t>(n_tensors) > c.n_left() / kMinTensorInfoBytes)
    fail(path, fmt::format("tensor count {} cannot fit in the {} bytes left", n_tensors,
                           c.n_left()));

  read_metadata(c, path, static_cast<uint64_t>(n_kv), h);
  h.alignment = read_alignment(h, path);

  std::set<std::string> names;
  h.tensors.reserve(static_cast<size_t>(n_tensors));
  for (int64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t = read_tensor_info(c, path, static_cast<uint64_t>(i));
    if (!names.insert(t.name).second)
      fail(path, fmt::format("duplicate tensor name {}", gguf_quote(t.name)));
    h.tensors.push_back(std::move(t));
  }
  // The data section starts at the next multiple of ALIGNMENT (ggml pads even when there
  // are no tensors; the padding may be missing then, which is harmless).
  h.data_offset = (c.pos() + h.alignment - 1) / h.alignment * h.alignment;
  place_tensors(h, data, n_bytes, path);
  return h;
}

// ---------------------------------------------------------------------------------------
// GgufFile
// ---------------------------------------------------------------------------------------

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path) {
  auto f = std::unique_ptr<GgufFile>(new GgufFile());
  f->file_ = MappedFile::open(path);
  f->h_ = parse_gguf(f->file_.data(), f->file_.n_bytes(), path);
  for (size_t i = 0; i < f->h_.metadata.size(); ++i) {
    f->keys_.push_back(f->h_.metadata[i].key);
    f->key_index_.emplace(f->h_.metadata[i].key, i);
  }
  for (size_t i = 0; i < f->h_.tensors.size(); ++i)
    f->tensor_index_.emplace(f->h_.tensors[i].name, i);
  return f;
}

const GgufValue* GgufFile::find_value(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &h_.metadata[it->second].value;
}

const GgufValue& GgufFile::value(const std::string& key) const {
  if (const GgufValue* v = find_value(key)) return *v;
  fail(path(), "missing key " + gguf_quote(key));
}

const GgufValue* GgufFile::typed_opt(const std::string& key, GgufType elem, bool is_array) const {
  const GgufValue* v = find_value(key);
  if (!v) return nullptr;
  if (v->is_array() != is_array || v->elem_type() != elem) {
    const std::string want =
        is_array ? "arr[" + gguf_type_name(elem) + "]" : gguf_type_name(elem);
    fail(path(), fmt::format("key {} has type {}, expected {}", gguf_quote(key), v->type_label(),
                             want));
  }
  return v;
}

const GgufValue& GgufFile::typed(const std::string& key, GgufType elem, bool is_array) const {
  if (const GgufValue* v = typed_opt(key, elem, is_array)) return *v;
  fail(path(), "missing key " + gguf_quote(key));
}

const std::string& GgufFile::get_string(const std::string& k) const {
  return typed(k, GgufType::STRING, false).str(0);
}

std::optional<std::string> GgufFile::get_string_opt(const std::string& k) const {
  if (const GgufValue* v = typed_opt(k, GgufType::STRING, false)) return v->str(0);
  return std::nullopt;
}

const std::vector<std::string>& GgufFile::get_array_string(const std::string& k) const {
  return typed(k, GgufType::STRING, true).strings();
}

std::optional<std::vector<std::string>> GgufFile::get_array_string_opt(const std::string& k) const {
  if (const GgufValue* v = typed_opt(k, GgufType::STRING, true)) return v->strings();
  return std::nullopt;
}

const GgufTensor* GgufFile::find(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &h_.tensors[it->second];
}

const GgufTensor& GgufFile::tensor(const std::string& name) const {
  if (const GgufTensor* t = find(name)) return *t;
  fail(path(), "no tensor named " + gguf_quote(name));
}

}  // namespace lowbit
