// GGUF reader and writer: round trips of every value type, typed getters, the files made
// by llama.cpp in the shared dir, read-then-write of stories260K. Bad inputs:
// test_gguf_bad_input.cpp.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "gguf_test_util.h"
#include "test_util.h"

using namespace lowbit;
using gguf_test::expect_error;
using gguf_test::read_all;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
  return v;
}

// One key of every scalar type and an array of every element type (empty ones included).
void set_all_types(GgufWriter& w) {
  w.set_u8("t.u8", 250);
  w.set_i8("t.i8", -120);
  w.set_u16("t.u16", 65000);
  w.set_i16("t.i16", -32000);
  w.set_u32("t.u32", 4000000000u);
  w.set_i32("t.i32", -2000000000);
  w.set_f32("t.f32", 1.5f);
  w.set_bool("t.bool", true);
  w.set_string("t.str", std::string("h\xc3\xa9llo\0x", 8));  // UTF-8 and an embedded NUL
  w.set_u64("t.u64", std::numeric_limits<uint64_t>::max());
  w.set_i64("t.i64", std::numeric_limits<int64_t>::min());
  w.set_f64("t.f64", -0.1);
  w.set_string("t.empty_str", "");
  const std::vector<uint8_t> u8s = {0, 1, 255};
  const std::vector<int8_t> i8s = {-128, 0, 127};
  const std::vector<uint16_t> u16s = {1, 65535};
  const std::vector<int16_t> i16s = {-32768, 32767};
  const std::vector<uint32_t> u32s = {7, 8, 9};
  const std::vector<int32_t> i32s = {-1, 2, -3};
  const std::vector<float> f32s = {0.f, -0.f, 1e-30f, std::numeric_limits<float>::infinity()};
  const std::vector<uint64_t> u64s = {1ull << 63};
  const std::vector<int64_t> i64s = {-5, 5};
  const std::vector<double> f64s = {3.25, std::nan("")};
  w.set_array_u8("a.u8", u8s);
  w.set_array_i8("a.i8", i8s);
  w.set_array_u16("a.u16", u16s);
  w.set_array_i16("a.i16", i16s);
  w.set_array_u32("a.u32", u32s);
  w.set_array_i32("a.i32", i32s);
  w.set_array_f32("a.f32", f32s);
  w.set_array_bool("a.bool", {true, false, true});
  w.set_array_string("a.str", {"a", "", "tokens \xe2\x96\x81x"});
  w.set_array_u64("a.u64", u64s);
  w.set_array_i64("a.i64", i64s);
  w.set_array_f64("a.f64", f64s);
  w.set_array_f32("a.empty_f32", std::span<const float>());
  w.set_array_string("a.empty_str", {});
}

TEST(Gguf, RoundTripEveryValueTypeAndTensors) {
  test::TempDir dir("gguf");
  GgufWriter w;
  set_all_types(w);
  w.set_u32("general.alignment", 64);
  const auto f32_data = pattern(4 * 3 * 4, 1);       // F32 [4, 3]
  const auto q4k_data = pattern(144 * 2, 2);         // Q4_K [256, 2]
  const auto q8_data = pattern(34 * 2 * 3 * 2, 3);   // Q8_0 [64, 3, 2]
  const auto i8_data = pattern(5, 4);                // I8 [5, 1, 1, 1]: trailing 1-dims kept
  w.add_tensor("f32", kGgmlTypeF32, {4, 3}, f32_data.data(), f32_data.size());
  w.add_tensor("empty", kGgmlTypeF16, {0, 7}, nullptr, 0);
  w.add_tensor("q4k", 12, {256, 2}, q4k_data.data(), q4k_data.size());
  w.add_tensor("q8", kGgmlTypeQ8_0, {64, 3, 2}, q8_data.data(), q8_data.size());
  w.add_tensor("i8", 24, {5, 1, 1, 1}, i8_data.data(), i8_data.size());
  const std::string path = dir.file("all.gguf");
  w.write(path);

  auto f = GgufFile::open(path);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_TRUE(f->has_ggml_layout());
  EXPECT_EQ(f->data_offset() % 64, 0u);
  // Metadata: same keys, same order, same types and values.
  ASSERT_EQ(f->metadata().size(), w.metadata().size());
  for (size_t i = 0; i < w.metadata().size(); ++i) {
    EXPECT_EQ(f->keys()[i], w.metadata()[i].key);
    EXPECT_EQ(f->metadata()[i].value, w.metadata()[i].value) << w.metadata()[i].key;
  }
  EXPECT_EQ(f->get_u8("t.u8"), 250);
  EXPECT_EQ(f->get_i8("t.i8"), -120);
  EXPECT_EQ(f->get_u16("t.u16"), 65000);
  EXPECT_EQ(f->get_i16("t.i16"), -32000);
  EXPECT_EQ(f->get_u32("t.u32"), 4000000000u);
  EXPECT_EQ(f->get_i32("t.i32"), -2000000000);
  EXPECT_EQ(f->get_f32("t.f32"), 1.5f);
  EXPECT_TRUE(f->get_bool("t.bool"));
  EXPECT_EQ(f->get_string("t.str"), std::string("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(f->get_u64("t.u64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f->get_i64("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(f->get_f64("t.f64"), -0.1);
  EXPECT_EQ(f->get_string("t.empty_str"), "");
  EXPECT_EQ(f->get_array<uint8_t>("a.u8"), (std::vector<uint8_t>{0, 1, 255}));
  EXPECT_EQ(f->get_array<int8_t>("a.i8"), (std::vector<int8_t>{-128, 0, 127}));
  EXPECT_EQ(f->get_array<uint16_t>("a.u16"), (std::vector<uint16_t>{1, 65535}));
  EXPECT_EQ(f->get_array<int16_t>("a.i16"), (std::vector<int16_t>{-32768, 32767}));
  EXPECT_EQ(f->get_array_u32("a.u32"), (std::vector<uint32_t>{7, 8, 9}));
  EXPECT_EQ(f->get_array_i32("a.i32"), (std::vector<int32_t>{-1, 2, -3}));
  const auto f32s = f->get_array_f32("a.f32");
  ASSERT_EQ(f32s.size(), 4u);
  EXPECT_TRUE(std::signbit(f32s[1]));
  EXPECT_EQ(f32s[2], 1e-30f);
  EXPECT_TRUE(std::isinf(f32s[3]));
  EXPECT_EQ(f->get_array<bool>("a.bool"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f->get_array_string("a.str"),
            (std::vector<std::string>{"a", "", "tokens \xe2\x96\x81x"}));
  EXPECT_EQ(f->get_array<uint64_t>("a.u64"), (std::vector<uint64_t>{1ull << 63}));
  EXPECT_EQ(f->get_array<int64_t>("a.i64"), (std::vector<int64_t>{-5, 5}));
  EXPECT_TRUE(std::isnan(f->get_array<double>("a.f64")[1]));
  EXPECT_TRUE(f->get_array_f32("a.empty_f32").empty());
  EXPECT_TRUE(f->get_array_string("a.empty_str").empty());
  EXPECT_EQ(f->value("a.str").type_label(), "arr[str]");

  // Tensors: order, types, shapes (as given), bytes, ggml offsets.
  ASSERT_EQ(f->tensors().size(), 5u);
  const auto& ts = f->tensors();
  EXPECT_EQ(ts[0].name, "f32");
  EXPECT_EQ(ts[0].ne, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(ts[0].offset, 0u);
  EXPECT_EQ(ts[1].name, "empty");
  EXPECT_EQ(ts[1].n_bytes, 0u);
  EXPECT_EQ(ts[1].offset, 64u);
  EXPECT_EQ(ts[2].offset, 64u);
  EXPECT_EQ(ts[2].type_name(), "q4_K");
  EXPECT_EQ(ts[3].offset, 64u + 320u);
  EXPECT_EQ(ts[3].ne, (std::vector<int64_t>{64, 3, 2}));
  EXPECT_EQ(ts[3].n_elems(), 64 * 3 * 2);
  EXPECT_EQ(ts[4].ne, (std::vector<int64_t>{5, 1, 1, 1}));
  EXPECT_EQ(ts[4].offset, 64u + 320u + 448u);
  const std::vector<const std::vector<uint8_t>*> want = {&f32_data, nullptr, &q4k_data, &q8_data,
                                                         &i8_data};
  for (size_t i = 0; i < ts.size(); ++i) {
    if (!want[i]) continue;
    ASSERT_EQ(ts[i].n_bytes, want[i]->size()) << ts[i].name;
    EXPECT_EQ(std::memcmp(ts[i].data, want[i]->data(), ts[i].n_bytes), 0) << ts[i].name;
    EXPECT_EQ(f->find(ts[i].name), &ts[i]);
  }
  // File ends with the last tensor's padding; padding is zeros.
  EXPECT_EQ(f->image_n_bytes(), f->data_offset() + ts[4].offset + 64);
  for (size_t i = ts[4].offset + 5; i < ts[4].offset + 64; ++i)
    EXPECT_EQ(f->image()[f->data_offset() + i], 0);

  // Writing what was read gives the same bytes.
  GgufWriter w2;
  for (const auto& kv : f->metadata()) w2.set(kv.key, kv.value);
  for (const auto& t : f->tensors()) w2.add_tensor(t.name, t.ggml_type, t.ne, t.data, t.n_bytes);
  w2.write(dir.file("again.gguf"));
  EXPECT_EQ(read_all(dir.file("again.gguf")), read_all(path));
}

TEST(Gguf, EmptyFileAndOverwrittenKeysKeepTheirPlace) {
  test::TempDir dir("gguf");
  GgufWriter w;
  w.set_u32("a", 1);
  w.set_string("b", "x");
  w.set_f32("a", 2.f);  // overwrite: keeps slot 0, takes the new type
  EXPECT_TRUE(w.remove("b"));
  EXPECT_FALSE(w.remove("b"));
  w.set_bool("c", false);
  w.write(dir.file("e.gguf"));
  auto f = GgufFile::open(dir.file("e.gguf"));
  EXPECT_EQ(f->keys(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(f->get_f32("a"), 2.f);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(f->image_n_bytes() % 32, 0u);  // ggml pads the header even with no tensors

  GgufWriter none;
  none.write(dir.file("none.gguf"));
  EXPECT_TRUE(GgufFile::open(dir.file("none.gguf"))->keys().empty());
}

TEST(Gguf, TypedGettersNameTheKeyAndBothTypes) {
  test::TempDir dir("gguf");
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_i32("n", 5);
  const std::vector<float> scores = {0.5f};
  w.set_array_f32("scores", scores);
  const std::string path = dir.file("t.gguf");
  w.write(path);
  auto f = GgufFile::open(path);
  expect_error([&] { f->get_u32("n"); }, path, {"key \"n\" has type i32, expected u32"});
  expect_error([&] { f->get_u32_opt("general.architecture"); }, path,
               {"key \"general.architecture\" has type str, expected u32"});
  expect_error([&] { f->get_array_i32("scores"); }, path,
               {"key \"scores\" has type arr[f32], expected arr[i32]"});
  expect_error([&] { f->get_f32("scores"); }, path, {"has type arr[f32], expected f32"});
  expect_error([&] { f->get_array_string("n"); }, path, {"has type i32, expected arr[str]"});
  expect_error([&] { f->get_string("missing"); }, path, {"missing key \"missing\""});
  expect_error([&] { f->tensor("nope"); }, path, {"no tensor named \"nope\""});
  EXPECT_EQ(f->get_i32_opt("n"), 5);
  EXPECT_EQ(f->get_u32_opt("absent"), std::nullopt);
  EXPECT_EQ(f->get_string_opt("absent"), std::nullopt);
  EXPECT_EQ(f->get_array_f32_opt("scores"), scores);
  EXPECT_EQ(f->get_array_string_opt("absent"), std::nullopt);
  EXPECT_EQ(f->find("nope"), nullptr);
}

TEST(Gguf, WriterRejectsBadInput) {
  GgufWriter w;
  const std::string W = "gguf writer";
  std::vector<uint8_t> buf(1024);
  expect_error([&] { w.set_u64("general.alignment", 32); }, W, {"expected u32"});
  expect_error([&] { w.set_u32("general.alignment", 48); }, W, {"not a power of two"});
  expect_error([&] { w.set_u32("", 1); }, W, {"empty metadata key"});
  expect_error([&] { w.add_tensor(std::string(64, 'n'), 0, {1}, buf.data(), 4); }, W,
               {"64 bytes"});
  expect_error([&] { w.add_tensor("t", 4, {32}, buf.data(), 18); }, W, {"unknown ggml type id 4"});
  expect_error([&] { w.add_tensor("t", 99, {32}, buf.data(), 18); }, W, {"unknown ggml type"});
  expect_error([&] { w.add_tensor("t", 2, {48}, buf.data(), 27); }, W,
               {"not a multiple of the q4_0 block size 32"});
  expect_error([&] { w.add_tensor("t", 0, {4, 2}, buf.data(), 16); }, W,
               {"16 bytes given", "needs 32"});
  expect_error([&] { w.add_tensor("t", 0, {}, buf.data(), 0); }, W, {"0 dimensions"});
  expect_error([&] { w.add_tensor("t", 0, {1, 1, 1, 1, 1}, buf.data(), 4); }, W,
               {"5 dimensions"});
  expect_error([&] { w.add_tensor("t", 0, {-1}, buf.data(), 0); }, W, {"negative"});
  expect_error([&] { w.add_tensor("t", 0, {1ll << 40, 1ll << 40}, buf.data(), 0); }, W,
               {"overflows"});
  w.add_tensor("t", 0, {2}, buf.data(), 8);
  expect_error([&] { w.add_tensor("t", 0, {2}, buf.data(), 8); }, W, {"duplicate tensor name"});
  EXPECT_EQ(w.n_tensors(), 1u);
  // A failed write leaves nothing behind.
  test::TempDir dir("gguf");
  EXPECT_THROW(w.write(dir.file("no/such/dir/x.gguf")), Error);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// ---------------------------------------------------------------------------------------
// Files made by llama.cpp (shared dir)
// ---------------------------------------------------------------------------------------

std::vector<std::string> shared_gguf_files(const std::string& shared) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(shared + "/golden/gguf"))
    if (e.path().extension() == ".gguf") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  files.push_back(shared + "/models/stories260K/stories260K.gguf");
  files.push_back(shared + "/models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf");
  return files;
}

TEST(Gguf, ReadsEveryFileInTheSharedDir) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared reference dir not found (set LOWBIT_SHARED_DIR)";
  const auto files = shared_gguf_files(shared);
  ASSERT_GE(files.size(), 30u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    std::unique_ptr<GgufFile> f;
    ASSERT_NO_THROW(f = GgufFile::open(path));
    EXPECT_TRUE(f->version() == 2 || f->version() == 3);
    EXPECT_TRUE(f->has_ggml_layout());  // written by ggml / gguf-py
    for (const auto& t : f->tensors()) {
      EXPECT_GE(t.data, f->image() + f->data_offset());
      EXPECT_LE(t.data + t.n_bytes, f->image() + f->image_n_bytes());
      EXPECT_EQ(t.n_bytes, *ggml_row_n_bytes(t.ggml_type, t.ne[0]) * (t.n_elems() / t.ne[0]));
    }
    if (f->get_string_opt("general.type") == "imatrix") {
      // llama-imatrix's GGUF: <weight>.in_sum2 and <weight>.counts, F32 (specs/gguf.md §6).
      EXPECT_GT(f->tensors().size(), 0u);
      EXPECT_EQ(f->tensors().size() % 2, 0u);
      EXPECT_TRUE(f->get_array_string_opt("imatrix.datasets").has_value());
      EXPECT_GT(f->get_u32("imatrix.chunk_count"), 0u);
      for (const auto& t : f->tensors()) {
        EXPECT_EQ(t.ggml_type, kGgmlTypeF32) << t.name;
        const bool sum2 = t.name.ends_with(".in_sum2"), counts = t.name.ends_with(".counts");
        EXPECT_TRUE(sum2 || counts) << t.name;
        if (sum2) {
          const std::string base = t.name.substr(0, t.name.size() - 8);
          EXPECT_NE(f->find(base + ".counts"), nullptr) << t.name;
        }
      }
      continue;
    }
    EXPECT_EQ(f->get_string("general.architecture"), "llama");
    const uint32_t n_layers = f->get_u32("llama.block_count");
    EXPECT_GT(n_layers, 0u);
    EXPECT_GT(f->get_u32("llama.embedding_length"), 0u);
    EXPECT_GT(f->get_f32("llama.attention.layer_norm_rms_epsilon"), 0.f);
    // 9 tensors per layer, token_embd, output_norm, and output unless tied.
    const size_t n_expected = 9 * n_layers + 2 + (f->find("output.weight") ? 1 : 0);
    EXPECT_EQ(f->tensors().size(), n_expected);
    ASSERT_NE(f->find("token_embd.weight"), nullptr);
    EXPECT_EQ(f->tensor("token_embd.weight").ne.size(), 2u);
    const auto& tokens = f->get_array_string("tokenizer.ggml.tokens");
    EXPECT_EQ(static_cast<int64_t>(tokens.size()), f->tensor("token_embd.weight").ne[1]);
    EXPECT_EQ(f->get_array_f32("tokenizer.ggml.scores").size(), tokens.size());
  }
}

TEST(Gguf, KnownValuesOfStories260K) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared reference dir not found (set LOWBIT_SHARED_DIR)";
  auto f = GgufFile::open(shared + "/models/stories260K/stories260K.gguf");
  EXPECT_EQ(f->tensors().size(), 48u);
  EXPECT_EQ(f->get_u32("llama.block_count"), 5u);
  EXPECT_EQ(f->get_u32("llama.embedding_length"), 64u);
  EXPECT_EQ(f->get_u32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f->get_array_string("tokenizer.ggml.tokens").size(), 512u);
  const GgufTensor& emb = f->tensor("token_embd.weight");
  EXPECT_EQ(emb.ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(emb.ggml_type, kGgmlTypeF32);
}

// Read-then-write of stories260K: ggml's layout is reproduced, so the file comes out
// byte-identical (and therefore with identical metadata and tensor data).
TEST(Gguf, RewritingStories260KIsByteIdentical) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "shared reference dir not found (set LOWBIT_SHARED_DIR)";
  test::TempDir dir("gguf");
  for (const std::string rel : {"/models/stories260K/stories260K.gguf",
                                "/golden/gguf/stories260K-Q4_K_M.gguf",
                                "/golden/gguf/stories260K.imatrix.gguf"}) {
    SCOPED_TRACE(rel);
    auto f = GgufFile::open(shared + rel);
    GgufWriter w;
    for (const auto& kv : f->metadata()) w.set(kv.key, kv.value);
    for (const auto& t : f->tensors()) w.add_tensor(t.name, t.ggml_type, t.ne, t.data, t.n_bytes);
    const std::string out = dir.file("out.gguf");
    w.write(out);
    auto g = GgufFile::open(out);
    ASSERT_EQ(g->metadata().size(), f->metadata().size());
    for (size_t i = 0; i < f->metadata().size(); ++i) {
      EXPECT_EQ(g->metadata()[i].key, f->metadata()[i].key);
      EXPECT_EQ(g->metadata()[i].value, f->metadata()[i].value) << f->metadata()[i].key;
    }
    ASSERT_EQ(g->tensors().size(), f->tensors().size());
    for (size_t i = 0; i < f->tensors().size(); ++i) {
      const auto& a = f->tensors()[i];
      const auto& b = g->tensors()[i];
      EXPECT_EQ(b.name, a.name);
      EXPECT_EQ(b.ne, a.ne);
      EXPECT_EQ(b.ggml_type, a.ggml_type);
      EXPECT_EQ(b.offset, a.offset);
      ASSERT_EQ(b.n_bytes, a.n_bytes);
      EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << a.name;
    }
    EXPECT_TRUE(read_all(out) == read_all(shared + rel)) << "not byte-identical";
  }
}

}  // namespace
