// safetensors reader, model (single file / index + shards) and writer.
#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "test_util.h"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

constexpr DType kAllDTypes[] = {DType::F64, DType::F32,  DType::F16,     DType::BF16,
                                DType::I64, DType::I32,  DType::I16,     DType::I8,
                                DType::U8,  DType::BOOL, DType::F8_E4M3, DType::F8_E5M2};

// u64 LE header length + header + data.
std::string st_image(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 8));
  return v;
}

// Runs fn, expects a lowbit::Error whose one-line message names `file` and contains every
// needle.
template <class Fn>
void expect_error(Fn&& fn, const std::string& file, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one about " << *needles.begin();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file), std::string::npos) << "message does not name the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "message is not one line: " << what;
    for (const auto& n : needles)
      EXPECT_NE(what.find(n), std::string::npos) << "expected \"" << n << "\" in: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a lowbit::Error: " << e.what();
  }
}

// Writes a hand-made file and expects SafetensorsFile::open to reject it.
void expect_bad_file(const std::string& bytes, std::initializer_list<std::string> needles) {
  test::TempDir tmp;
  const std::string path = tmp.file("bad.safetensors");
  test::write_bytes(path, bytes);
  expect_error([&] { SafetensorsFile::open(path); }, path, needles);
  // The in-memory entry point gives the same verdict.
  expect_error(
      [&] {
        parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem");
      },
      "mem", needles);
}

std::string tensor_json(const std::string& name, const std::string& dtype,
                        const std::string& shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace

// ---------------------------------------------------------------------------------------

TEST(SafetensorsRoundTrip, AllDtypesWithMetadata) {
  test::TempDir tmp;
  std::vector<std::vector<uint8_t>> data;
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.set_metadata("lowbit.note", "round \"trip\" \xc3\xa9");
  int i = 0;
  for (DType t : kAllDTypes) {
    const std::vector<int64_t> shape{3, i + 1};
    data.push_back(pattern(3 * (i + 1) * dtype_n_bytes(t), static_cast<uint8_t>(i)));
    w.add("t." + std::string(dtype_name(t)), t, shape, data.back().data());
    ++i;
  }
  const float scalar = 3.5f;
  w.add("scalar", DType::F32, {}, &scalar);
  w.add("empty", DType::BF16, {0, 7}, nullptr);

  const std::string path = tmp.file("rt.safetensors");
  w.write_file(path);
  const std::string bytes = read_all(path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(bytes.compare(8, 16, "{\"__metadata__\":"), 0) << "__metadata__ comes first";

  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("lowbit.note"), "round \"trip\" \xc3\xa9");
  ASSERT_EQ(f->tensors().size(), 14u);
  i = 0;
  for (DType t : kAllDTypes) {
    const auto& st = f->tensors()[i];  // file order == insertion order
    EXPECT_EQ(st.name, "t." + std::string(dtype_name(t)));
    EXPECT_EQ(st.dtype, t);
    EXPECT_EQ(st.shape, (std::vector<int64_t>{3, i + 1}));
    ASSERT_EQ(st.n_bytes, data[i].size());
    EXPECT_EQ(std::memcmp(st.data, data[i].data(), st.n_bytes), 0) << st.name;
    EXPECT_EQ(st.file, path);
    EXPECT_EQ(f->find(st.name), &st);
    ++i;
  }
  // The data section starts 8-aligned in the file (and so in the page-aligned mapping).
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->tensors()[0].data) % 8, 0u);
  const auto* sc = f->find("scalar");
  ASSERT_TRUE(sc);
  EXPECT_TRUE(sc->shape.empty());
  EXPECT_EQ(sc->view().n_elems(), 1);
  float back;
  std::memcpy(&back, sc->data, 4);
  EXPECT_EQ(back, 3.5f);
  const auto* em = f->find("empty");
  ASSERT_TRUE(em);
  EXPECT_EQ(em->n_bytes, 0u);
  EXPECT_EQ(em->shape, (std::vector<int64_t>{0, 7}));
  EXPECT_EQ(f->find("nope"), nullptr);

  // write() below the shard limit gives DIR/model.safetensors, same content.
  auto files = w.write(tmp.file("out"));
  ASSERT_EQ(files, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(read_all(tmp.file("out/model.safetensors")), bytes);
  auto m = SafetensorsModel::open(tmp.file("out"));
  EXPECT_EQ(m->tensors().size(), 14u);
  EXPECT_EQ(m->metadata().at("format"), "pt");
}

TEST(SafetensorsRoundTrip, FileOrderIsDataOffsetOrder) {
  // Header lists b before a, but a's data comes first; a zero-size tensor sits inside a's
  // range, which is allowed.
  const std::string header = "{" + tensor_json("b", "U8", "[4]", 4, 8) + "," +
                             tensor_json("a", "U8", "[4]", 0, 4) + "," +
                             tensor_json("z", "F32", "[0]", 2, 2) + "}";
  test::TempDir tmp;
  const std::string path = tmp.file("order.safetensors");
  test::write_bytes(path, st_image(header, "ABCDEFGH"));
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "a");
  EXPECT_EQ(f->tensors()[1].name, "z");
  EXPECT_EQ(f->tensors()[2].name, "b");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->find("b")->data), 4), "EFGH");
  EXPECT_TRUE(f->metadata().empty());
}

TEST(SafetensorsShards, ShardedWriteReadsBackByteIdentical) {
  test::TempDir tmp;
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  std::vector<std::vector<uint8_t>> data;
  std::vector<std::string> names;
  const int64_t rows[] = {10, 40, 5, 100, 1, 30, 30, 30, 64, 2};
  for (int i = 0; i < 10; ++i) {
    const DType t = kAllDTypes[i % 12];
    data.push_back(pattern(rows[i] * 4 * dtype_n_bytes(t), static_cast<uint8_t>(i + 1)));
    names.push_back("layer." + std::to_string(i) + ".weight");
    w.add(names.back(), t, {rows[i], 4}, data.back().data());
  }
  size_t total = 0;
  for (auto& d : data) total += d.size();
  const size_t max_shard = 600;
  const std::string dir = tmp.file("sharded/sub");  // created, parents included
  auto files = w.write(dir, max_shard);
  ASSERT_GE(files.size(), 3u);
  const size_t n_shards = files.size() - 1;
  EXPECT_EQ(files.back(), "model.safetensors.index.json");
  for (size_t i = 0; i < n_shards; ++i) {
    char want[64];
    std::snprintf(want, sizeof(want), "model-%05zu-of-%05zu.safetensors", i + 1, n_shards);
    EXPECT_EQ(files[i], want);
  }
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));

  // Greedy: every shard holds at most max_shard bytes unless it is a single tensor.
  for (size_t i = 0; i < n_shards; ++i) {
    auto f = SafetensorsFile::open(dir + "/" + files[i]);
    size_t bytes = 0;
    for (auto& t : f->tensors()) bytes += t.n_bytes;
    EXPECT_TRUE(bytes <= max_shard || f->tensors().size() == 1) << files[i];
    EXPECT_EQ(f->metadata().at("format"), "pt");
  }

  auto index = nlohmann::json::parse(read_all(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(index["metadata"]["total_size"].get<size_t>(), total);
  EXPECT_EQ(index["weight_map"].size(), 10u);

  auto m = SafetensorsModel::open(dir);
  ASSERT_EQ(m->tensors().size(), 10u);
  EXPECT_EQ(m->n_bytes(), total);
  EXPECT_EQ(m->metadata().at("format"), "pt");
  for (int i = 0; i < 10; ++i) {
    const auto& t = m->get(names[i]);
    EXPECT_EQ(m->tensors()[i], &t) << "shard order then file order == insertion order";
    EXPECT_EQ(t.dtype, kAllDTypes[i % 12]);
    EXPECT_EQ(t.shape, (std::vector<int64_t>{rows[i], 4}));
    ASSERT_EQ(t.n_bytes, data[i].size());
    EXPECT_EQ(std::memcmp(t.data, data[i].data(), t.n_bytes), 0) << names[i];
    EXPECT_EQ(fs::path(t.file).filename().string(),
              index["weight_map"][names[i]].get<std::string>());
  }
  expect_error([&] { m->get("layer.99.weight"); }, dir, {"missing tensor layer.99.weight"});
  EXPECT_EQ(m->find("layer.99.weight"), nullptr);

  // The index file can also be opened directly.
  auto m2 = SafetensorsModel::open(dir + "/model.safetensors.index.json");
  EXPECT_EQ(m2->tensors().size(), 10u);

  // Re-writing with another layout removes the stale files of the old one.
  auto single = w.write(dir);
  EXPECT_EQ(single, std::vector<std::string>{"model.safetensors"});
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir + "/" + files[0]));
  EXPECT_EQ(SafetensorsModel::open(dir)->n_bytes(), total);
  w.write(dir, max_shard);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
  EXPECT_EQ(SafetensorsModel::open(dir)->n_bytes(), total);
  for (auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
}

TEST(SafetensorsShards, OversizedTensorGetsItsOwnShardAndBasename) {
  test::TempDir tmp;
  std::vector<uint8_t> big(1000, 1), small(10, 2);
  SafetensorsWriter w;
  w.add("a", DType::U8, {10}, small.data());
  w.add("big", DType::U8, {1000}, big.data());
  w.add("b", DType::U8, {10}, small.data());
  auto files = w.write(tmp.path(), 100, "weights");
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0], "weights-00001-of-00003.safetensors");
  EXPECT_EQ(files[3], "weights.safetensors.index.json");
  EXPECT_EQ(SafetensorsFile::open(tmp.file(files[1]))->tensors().at(0).name, "big");
  // Not the default basename: open through the index path.
  auto m = SafetensorsModel::open(tmp.file("weights.safetensors.index.json"));
  EXPECT_EQ(m->n_bytes(), 1020u);
  expect_error([&] { SafetensorsModel::open(tmp.path()); }, tmp.path(),
               {"no model.safetensors or model.safetensors.index.json"});
}

TEST(SafetensorsWriter, RejectsDuplicateAndReservedNames) {
  std::vector<float> x(4);
  SafetensorsWriter w;
  w.add("x", DType::F32, {4}, x.data());
  EXPECT_THROW(w.add("x", DType::F32, {4}, x.data()), Error);
  EXPECT_THROW(w.add("__metadata__", DType::F32, {4}, x.data()), Error);
  EXPECT_THROW(w.add("neg", DType::F32, {-1, 4}, x.data()), Error);
  try {
    w.add("x", DType::F16, {2}, x.data());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate tensor name x"), std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------
// Real files

namespace {
void check_stories260k(const SafetensorsFile& f) {
  ASSERT_EQ(f.tensors().size(), 47u);
  int64_t params = 0;
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.dtype, DType::F32) << t.name;
    params += t.view().n_elems();
  }
  EXPECT_EQ(params, 260032);
  EXPECT_EQ(f.tensors().front().name, "model.embed_tokens.weight");
  EXPECT_EQ(f.tensors().front().shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_TRUE(f.find("model.norm.weight"));
  EXPECT_EQ(f.find("model.norm.weight")->shape, (std::vector<int64_t>{64}));
}
}  // namespace

TEST(SafetensorsReal, SharedStories260KHf) {
  const std::string shared = test::shared_dir();
  if (shared.empty())
    GTEST_SKIP() << "shared reference dir not found (set LOWBIT_SHARED_DIR or configure with "
                    "-DLOWBIT_SHARED_DIR)";
  const std::string dir = shared + "/models/stories260K-hf";
  if (!fs::exists(dir + "/model.safetensors"))
    GTEST_SKIP() << dir << "/model.safetensors not found";
  auto f = SafetensorsFile::open(dir + "/model.safetensors");
  check_stories260k(*f);
  auto m = SafetensorsModel::open(dir);
  EXPECT_EQ(m->tensors().size(), 47u);
  EXPECT_EQ(m->n_bytes(), 260032u * 4);
  EXPECT_EQ(m->get("model.layers.4.mlp.down_proj.weight").shape,
            (std::vector<int64_t>{64, 172}));
  // reference_logits.safetensors: tokens I32 [64], logits F32 [64, 512].
  auto r = SafetensorsFile::open(dir + "/reference_logits.safetensors");
  ASSERT_TRUE(r->find("tokens") && r->find("logits"));
  EXPECT_EQ(r->find("tokens")->dtype, DType::I32);
  EXPECT_EQ(r->find("logits")->shape, (std::vector<int64_t>{64, 512}));
}

TEST(SafetensorsReal, RepoStories260K) {
  const std::string path = test::source_dir() + "/models/stories260K/model.safetensors";
  auto f = SafetensorsFile::open(path);
  check_stories260k(*f);

  // Writing it back out with our writer and reading again keeps every byte.
  test::TempDir tmp;
  SafetensorsWriter w;
  for (auto& [k, v] : f->metadata()) w.set_metadata(k, v);
  for (auto& t : f->tensors()) w.add(t.name, t.dtype, t.shape, t.data);
  w.write(tmp.path(), 300000);
  auto m = SafetensorsModel::open(tmp.path());
  ASSERT_EQ(m->tensors().size(), 47u);
  for (auto& t : f->tensors()) {
    const auto& u = m->get(t.name);
    ASSERT_EQ(u.n_bytes, t.n_bytes);
    EXPECT_EQ(std::memcmp(u.data, t.data, t.n_bytes), 0) << t.name;
  }
}

// ---------------------------------------------------------------------------------------
// Bad inputs: each must give one lowbit::Error naming the file and the problem.

TEST(SafetensorsBad, TooShortForLength) {
  expect_bad_file("", {"truncated", "0 bytes"});
  expect_bad_file("abc", {"truncated", "3 bytes"});
}

TEST(SafetensorsBad, DataCutShort) {
  const std::string header = "{" + tensor_json("w", "F32", "[2,2]", 0, 16) + "}";
  expect_bad_file(st_image(header, std::string(12, 'x')),
                  {"tensor w", "past the end of the data section (12 bytes", "truncated"});
}

TEST(SafetensorsBad, HeaderLongerThanFile) {
  std::string img = st_image("{}");
  img[0] = static_cast<char>(0xe8);  // 1000
  img[1] = 0x03;
  expect_bad_file(img, {"header length 1000 is longer than the 2 bytes"});
  std::string huge = st_image("{}");
  for (int i = 0; i < 8; ++i) huge[i] = static_cast<char>(0xff);
  expect_bad_file(huge, {"header length 18446744073709551615 exceeds"});
}

TEST(SafetensorsBad, OffsetsOutOfRange) {
  const std::string header = "{" + tensor_json("a", "U8", "[8]", 8, 16) + "}";
  expect_bad_file(st_image(header, std::string(8, 'x')),
                  {"tensor a", "data_offsets [8, 16]", "past the end"});
  const std::string rev = "{" + tensor_json("r", "U8", "[0]", 5, 3) + "}";
  expect_bad_file(st_image(rev, std::string(8, 'x')), {"tensor r", "begin > end"});
  expect_bad_file(st_image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "x"),
                  {"tensor a", "[begin, end]"});
  expect_bad_file(st_image(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,-1]}})", "x"),
                  {"tensor a", "negative"});
}

TEST(SafetensorsBad, OverlappingOffsets) {
  const std::string header = "{" + tensor_json("a", "U8", "[8]", 0, 8) + "," +
                             tensor_json("b", "U8", "[8]", 4, 12) + "}";
  expect_bad_file(st_image(header, std::string(12, 'x')),
                  {"tensor b (data_offsets [4, 12]) overlaps tensor a (data_offsets [0, 8])"});
  // Same range twice.
  const std::string same = "{" + tensor_json("a", "U8", "[8]", 0, 8) + "," +
                           tensor_json("c", "I8", "[8]", 0, 8) + "}";
  expect_bad_file(st_image(same, std::string(8, 'x')), {"overlaps"});
  // A tensor nested inside an earlier, longer one.
  const std::string inner = "{" + tensor_json("outer", "U8", "[16]", 0, 16) + "," +
                            tensor_json("mid", "U8", "[2]", 4, 6) + "," +
                            tensor_json("late", "U8", "[2]", 10, 12) + "}";
  expect_bad_file(st_image(inner, std::string(16, 'x')), {"overlaps tensor outer"});
}

TEST(SafetensorsBad, WrongByteSpan) {
  const std::string header = "{" + tensor_json("w", "F32", "[2,3]", 0, 20) + "}";
  expect_bad_file(st_image(header, std::string(24, 'x')),
                  {"tensor w", "span 20 bytes, expected 24", "F32 [2, 3]"});
}

TEST(SafetensorsBad, UnknownDtype) {
  const std::string header = "{" + tensor_json("emb", "F33", "[1]", 0, 4) + "}";
  expect_bad_file(st_image(header, std::string(4, 'x')), {"tensor emb", "unknown dtype \"F33\""});
  expect_bad_file(st_image(R"({"emb":{"dtype":4,"shape":[1],"data_offsets":[0,1]}})", "x"),
                  {"tensor emb", "dtype"});
  expect_bad_file(st_image(R"({"emb":{"shape":[1],"data_offsets":[0,1]}})", "x"),
                  {"tensor emb", "missing \"dtype\""});
}

TEST(SafetensorsBad, InvalidJson) {
  expect_bad_file(st_image("{\"a\": {\"dtype\": "), {"invalid header JSON"});
  expect_bad_file(st_image("{not json}"), {"invalid header JSON"});
  expect_bad_file(st_image(""), {"invalid header JSON"});
  expect_bad_file(st_image("{\"a\":\"\xff\xfe\"}"), {"invalid header JSON"});  // bad UTF-8
  expect_bad_file(st_image("{\"a\":1e999}"), {"invalid header JSON"});
}

TEST(SafetensorsBad, DeeplyNestedJson) {
  std::string deep = "{\"__metadata__\":";
  for (int i = 0; i < 100000; ++i) deep += "[";
  expect_bad_file(st_image(deep), {"nested deeper than"});
  std::string deep_obj;
  for (int i = 0; i < 20; ++i) deep_obj += "{\"k\":";
  deep_obj += "1";
  for (int i = 0; i < 20; ++i) deep_obj += "}";
  expect_bad_file(st_image(deep_obj), {"nested deeper than"});
}

TEST(SafetensorsBad, NonObjectHeader) {
  expect_bad_file(st_image("[1,2]"), {"header is not a JSON object (got array)"});
  expect_bad_file(st_image("42      "), {"not a JSON object"});
  expect_bad_file(st_image(R"({"a":[1,2]})"), {"tensor a", "not an object"});
  expect_bad_file(st_image(R"({"__metadata__":[]})"), {"__metadata__ is not an object"});
  expect_bad_file(st_image(R"({"__metadata__":{"k":1}})"), {"__metadata__", "\"k\"", "not a string"});
}

TEST(SafetensorsBad, DuplicateNames) {
  const std::string header = "{" + tensor_json("a", "U8", "[4]", 0, 4) + "," +
                             tensor_json("a", "U8", "[4]", 4, 8) + "}";
  expect_bad_file(st_image(header, std::string(8, 'x')), {"duplicate tensor name a"});
  expect_bad_file(st_image(R"({"__metadata__":{},"__metadata__":{}})"), {"duplicate __metadata__"});
  expect_bad_file(st_image(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x"),
                  {"duplicate key \"dtype\""});
}

TEST(SafetensorsBad, BadShapes) {
  expect_bad_file(st_image("{" + tensor_json("w", "F32", "[2,-2]", 0, 0) + "}"),
                  {"tensor w", "negative value -2"});
  expect_bad_file(st_image("{" + tensor_json("w", "F32", "[2.5]", 0, 0) + "}"),
                  {"tensor w", "non-integer"});
  expect_bad_file(st_image("{" + tensor_json("w", "F32", "\"2x2\"", 0, 0) + "}"),
                  {"tensor w", "\"shape\" is not an array"});
  expect_bad_file(
      st_image("{" + tensor_json("w", "U8", "[4294967296,4294967296,4294967296]", 0, 0) + "}"),
      {"tensor w", "overflow"});
  expect_bad_file(st_image("{" + tensor_json("w", "F64", "[4611686018427387904]", 0, 0) + "}"),
                  {"tensor w", "overflow"});
  // A zero dimension makes the product 0 whatever the others are.
  test::TempDir tmp;
  test::write_bytes(tmp.file("z.safetensors"),
                    st_image("{" + tensor_json("w", "U8", "[4294967296,4294967296,0]", 0, 0) + "}"));
  EXPECT_EQ(SafetensorsFile::open(tmp.file("z.safetensors"))->tensors().at(0).n_bytes, 0u);
}

TEST(SafetensorsBad, MissingFile) {
  test::TempDir tmp;
  expect_error([&] { SafetensorsFile::open(tmp.file("nope.safetensors")); },
               tmp.file("nope.safetensors"), {"cannot open"});
  expect_error([&] { SafetensorsModel::open(tmp.file("nope")); }, tmp.file("nope"),
               {"no such file"});
}

namespace {
// A directory with one valid shard "s1.safetensors" (tensors a, b) and an index written
// from `index_json`.
void write_index_dir(const test::TempDir& tmp, const std::string& index_json) {
  std::vector<uint8_t> d(8, 7);
  SafetensorsWriter w;
  w.add("a", DType::U8, {4}, d.data());
  w.add("b", DType::U8, {4}, d.data());
  w.write_file(tmp.file("s1.safetensors"));
  test::write_bytes(tmp.file("model.safetensors.index.json"), index_json);
}
}  // namespace

TEST(SafetensorsBad, MissingShard) {
  test::TempDir tmp;
  write_index_dir(tmp, R"({"metadata":{},"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}})");
  expect_error([&] { SafetensorsModel::open(tmp.path()); }, tmp.file("s2.safetensors"),
               {"shard listed in model.safetensors.index.json does not exist"});
}

TEST(SafetensorsBad, ShardPathTraversal) {
  for (const char* shard : {"../s1.safetensors", "/etc/passwd", "sub/s1.safetensors", "..", ""}) {
    test::TempDir tmp;
    write_index_dir(tmp, std::string(R"({"weight_map":{"a":")") + shard + "\"}}");
    expect_error([&] { SafetensorsModel::open(tmp.path()); },
                 tmp.file("model.safetensors.index.json"),
                 {"tensor a", "not a plain file name"});
  }
}

TEST(SafetensorsBad, IndexInconsistencies) {
  {
    test::TempDir tmp;  // the index names a tensor the shard lacks
    write_index_dir(tmp, R"({"weight_map":{"a":"s1.safetensors","zz":"s1.safetensors"}})");
    expect_error([&] { SafetensorsModel::open(tmp.path()); },
                 tmp.file("model.safetensors.index.json"),
                 {"tensor zz", "s1.safetensors", "does not contain it"});
  }
  {
    test::TempDir tmp;  // the same tensor in two shards
    write_index_dir(tmp, R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
    fs::copy_file(tmp.file("s1.safetensors"), tmp.file("s2.safetensors"));
    expect_error([&] { SafetensorsModel::open(tmp.path()); }, "s2.safetensors",
                 {"tensor a is also in shard", "s1.safetensors"});
  }
  {
    test::TempDir tmp;
    write_index_dir(tmp, R"({"weight_map":[]})");
    expect_error([&] { SafetensorsModel::open(tmp.path()); },
                 tmp.file("model.safetensors.index.json"), {"\"weight_map\" is not an object"});
  }
  {
    test::TempDir tmp;
    write_index_dir(tmp, R"({"weight_map":{"a":"s1.safetensors","a":"s1.safetensors"}})");
    expect_error([&] { SafetensorsModel::open(tmp.path()); },
                 tmp.file("model.safetensors.index.json"), {"duplicate key \"a\""});
  }
  {
    test::TempDir tmp;
    write_index_dir(tmp, "{\"weight_map\":");
    expect_error([&] { SafetensorsModel::open(tmp.path()); },
                 tmp.file("model.safetensors.index.json"), {"invalid index JSON"});
  }
  {
    test::TempDir tmp;  // a good index: only listed shards are opened
    write_index_dir(tmp, R"({"metadata":{"total_size":8},"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
    auto m = SafetensorsModel::open(tmp.path());
    EXPECT_EQ(m->tensors().size(), 2u);
    EXPECT_EQ(m->get("b").n_bytes, 4u);
  }
}
