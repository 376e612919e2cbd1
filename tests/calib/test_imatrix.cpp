// imatrix files: llama.cpp's GGUF imatrix goldens, write->read round trips, a hand-made
// legacy imatrix.dat (specs/gguf.md §6), and malformed files refused with errors naming them.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "calib/imatrix.h"
#include "core/error.h"
#include "io/gguf.h"
#include "test_util.h"

namespace lowbit {
namespace {

std::string golden(const std::string& name) {
  const std::string dir = test::shared_dir();
  return dir.empty() ? "" : dir + "/golden/gguf/" + name;
}

template <class T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// A legacy imatrix.dat: stored values are mean * ncall.
std::string legacy_dat(bool with_trailer) {
  std::string s;
  put<int32_t>(s, 2);
  const std::string n1 = "blk.0.attn_q.weight", n2 = "output.weight";
  put<int32_t>(s, static_cast<int32_t>(n1.size()));
  s += n1;
  put<int32_t>(s, 4);  // ncall
  put<int32_t>(s, 3);  // nval
  for (float v : {4.0f, 8.0f, 2.0f}) put(s, v);
  put<int32_t>(s, static_cast<int32_t>(n2.size()));
  s += n2;
  put<int32_t>(s, 0);  // ncall 0: values used as they are
  put<int32_t>(s, 2);
  for (float v : {0.5f, 0.25f}) put(s, v);
  if (with_trailer) {
    put<int32_t>(s, 17);
    const std::string ds = "calib.txt";
    put<int32_t>(s, static_cast<int32_t>(ds.size()));
    s += ds;
  }
  return s;
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    read_imatrix(path);
    FAIL() << "no error for " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Imatrix, ReadsLlamaCppGgufGoldens) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  struct Case {
    const char* file;
    size_t n_entries;
    uint32_t chunk_count, chunk_size;
    int64_t ffn_down_n_in;
  };
  for (const Case& c : {Case{"stories260K.imatrix.gguf", 35, 746, 128, 172},
                        Case{"tinystories-llama-5M.imatrix.gguf", 42, 373, 256, 768}}) {
    SCOPED_TRACE(c.file);
    const Imatrix m = read_imatrix(golden(c.file));
    EXPECT_EQ(m.entries.size(), c.n_entries);
    EXPECT_EQ(m.chunk_count, c.chunk_count);
    EXPECT_EQ(m.chunk_size, c.chunk_size);
    ASSERT_EQ(m.datasets.size(), 1u);
    EXPECT_EQ(m.datasets[0], "tinystories-valid-head-calib.txt");
    const ImatrixEntry* e = m.find("blk.0.ffn_down.weight");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->n_in, c.ffn_down_n_in);
    EXPECT_EQ(e->n_expert, 1);
    ASSERT_EQ(e->counts.size(), 1u);
    EXPECT_GT(e->counts[0], 0.0f);
    const std::vector<float> mean = e->mean();
    ASSERT_EQ(mean.size(), static_cast<size_t>(c.ffn_down_n_in));
    for (int64_t i = 0; i < e->n_in; ++i) {
      EXPECT_EQ(mean[i], e->in_sum2[i] / e->counts[0]);  // f32 division, as llama-quantize
      EXPECT_GE(mean[i], 0.0f);
    }
    EXPECT_EQ(m.find("output.weight"), nullptr);  // llama-imatrix skips it without --process-output
  }
}

TEST(Imatrix, GgufWriteReadRoundTrips) {
  test::TempDir dir;
  Imatrix m;
  m.datasets = {"a.txt", "b.txt"};
  m.chunk_count = 12;
  m.chunk_size = 512;
  m.entries["blk.0.attn_q.weight"] = ImatrixEntry{4, 1, {1, 2, 3, 4}, {2}};
  m.entries["blk.0.ffn_up_exps.weight"] = ImatrixEntry{2, 3, {1, 2, 3, 4, 5, 6}, {1, 0, 4}};
  const std::string path = dir.file("m.imatrix.gguf");
  write_imatrix_gguf(m, path);
  const Imatrix r = read_imatrix(path);
  EXPECT_EQ(r.datasets, m.datasets);
  EXPECT_EQ(r.chunk_count, 12u);
  EXPECT_EQ(r.chunk_size, 512u);
  ASSERT_EQ(r.entries.size(), 2u);
  for (const auto& [name, e] : m.entries) {
    const ImatrixEntry* g = r.find(name);
    ASSERT_NE(g, nullptr) << name;
    EXPECT_EQ(g->n_in, e.n_in);
    EXPECT_EQ(g->n_expert, e.n_expert);
    EXPECT_EQ(g->in_sum2, e.in_sum2);
    EXPECT_EQ(g->counts, e.counts);
  }
  const ImatrixEntry& ex = *r.find("blk.0.ffn_up_exps.weight");
  EXPECT_EQ(ex.mean(0), (std::vector<float>{1, 2}));
  EXPECT_EQ(ex.mean(1), (std::vector<float>{1, 1}));  // no tokens: 1s, as llama-quantize
  EXPECT_EQ(ex.mean(2), (std::vector<float>{1.25f, 1.5f}));
  EXPECT_THROW(ex.mean(3), Error);

  // The layout llama.cpp writes: trailing 1-dims dropped, keys typed as llama.cpp reads them.
  auto f = GgufFile::open(path);
  EXPECT_EQ(f->get_string("general.type"), "imatrix");
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight.in_sum2").ne, (std::vector<int64_t>{4}));
  EXPECT_EQ(f->tensor("blk.0.attn_q.weight.counts").ne, (std::vector<int64_t>{1}));
  EXPECT_EQ(f->tensor("blk.0.ffn_up_exps.weight.in_sum2").ne, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->tensor("blk.0.ffn_up_exps.weight.counts").ne, (std::vector<int64_t>{1, 3}));
}

TEST(Imatrix, GoldenRoundTripsThroughTheWriter) {
  if (test::shared_dir().empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  const Imatrix a = read_imatrix(golden("stories260K.imatrix.gguf"));
  write_imatrix_gguf(a, dir.file("rt.gguf"));
  const Imatrix b = read_imatrix(dir.file("rt.gguf"));
  EXPECT_EQ(a.datasets, b.datasets);
  EXPECT_EQ(a.chunk_count, b.chunk_count);
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (const auto& [name, e] : a.entries) {
    EXPECT_EQ(e.in_sum2, b.find(name)->in_sum2) << name;
    EXPECT_EQ(e.counts, b.find(name)->counts) << name;
  }
}

TEST(Imatrix, ReadsLegacyDat) {
  test::TempDir dir;
  for (bool trailer : {true, false}) {
    const std::string path = dir.file(trailer ? "a.dat" : "b.dat");
    test::write_bytes(path, legacy_dat(trailer));
    const Imatrix m = read_imatrix(path);
    ASSERT_EQ(m.entries.size(), 2u);
    const ImatrixEntry& q = *m.find("blk.0.attn_q.weight");
    EXPECT_EQ(q.n_in, 3);
    EXPECT_EQ(q.mean(), (std::vector<float>{1.0f, 2.0f, 0.5f}));  // stored / ncall
    EXPECT_EQ(m.find("output.weight")->mean(), (std::vector<float>{0.5f, 0.25f}));  // ncall 0: as stored
    if (trailer) {
      EXPECT_EQ(m.chunk_count, 17u);
      EXPECT_EQ(m.datasets, (std::vector<std::string>{"calib.txt"}));
    } else {
      EXPECT_TRUE(m.datasets.empty());
    }
  }
}

TEST(Imatrix, RefusesMalformedLegacyFiles) {
  test::TempDir dir;
  const std::string good = legacy_dat(true);
  auto check = [&](const std::string& bytes, const std::string& needle) {
    const std::string path = dir.file("bad.dat");
    test::write_bytes(path, bytes);
    expect_error(path, needle);
  };
  for (size_t n : {size_t{0}, size_t{3}, size_t{10}, size_t{30}, good.size() - 1}) check(good.substr(0, n), "");
  std::string s = good;
  int32_t v = -1;
  std::memcpy(s.data(), &v, 4);
  check(s, "entry count");
  s = good;
  v = 1 << 30;
  std::memcpy(s.data() + 4, &v, 4);  // name length past the end
  check(s, "truncated");
  s = good;
  std::memcpy(s.data() + 4 + 4 + 19 + 4, &v, 4);  // value count past the end
  check(s, "value count");
  check(good + "x", "unexpected bytes");
  std::string d2;  // two entries named "a"
  put<int32_t>(d2, 2);
  for (int i = 0; i < 2; ++i) {
    put<int32_t>(d2, 1);
    d2 += "a";
    put<int32_t>(d2, 1);
    put<int32_t>(d2, 1);
    put(d2, 1.0f);
  }
  check(d2, "duplicate entry a");
}

TEST(Imatrix, RefusesMalformedGgufFiles) {
  test::TempDir dir;
  auto write = [&](const std::string& name, auto fill) {
    GgufWriter w;
    w.set_string("general.type", "imatrix");
    w.set_array_string("imatrix.datasets", {"x"});
    w.set_u32("imatrix.chunk_count", 1);
    w.set_u32("imatrix.chunk_size", 1);
    fill(w);
    const std::string path = dir.file(name);
    w.write(path);
    return path;
  };
  const float sums[4] = {1, 2, 3, 4}, counts[2] = {1, 1};
  expect_error(write("nocounts.gguf", [&](GgufWriter& w) { w.add_tensor("a.in_sum2", 0, {4}, sums, 16); }),
               "in_sum2 but no counts");
  expect_error(write("count_mismatch.gguf",
                     [&](GgufWriter& w) {
                       w.add_tensor("a.in_sum2", 0, {2, 2}, sums, 16);
                       w.add_tensor("a.counts", 0, {1}, counts, 4);
                     }),
               "1 counts for 2 experts");
  expect_error(write("empty.gguf", [&](GgufWriter&) {}), "no imatrix entries");
  expect_error(write("f16.gguf",
                     [&](GgufWriter& w) {
                       w.add_tensor("a.in_sum2", 1, {4}, sums, 8);
                       w.add_tensor("a.counts", 0, {1}, counts, 4);
                     }),
               "expected f32");
  {
    GgufWriter w;  // a model, not an imatrix
    w.set_string("general.type", "model");
    w.write(dir.file("model.gguf"));
    expect_error(dir.file("model.gguf"), "not an imatrix file");
  }
  {
    GgufWriter w;  // llama-quantize requires the three metadata keys
    w.set_string("general.type", "imatrix");
    w.add_tensor("a.in_sum2", 0, {4}, sums, 16);
    w.add_tensor("a.counts", 0, {1}, counts, 4);
    w.write(dir.file("nokeys.gguf"));
    expect_error(dir.file("nokeys.gguf"), "imatrix.datasets");
  }
  expect_error(dir.file("absent.gguf"), "cannot open");
}

}  // namespace
}  // namespace lowbit
