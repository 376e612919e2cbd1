// Helpers for the checkpoint-format tests: the peers' goldens in ../shared/golden/hf (read
// as .npy), conversions to NamedTensor, byte comparisons, a deterministic RNG.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io/checkpoints/named_tensor.h"
#include "io/npy.h"
#include "test_util.h"

namespace ckpt_test {

// ../shared/golden/hf/<sub>, or "" when the reference material is absent.
inline std::string golden_dir(const std::string& sub) {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/golden/hf/" + sub;
}

#define SKIP_WITHOUT_GOLDEN(dir)                                                              \
  if ((dir).empty()) GTEST_SKIP() << "no ../shared/golden/hf (set LOWBIT_SHARED_DIR to run the " \
                                     "peer golden tests)"

inline lowbit::DType npy_dtype(const lowbit::NpyArray& a) {
  using lowbit::DType;
  switch (a.kind) {
    case 'f': return a.item_n_bytes == 2 ? DType::F16 : a.item_n_bytes == 4 ? DType::F32 : DType::F64;
    case 'b': return DType::BOOL;
    case 'u':
      if (a.item_n_bytes == 1) return DType::U8;
      break;
    case 'i':
      return a.item_n_bytes == 1 ? DType::I8 : a.item_n_bytes == 2 ? DType::I16 : a.item_n_bytes == 4 ? DType::I32 : DType::I64;
  }
  throw std::runtime_error("no DType for npy " + a.descr());
}

// The .npy as a NamedTensor called `name` (same dtype, shape and bytes).
inline lowbit::NamedTensor npy_tensor(const std::string& name, const lowbit::NpyArray& a) {
  return lowbit::make_tensor(name, npy_dtype(a), a.shape, a.data.data());
}

inline const lowbit::NamedTensor* find(const std::vector<lowbit::NamedTensor>& ts, const std::string& name) {
  for (const auto& t : ts)
    if (t.name == name) return &t;
  return nullptr;
}

// dtype, shape and every byte equal; on mismatch says where the first difference is.
inline ::testing::AssertionResult same_tensor(const lowbit::NamedTensor* t, const lowbit::NpyArray& want) {
  if (!t) return ::testing::AssertionFailure() << "tensor missing";
  if (t->dtype != npy_dtype(want))
    return ::testing::AssertionFailure() << t->name << ": dtype " << lowbit::dtype_name(t->dtype) << " vs npy "
                                         << want.descr();
  if (t->shape != want.shape)
    return ::testing::AssertionFailure() << t->name << ": shape " << lowbit::shape_str(t->shape) << " vs "
                                         << lowbit::shape_str(want.shape);
  if (t->bytes.size() != want.data.size()) return ::testing::AssertionFailure() << t->name << ": byte count";
  for (size_t i = 0; i < want.data.size(); ++i)
    if (t->bytes[i] != want.data[i])
      return ::testing::AssertionFailure() << t->name << ": first differing byte " << i << " of "
                                           << want.data.size();
  return ::testing::AssertionSuccess();
}

inline std::vector<int32_t> i32_of(const lowbit::NamedTensor& t) {
  std::vector<int32_t> v(t.bytes.size() / 4);
  std::memcpy(v.data(), t.bytes.data(), v.size() * 4);
  return v;
}

inline std::vector<uint8_t> u8_of(const lowbit::NpyArray& a) {
  std::vector<uint8_t> v;
  for (int64_t x : a.to_i64()) v.push_back(static_cast<uint8_t>(x));
  return v;
}

// splitmix64: reproducible fixtures without <random>'s implementation-defined distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * static_cast<float>((next() >> 40) * 0x1.0p-24); }

 private:
  uint64_t s_;
};

}  // namespace ckpt_test
