#include "io/npy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/error.h"
#include "test_util.h"

namespace {

std::string make_npy(const std::string& dict, const std::string& payload, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  out += static_cast<char>(header.size() & 0xFF);
  out += static_cast<char>((header.size() >> 8) & 0xFF);
  if (major != 1) out += std::string(2, '\0');
  return out + header + payload;
}

lowbit::NpyArray parse(const std::string& s) {
  return lowbit::parse_npy(reinterpret_cast<const uint8_t*>(s.data()), s.size(), "mem.npy");
}

TEST(Npy, ParsesFloatAndIntArrays) {
  float v[6] = {1, 2, 3, 4, 5, -6.5f};
  std::string payload(reinterpret_cast<const char*>(v), sizeof(v));
  auto a = parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.descr(), "<f4");
  EXPECT_EQ(a.to_f32()[5], -6.5f);

  int32_t w[3] = {-1, 7, 1 << 30};
  auto b = parse(make_npy("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                          std::string(reinterpret_cast<const char*>(w), sizeof(w)), 2));
  EXPECT_EQ(b.to_i64(), (std::vector<int64_t>{-1, 7, 1 << 30}));
  EXPECT_THROW(a.to_i64(), lowbit::Error);

  uint16_t h[2] = {0x3C00, 0xC000};  // 1.0, -2.0 in binary16
  auto c = parse(make_npy("{'shape': (2,), 'fortran_order': False, 'descr': '<f2'}",
                          std::string(reinterpret_cast<const char*>(h), sizeof(h))));
  EXPECT_EQ(c.to_f32(), (std::vector<float>{1.0f, -2.0f}));

  auto scalar = parse(make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", "\x05"));
  EXPECT_EQ(scalar.n_elems(), 1);
  EXPECT_EQ(scalar.to_i64()[0], 5);
}

TEST(Npy, RejectsBadInput) {
  const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string payload(8, '\0');
  EXPECT_NO_THROW(parse(make_npy(ok_dict, payload)));
  EXPECT_THROW(parse(make_npy(ok_dict, payload + "x")), lowbit::Error);        // trailing bytes
  EXPECT_THROW(parse(make_npy(ok_dict, payload.substr(1))), lowbit::Error);     // short data
  EXPECT_THROW(parse("\x93NUMPZ\x01\x00\x00\x00"), lowbit::Error);              // magic
  EXPECT_THROW(parse(make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", payload)),
               lowbit::Error);  // big-endian
  EXPECT_THROW(parse(make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", payload)),
               lowbit::Error);  // object
  EXPECT_THROW(parse(make_npy("{'descr': '<f4', 'fortran_order': False}", payload)), lowbit::Error);
  EXPECT_THROW(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", payload)),
               lowbit::Error);
  EXPECT_THROW(parse(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                              "(4294967296, 4294967296, 4294967296), }",
                              payload)),
               lowbit::Error);  // overflow
  EXPECT_THROW(parse(make_npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", payload)),
               lowbit::Error);
  // Every truncation of a valid file is rejected, never read out of bounds.
  const std::string good = make_npy(ok_dict, payload);
  for (size_t n = 0; n < good.size(); ++n) EXPECT_THROW(parse(good.substr(0, n)), lowbit::Error) << n;
}

TEST(Npy, ReadsGoldenFile) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared reference dir absent (set LOWBIT_SHARED_DIR)";
  auto w = lowbit::read_npy(shared + "/golden/hf/gptq/inputs/W.npy");
  EXPECT_EQ(w.descr(), "<f2");
  EXPECT_EQ(w.shape, (std::vector<int64_t>{64, 256}));
  EXPECT_FALSE(w.fortran_order);
}

}  // namespace
