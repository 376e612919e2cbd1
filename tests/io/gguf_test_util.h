// Helpers shared by the GGUF tests (header-only).
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace gguf_test {

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Builds GGUF images byte by byte (little-endian), for hand-made bad inputs.
struct Image {
  std::string bytes;

  template <class T>
  Image& put(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  Image& str(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.append(s);
    return *this;
  }
  Image& header(int64_t n_tensors, int64_t n_kv, uint32_t version = 3) {
    bytes += "GGUF";
    put(version).put(n_tensors).put(n_kv);
    return *this;
  }
  Image& kv_u32(std::string_view key, uint32_t v) {
    str(key).put<uint32_t>(4).put(v);
    return *this;
  }
  Image& kv_string(std::string_view key, std::string_view v) {
    str(key).put<uint32_t>(8).str(v);
    return *this;
  }
  Image& tensor_info(std::string_view name, std::vector<int64_t> ne, uint32_t ggml_type,
                     uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) put(d);
    put(ggml_type).put(offset);
    return *this;
  }
  Image& pad(size_t alignment = 32) {
    while (bytes.size() % alignment) bytes.push_back('\0');
    return *this;
  }
  Image& zeros(size_t n) {
    bytes.append(n, '\0');
    return *this;
  }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(bytes.data()); }
  size_t size() const { return bytes.size(); }
};

// Runs fn, expects a lowbit::Error whose one-line message names `file` and contains every
// needle.
template <class Fn>
void expect_error(Fn&& fn, const std::string& file, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one about " << *needles.begin();
  } catch (const lowbit::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.file(), file) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
    for (const auto& n : needles)
      EXPECT_NE(what.find(n), std::string::npos) << "expected \"" << n << "\" in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a lowbit::Error: " << e.what();
  }
}

}  // namespace gguf_test
