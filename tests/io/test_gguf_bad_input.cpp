// GGUF reader on hostile and damaged inputs: every one must give a one-line
// lowbit::Error naming the file, never a crash, a huge allocation or an out-of-bounds read.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gguf_test_util.h"
#include "io/gguf.h"
#include "test_util.h"

using namespace lowbit;
using gguf_test::expect_error;
using gguf_test::Image;

namespace {

const std::string kName = "mem.gguf";

void expect_rejected(const Image& img, std::initializer_list<std::string> needles) {
  expect_error([&] { parse_gguf(img.data(), img.size(), kName); }, kName, needles);
}

// A valid image: one KV, two F32 tensors [8] at offsets 0 and 32.
Image valid_image() {
  Image img;
  img.header(2, 1).kv_string("general.architecture", "llama");
  img.tensor_info("a", {8}, 0, 0).tensor_info("b", {8}, 0, 32).pad();
  img.zeros(64);
  return img;
}

TEST(GgufBadInput, ValidImageParses) {
  const Image img = valid_image();
  GgufHeader h = parse_gguf(img.data(), img.size(), kName);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_TRUE(h.ggml_layout);
  EXPECT_EQ(h.tensors[1].data, img.data() + h.data_offset + 32);
}

TEST(GgufBadInput, EveryTruncationIsAnError) {
  // Cuts at every byte cross each field boundary of the header, KVs, tensor infos and data.
  test::TempDir dir("gguf");
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 1);
  w.set_array_string("tokenizer.ggml.tokens", {"<s>", "a"});
  const std::vector<float> scores = {0.f, -1.f};
  w.set_array_f32("tokenizer.ggml.scores", scores);
  w.set_bool("b", true);
  const std::vector<uint8_t> q8(34 * 2, 7);
  const std::vector<float> norm(32, 1.f);
  w.add_tensor("q8", kGgmlTypeQ8_0, {32, 2}, q8.data(), q8.size());
  w.add_tensor("norm", kGgmlTypeF32, {32}, norm.data(), norm.size() * 4);
  const std::string path = dir.file("small.gguf");
  w.write(path);
  const std::string bytes = gguf_test::read_all(path);
  ASSERT_NO_THROW(parse_gguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kName));
  // The last tensor's padding is not needed to read it; everything before its end is.
  auto f = GgufFile::open(path);
  const size_t n_needed = f->data_offset() + f->tensors().back().offset + norm.size() * 4;
  for (size_t n = 0; n < n_needed; ++n) {
    // A copy of exactly n bytes, so ASan sees any read past the end.
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    SCOPED_TRACE(n);
    expect_error([&] { parse_gguf(prefix.data(), prefix.size(), kName); }, kName, {""});
  }
  // The same through a file, at a few points.
  for (size_t n : {size_t{0}, size_t{3}, size_t{20}, bytes.size() / 2, n_needed - 1}) {
    test::write_bytes(dir.file("cut.gguf"), std::string_view(bytes).substr(0, n));
    expect_error([&] { GgufFile::open(dir.file("cut.gguf")); }, dir.file("cut.gguf"),
                 {"truncated"});
  }
}

TEST(GgufBadInput, MagicAndVersion) {
  Image bad_magic;
  bad_magic.bytes = "GGML";
  bad_magic.put<uint32_t>(3).put<int64_t>(0).put<int64_t>(0);
  expect_rejected(bad_magic, {"bad magic", "not a GGUF file"});
  expect_rejected(Image().header(0, 0, 1), {"GGUF v1 is not supported"});
  expect_rejected(Image().header(0, 0, 4), {"unsupported GGUF version 4"});
  expect_rejected(Image().header(0, 0, 0), {"unsupported GGUF version 0"});
  expect_rejected(Image().header(0, 0, 0x03000000u), {"big-endian"});
  // v2 is accepted.
  const Image v2 = Image().header(0, 1, 2).kv_u32("x", 1);
  EXPECT_EQ(parse_gguf(v2.data(), v2.size(), kName).version, 2u);
}

TEST(GgufBadInput, CountsAndLengths) {
  expect_rejected(Image().header(-1, 0), {"negative tensor count"});
  expect_rejected(Image().header(0, -5), {"negative metadata count"});
  expect_rejected(Image().header(0, int64_t{1} << 40), {"metadata count", "cannot fit"});
  expect_rejected(Image().header(int64_t{1} << 62, 0), {"tensor count", "cannot fit"});
  // Key length 2^60.
  Image key_len = Image().header(0, 1);
  key_len.put<uint64_t>(uint64_t{1} << 60).zeros(16);
  expect_rejected(key_len, {"key of KV 0", "length 1152921504606846976"});
  // String value length 2^60.
  Image str_len = Image().header(0, 1);
  str_len.str("k").put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 60).zeros(16);
  expect_rejected(str_len, {"value of key \"k\"", "length 1152921504606846976"});
  // Array counts 2^40 of u32, of strings; 2^62 of u64 (count * size overflows).
  Image arr = Image().header(0, 1);
  arr.str("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 40).zeros(64);
  expect_rejected(arr, {"array of 1099511627776 u32 values cannot fit"});
  Image sarr = Image().header(0, 1);
  sarr.str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 40).zeros(64);
  expect_rejected(sarr, {"array of 1099511627776 strings cannot fit"});
  Image arr64 = Image().header(0, 1);
  arr64.str("k").put<uint32_t>(9).put<uint32_t>(10).put<uint64_t>(uint64_t{1} << 62).zeros(64);
  expect_rejected(arr64, {"cannot fit"});
  // A string inside an array running past the end.
  Image inner = Image().header(0, 1);
  inner.str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("ok").put<uint64_t>(99);
  expect_rejected(inner, {"value of key \"k\"", "length 99"});
}

TEST(GgufBadInput, ValueTypes) {
  Image unknown = Image().header(0, 1);
  unknown.str("k").put<uint32_t>(13).put<uint32_t>(0);
  expect_rejected(unknown, {"key \"k\": unknown value type 13"});
  Image nested = Image().header(0, 1);
  nested.str("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).put<uint32_t>(4);
  expect_rejected(nested, {"nested arrays"});
  Image unknown_elem = Image().header(0, 1);
  unknown_elem.str("k").put<uint32_t>(9).put<uint32_t>(0xffffffffu).put<uint64_t>(0);
  expect_rejected(unknown_elem, {"unknown array element type 4294967295"});
  Image bad_bool = Image().header(0, 1);
  bad_bool.str("k").put<uint32_t>(7).put<uint8_t>(2);
  expect_rejected(bad_bool, {"bool value 2 is not 0 or 1"});
  Image empty_key = Image().header(0, 1);
  empty_key.str("").put<uint32_t>(0).put<uint8_t>(1).zeros(8);
  expect_rejected(empty_key, {"empty key"});
  expect_rejected(Image().header(0, 2).kv_u32("dup", 1).kv_u32("dup", 2),
                  {"duplicate key \"dup\""});
}

TEST(GgufBadInput, Alignment) {
  Image wrong_type = Image().header(0, 1);
  wrong_type.str("general.alignment").put<uint32_t>(10).put<uint64_t>(32);
  expect_rejected(wrong_type, {"general.alignment has type u64, expected u32"});
  expect_rejected(Image().header(0, 1).kv_u32("general.alignment", 48), {"not a power of two"});
  expect_rejected(Image().header(0, 1).kv_u32("general.alignment", 0), {"not a power of two"});
  // A custom alignment moves the data section and the required offset alignment.
  Image a64 = Image().header(1, 1).kv_u32("general.alignment", 64);
  a64.tensor_info("t", {16}, 0, 0).pad(64).zeros(64);
  GgufHeader h = parse_gguf(a64.data(), a64.size(), kName);
  EXPECT_EQ(h.alignment, 64u);
  EXPECT_EQ(h.data_offset % 64, 0u);
}

TEST(GgufBadInput, TensorInfos) {
  auto one = [](std::string_view name, std::vector<int64_t> ne, uint32_t type, uint64_t off) {
    Image img = Image().header(1, 0);
    img.tensor_info(name, std::move(ne), type, off).pad().zeros(4096);
    return img;
  };
  expect_rejected(one(std::string(64, 'x'), {8}, 0, 0), {"name is 64 bytes, the limit is 63"});
  EXPECT_NO_THROW({
    Image ok = one(std::string(63, 'x'), {8}, 0, 0);
    parse_gguf(ok.data(), ok.size(), kName);
  });
  expect_rejected(one("t", {}, 0, 0), {"tensor \"t\": 0 dimensions"});
  expect_rejected(one("t", {1, 1, 1, 1, 1}, 0, 0), {"5 dimensions"});
  expect_rejected(one("t", {8, -1}, 0, 0), {"ne[1] = -1 is negative"});
  expect_rejected(one("t", {int64_t{1} << 32, int64_t{1} << 32}, 0, 0), {"overflows int64"});
  expect_rejected(one("t", {32, int64_t{1} << 62}, 0, 0), {"overflows"});  // bytes overflow
  expect_rejected(one("t", {int64_t{1} << 62, 0}, 0, 0), {"overflows"});  // row bytes overflow
  expect_rejected(one("t", {32}, 4, 0), {"unknown ggml type id 4"});        // removed Q4_2
  expect_rejected(one("t", {32}, 31, 0), {"unknown ggml type id 31"});      // removed Q4_0_4_4
  expect_rejected(one("t", {32}, 1000, 0), {"unknown ggml type id 1000"});
  expect_rejected(one("t", {48}, 12, 0), {"ne[0] = 48 is not a multiple of the q4_K block size 256"});
  expect_rejected(one("t", {8}, 0, 16), {"offset 16 is not a multiple of the alignment 32"});
  expect_rejected(one("t", {2048}, 0, 0), {"outside the file"});
  expect_rejected(one("t", {8}, 0, uint64_t{1} << 63), {"outside the file"});
  // Empty tensors are fine anywhere aligned inside the data section.
  EXPECT_NO_THROW({
    Image ok = one("t", {0, 5}, 2, 4096);
    parse_gguf(ok.data(), ok.size(), kName);
  });

  Image dup = Image().header(2, 0);
  dup.tensor_info("w", {8}, 0, 0).tensor_info("w", {8}, 0, 32).pad().zeros(64);
  expect_rejected(dup, {"duplicate tensor name \"w\""});
  Image overlap = Image().header(2, 0);
  overlap.tensor_info("a", {16}, 0, 0).tensor_info("b", {8}, 0, 32).pad().zeros(96);
  expect_rejected(overlap, {"tensors \"a\"", "and \"b\"", "overlap"});
  // Aligned, non-overlapping, but not where ggml would put them: accepted, flagged.
  Image gap = Image().header(2, 0);
  gap.tensor_info("a", {8}, 0, 64).tensor_info("b", {8}, 0, 0).pad().zeros(96);
  GgufHeader h = parse_gguf(gap.data(), gap.size(), kName);
  EXPECT_FALSE(h.ggml_layout);
  // Data section past the end of the file.
  Image no_data = Image().header(1, 0);
  no_data.tensor_info("t", {8}, 0, 0);
  expect_rejected(no_data, {"data section starts at offset"});
}

TEST(GgufBadInput, NamesInMessagesAreEscaped) {
  Image img = Image().header(0, 2).kv_u32(std::string("a\nb", 3), 1).kv_u32(std::string("a\nb", 3), 1);
  expect_rejected(img, {"duplicate key \"a\\x0ab\""});
}

TEST(GgufBadInput, FileErrorsNameTheFile) {
  test::TempDir dir("gguf");
  const std::string path = dir.file("bad.gguf");
  Image img = Image().header(0, 1);
  img.str("k").put<uint32_t>(13).zeros(8);
  test::write_bytes(path, img.bytes);
  expect_error([&] { GgufFile::open(path); }, path, {"unknown value type 13"});
  expect_error([&] { GgufFile::open(dir.file("absent.gguf")); }, dir.file("absent.gguf"),
               {"cannot open"});
  test::write_bytes(path, "");
  expect_error([&] { GgufFile::open(path); }, path, {"truncated"});
}

}  // namespace
