#include "io/npy.h"

#include <cstring>
#include <limits>
#include <string_view>

#include "core/convert.h"
#include "core/error.h"
#include "core/mmap.h"

namespace lowbit {
namespace {

constexpr size_t kMaxHeaderBytes = 1u << 20;  // real headers are < 200 bytes
constexpr size_t kMaxDims = 32;               // NPY_MAXDIMS

// A tiny cursor over the header dict literal. Only what numpy.save writes is accepted:
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } in any key order.
class HeaderParser {
 public:
  HeaderParser(std::string_view s, const std::string& name) : s_(s), name_(name) {}

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(name_, std::string("npy header: expected '") + c + "'");
  }
  std::string string_lit() {
    skip_ws();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail(name_, "npy header: expected a string");
    const char q = s_[pos_++];
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail(name_, "npy header: escapes are not supported");
      ++pos_;
    }
    if (pos_ >= s_.size()) fail(name_, "npy header: unterminated string");
    return std::string(s_.substr(start, pos_++ - start));
  }
  bool bool_lit() {
    skip_ws();
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail(name_, "npy header: expected True or False");
  }
  int64_t int_lit() {
    skip_ws();
    int64_t v = 0;
    size_t n_digits = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail(name_, "npy header: dimension too large");
      v = v * 10 + (s_[pos_++] - '0');
      ++n_digits;
    }
    if (n_digits == 0) fail(name_, "npy header: expected a non-negative integer");
    if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long suffix
    return v;
  }
  std::vector<int64_t> shape_tuple() {
    expect('(');
    std::vector<int64_t> shape;
    while (!eat(')')) {
      if (shape.size() >= kMaxDims) fail(name_, "npy header: too many dimensions");
      shape.push_back(int_lit());
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }
  bool at_end() {
    skip_ws();
    return pos_ == s_.size();
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
  const std::string& name_;
};

void parse_descr(const std::string& descr, NpyArray& a, const std::string& name) {
  if (descr.size() != 3) fail(name, "npy: unsupported dtype '" + descr + "'");
  const char order = descr[0], kind = descr[1], size = descr[2];
  if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f') fail(name, "npy: unsupported dtype '" + descr + "'");
  if (size != '1' && size != '2' && size != '4' && size != '8') fail(name, "npy: unsupported dtype '" + descr + "'");
  a.kind = kind;
  a.item_n_bytes = size - '0';
  if (kind == 'b' && a.item_n_bytes != 1) fail(name, "npy: unsupported dtype '" + descr + "'");
  if (kind == 'f' && a.item_n_bytes == 1) fail(name, "npy: unsupported dtype '" + descr + "'");
  // '|' (not applicable) only makes sense for 1-byte items; '=' is native (little-endian here).
  const bool ok_order = order == '<' || order == '=' || (order == '|' && a.item_n_bytes == 1);
  if (!ok_order) fail(name, "npy: byte order of '" + descr + "' is not supported (little-endian only)");
}

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

double element_f64(const NpyArray& a, int64_t i) {
  const uint8_t* p = a.data.data() + i * a.item_n_bytes;
  switch (a.kind) {
    case 'b': return p[0] != 0 ? 1.0 : 0.0;
    case 'f':
      if (a.item_n_bytes == 2) return f16_to_f32(load<uint16_t>(p));
      if (a.item_n_bytes == 4) return load<float>(p);
      return load<double>(p);
    case 'i':
      if (a.item_n_bytes == 1) return load<int8_t>(p);
      if (a.item_n_bytes == 2) return load<int16_t>(p);
      if (a.item_n_bytes == 4) return load<int32_t>(p);
      return static_cast<double>(load<int64_t>(p));
    default:
      if (a.item_n_bytes == 1) return p[0];
      if (a.item_n_bytes == 2) return load<uint16_t>(p);
      if (a.item_n_bytes == 4) return load<uint32_t>(p);
      return static_cast<double>(load<uint64_t>(p));
  }
}

}  // namespace

int64_t NpyArray::n_elems() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string NpyArray::descr() const {
  std::string s = item_n_bytes == 1 ? "|" : "<";
  s += kind;
  s += static_cast<char>('0' + item_n_bytes);
  return s;
}

std::vector<float> NpyArray::to_f32() const {
  const int64_t n = n_elems();
  std::vector<float> out(static_cast<size_t>(n));
  if (kind == 'f' && item_n_bytes == 4) {
    std::memcpy(out.data(), data.data(), data.size());
    return out;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(element_f64(*this, i));
  return out;
}

std::vector<double> NpyArray::to_f64() const {
  const int64_t n = n_elems();
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[i] = element_f64(*this, i);
  return out;
}

std::vector<int64_t> NpyArray::to_i64() const {
  if (kind == 'f') fail("", "npy: to_i64 of a float array (" + descr() + ")");
  const int64_t n = n_elems();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = data.data() + i * item_n_bytes;
    if (kind == 'u' && item_n_bytes == 8) {
      const uint64_t v = load<uint64_t>(p);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail("", "npy: u8 value beyond int64");
      out[i] = static_cast<int64_t>(v);
    } else if (kind == 'i' && item_n_bytes == 8) {
      out[i] = load<int64_t>(p);
    } else {
      out[i] = static_cast<int64_t>(element_f64(*this, i));  // exact: < 2^53
    }
  }
  return out;
}

NpyArray parse_npy(const uint8_t* bytes, size_t n_bytes, const std::string& name) {
  static const char kMagic[] = "\x93NUMPY";
  if (n_bytes < 10 || std::memcmp(bytes, kMagic, 6) != 0) fail(name, "not a .npy file (bad magic)");
  const uint8_t major = bytes[6];
  size_t header_n_bytes = 0, header_offset = 0;
  if (major == 1) {
    header_n_bytes = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8);
    header_offset = 10;
  } else if (major == 2 || major == 3) {
    if (n_bytes < 12) fail(name, "npy: truncated header length");
    header_n_bytes = static_cast<size_t>(bytes[8]) | (static_cast<size_t>(bytes[9]) << 8) |
                     (static_cast<size_t>(bytes[10]) << 16) | (static_cast<size_t>(bytes[11]) << 24);
    header_offset = 12;
  } else {
    fail(name, "npy: unsupported format version " + std::to_string(major));
  }
  if (header_n_bytes > kMaxHeaderBytes) fail(name, "npy: header too large");
  if (header_n_bytes > n_bytes - header_offset) fail(name, "npy: header runs past the end of the file");

  const std::string_view header(reinterpret_cast<const char*>(bytes + header_offset), header_n_bytes);
  HeaderParser p(header, name);
  NpyArray a;
  bool have_descr = false, have_order = false, have_shape = false;
  p.expect('{');
  while (!p.eat('}')) {
    const std::string key = p.string_lit();
    p.expect(':');
    if (key == "descr" && !have_descr) {
      parse_descr(p.string_lit(), a, name);
      have_descr = true;
    } else if (key == "fortran_order" && !have_order) {
      a.fortran_order = p.bool_lit();
      have_order = true;
    } else if (key == "shape" && !have_shape) {
      a.shape = p.shape_tuple();
      have_shape = true;
    } else {
      fail(name, "npy header: unexpected or repeated key '" + key + "'");
    }
    if (!p.eat(',')) {
      p.expect('}');
      break;
    }
  }
  if (!p.at_end()) fail(name, "npy header: trailing characters after the dict");
  if (!have_descr || !have_order || !have_shape) fail(name, "npy header: missing descr, fortran_order or shape");

  uint64_t n_elems = 1;
  for (int64_t d : a.shape) {
    if (d != 0 && n_elems > std::numeric_limits<uint64_t>::max() / 8 / static_cast<uint64_t>(d))
      fail(name, "npy: shape too large");
    n_elems *= static_cast<uint64_t>(d);
  }
  const size_t data_offset = header_offset + header_n_bytes;
  const uint64_t data_n_bytes = n_elems * static_cast<uint64_t>(a.item_n_bytes);
  if (data_n_bytes != n_bytes - data_offset)
    fail(name, "npy: data is " + std::to_string(n_bytes - data_offset) + " bytes, shape and dtype need " +
                   std::to_string(data_n_bytes));
  a.data.assign(bytes + data_offset, bytes + n_bytes);
  return a;
}

NpyArray read_npy(const std::string& path) {
  MappedFile f = MappedFile::open(path);
  return parse_npy(f.data(), f.n_bytes(), path);
}

}  // namespace lowbit
