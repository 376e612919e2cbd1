// Small tests of the core utilities: dtypes, tensor views, memory maps, atomic output files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/mmap.h"
#include "core/tensor.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

const DType kAllTypes[] = {DType::F64, DType::F32, DType::F16,  DType::BF16,
                           DType::I64, DType::I32, DType::I16,  DType::I8,
                           DType::U8,  DType::BOOL, DType::F8_E4M3, DType::F8_E5M2};

// ---- DType ---------------------------------------------------------------------------

TEST(CoreDType, NameRoundTripsForAllTypes) {
  for (DType t : kAllTypes) {
    const auto name = dtype_name(t);
    EXPECT_FALSE(name.empty());
    auto back = dtype_from_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, t) << name;
  }
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtype_name(DType::F8_E5M2), "F8_E5M2");
  EXPECT_EQ(dtype_name(DType::BOOL), "BOOL");
}

TEST(CoreDType, UnknownNamesAreRejected) {
  for (const char* s : {"", "f32", "FLOAT", "F8", "F8_E4M3FN", "U16", "BF16 ", "I4"})
    EXPECT_FALSE(dtype_from_name(s).has_value()) << '"' << s << '"';
}

TEST(CoreDType, SizesAndFloatness) {
  EXPECT_EQ(dtype_n_bytes(DType::F64), 8u);
  EXPECT_EQ(dtype_n_bytes(DType::F32), 4u);
  EXPECT_EQ(dtype_n_bytes(DType::F16), 2u);
  EXPECT_EQ(dtype_n_bytes(DType::BF16), 2u);
  EXPECT_EQ(dtype_n_bytes(DType::I64), 8u);
  EXPECT_EQ(dtype_n_bytes(DType::I32), 4u);
  EXPECT_EQ(dtype_n_bytes(DType::I16), 2u);
  EXPECT_EQ(dtype_n_bytes(DType::I8), 1u);
  EXPECT_EQ(dtype_n_bytes(DType::U8), 1u);
  EXPECT_EQ(dtype_n_bytes(DType::BOOL), 1u);
  EXPECT_EQ(dtype_n_bytes(DType::F8_E4M3), 1u);
  EXPECT_EQ(dtype_n_bytes(DType::F8_E5M2), 1u);
  int n_float = 0;
  for (DType t : kAllTypes) n_float += dtype_is_float(t);
  EXPECT_EQ(n_float, 6);
  EXPECT_TRUE(dtype_is_float(DType::F8_E5M2));
  EXPECT_FALSE(dtype_is_float(DType::BOOL));
  EXPECT_FALSE(dtype_is_float(DType::U8));
}

// ---- TensorView ----------------------------------------------------------------------

TEST(CoreTensorView, ElementCountsAndBytes) {
  TensorView t;
  t.dtype = DType::BF16;
  t.shape = {64, 512};
  EXPECT_EQ(t.n_elems(), 64 * 512);
  EXPECT_EQ(t.n_bytes(), 64u * 512u * 2u);
  EXPECT_EQ(t.dim(0), 64);
  EXPECT_EQ(t.dim(-1), 512);
  EXPECT_THROW(t.dim(2), std::out_of_range);
  t.shape = {};
  EXPECT_EQ(t.n_elems(), 1);  // a scalar
  t.shape = {3, 0, 5};
  EXPECT_EQ(t.n_elems(), 0);
  EXPECT_EQ(t.n_bytes(), 0u);
}

TEST(CoreTensorView, Contiguity) {
  TensorView t;
  t.shape = {2, 3, 4};
  EXPECT_TRUE(t.contiguous());  // empty strides mean row-major
  EXPECT_EQ(t.contiguous_strides(), (std::vector<int64_t>{12, 4, 1}));
  t.strides = {12, 4, 1};
  EXPECT_TRUE(t.contiguous());
  t.strides = {1, 2, 6};  // transposed
  EXPECT_FALSE(t.contiguous());
  t.strides = {24, 4, 1};  // a slice of a bigger tensor
  EXPECT_FALSE(t.contiguous());
  TensorView s;
  EXPECT_TRUE(s.contiguous_strides().empty());
}

TEST(CoreTensorView, ShapeStr) {
  EXPECT_EQ(shape_str({64, 512}), "[64, 512]");
  EXPECT_EQ(shape_str({7}), "[7]");
  EXPECT_EQ(shape_str({}), "[]");
  EXPECT_EQ(shape_str({1, 2, 3, 4}), "[1, 2, 3, 4]");
}

// ---- temp directory fixture ------------------------------------------------------------

class CoreFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("lowbit_test_core_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void write_file(const std::string& p, const std::string& contents) {
    std::ofstream f(p, std::ios::binary);
    f << contents;
  }
  static std::string read_file(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    return v;
  }
  fs::path dir_;
};

// ---- MappedFile ----------------------------------------------------------------------

using CoreMappedFile = CoreFiles;

TEST_F(CoreMappedFile, MapsFileContents) {
  const std::string p = path("data.bin");
  std::string contents = "hello mapped world";
  contents.push_back('\0');
  contents += "\xff\x01";
  write_file(p, contents);
  MappedFile m = MappedFile::open(p);
  ASSERT_EQ(m.n_bytes(), contents.size());
  ASSERT_NE(m.data(), nullptr);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.n_bytes()), contents);
  EXPECT_EQ(m.path(), p);

  // Moves transfer the mapping and leave the source empty.
  MappedFile m2 = std::move(m);
  EXPECT_EQ(m2.n_bytes(), contents.size());
  EXPECT_EQ(m.data(), nullptr);
  EXPECT_EQ(m.n_bytes(), 0u);
  MappedFile m3;
  m3 = std::move(m2);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m3.data()), m3.n_bytes()), contents);
}

// Resident kB of the mapping of `file` in this process (/proc/self/smaps); -1 if not found.
long mapping_rss_kb(const std::string& file) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool in_it = false;
  while (std::getline(in, line)) {
    // Mapping headers start "7f12...-7f34... r--p": lower-case hex; field lines ("Rss:") do not.
    const unsigned char c0 = line.empty() ? 'X' : static_cast<unsigned char>(line[0]);
    const bool header = (std::isdigit(c0) || (c0 >= 'a' && c0 <= 'f')) && line.find('-') < line.find(' ');
    if (header)
      in_it = line.size() >= file.size() && line.compare(line.size() - file.size(), file.size(), file) == 0;
    else if (in_it && line.rfind("Rss:", 0) == 0)
      return std::stol(line.substr(4));
  }
  return -1;
}

TEST_F(CoreMappedFile, DropPagesLeavesTheResidentSetButNotTheData) {
  const std::string p = fs::absolute(path("pages.bin")).string();
  std::string contents(1 << 20, '\0');
  for (size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7 + i / 4096);
  write_file(p, contents);
  MappedFile m = MappedFile::open(p);
  auto same = [&] { return std::memcmp(m.data(), contents.data(), contents.size()) == 0; };
  ASSERT_TRUE(same());  // every page read, so resident
  const long before = mapping_rss_kb(p);
  if (before < 0) GTEST_SKIP() << "no /proc/self/smaps entry for the mapping";
  EXPECT_GE(before, 1000);
  m.drop_pages(m.data(), m.n_bytes());
  EXPECT_EQ(mapping_rss_kb(p), 0);
  EXPECT_TRUE(same());  // read back from the page cache
  // Ranges are clipped to the mapping, and a range outside it does nothing.
  m.drop_pages(m.data() + 4096, 1 << 30);
  m.drop_pages(m.data() + m.n_bytes() + 8192, 100);
  EXPECT_LE(mapping_rss_kb(p), 4);
  EXPECT_TRUE(same());
}

TEST_F(CoreMappedFile, EmptyFile) {
  const std::string p = path("empty.bin");
  write_file(p, "");
  MappedFile m = MappedFile::open(p);
  EXPECT_EQ(m.n_bytes(), 0u);
  EXPECT_EQ(m.data(), nullptr);
}

TEST_F(CoreMappedFile, MissingFileThrowsWithPath) {
  const std::string p = path("does_not_exist.safetensors");
  try {
    MappedFile::open(p);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), p);
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    EXPECT_FALSE(e.detail().empty());
  }
}

TEST_F(CoreMappedFile, DirectoryThrows) {
  const std::string p = dir_.string();
  try {
    MappedFile::open(p);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), p);
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

// ---- AtomicFile ----------------------------------------------------------------------

using CoreAtomicFile = CoreFiles;

TEST_F(CoreAtomicFile, CommitWritesExactContents) {
  const std::string p = path("out.bin");
  {
    AtomicFile f(p);
    EXPECT_EQ(f.path(), p);
    f.write("abc", 3);
    f.write_zeros(5000);  // more than one chunk of zeros
    f.write("", 0);
    f.write("xyz", 3);
    EXPECT_EQ(f.n_bytes_written(), 5006u);
    EXPECT_FALSE(fs::exists(p));  // nothing at the target before commit
    f.commit();
  }
  std::string want = "abc" + std::string(5000, '\0') + "xyz";
  EXPECT_EQ(read_file(p), want);
  EXPECT_EQ(entries(), std::vector<std::string>{"out.bin"});  // no temp file left
}

TEST_F(CoreAtomicFile, NoCommitLeavesNothing) {
  const std::string p = path("out.bin");
  {
    AtomicFile f(p);
    f.write("partial", 7);
    EXPECT_EQ(entries().size(), 1u);  // the temp file exists meanwhile
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(entries().empty());
}

TEST_F(CoreAtomicFile, ExceptionBeforeCommitLeavesNothing) {
  const std::string p = path("out.bin");
  try {
    AtomicFile f(p);
    f.write("partial", 7);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(CoreAtomicFile, ExistingTargetUntouchedWithoutCommit) {
  const std::string p = path("model.safetensors");
  write_file(p, "original");
  {
    AtomicFile f(p);
    f.write("replacement that is never committed", 36);
  }
  EXPECT_EQ(read_file(p), "original");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CoreAtomicFile, CommitReplacesExistingTarget) {
  const std::string p = path("model.safetensors");
  write_file(p, "original contents, longer than the new ones");
  {
    AtomicFile f(p);
    f.write("new", 3);
    f.commit();
  }
  EXPECT_EQ(read_file(p), "new");
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(CoreAtomicFile, TwoWritersUseDistinctTempFiles) {
  const std::string a = path("a.bin"), b = path("a.bin");
  AtomicFile fa(a);
  AtomicFile fb(b);
  fa.write("1", 1);
  fb.write("22", 2);
  EXPECT_EQ(entries().size(), 2u);
  fb.commit();
  EXPECT_EQ(read_file(a), "22");
}

TEST_F(CoreAtomicFile, UncreatableTargetThrowsWithPath) {
  const std::string p = path("no_such_dir/out.bin");
  try {
    AtomicFile f(p);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.file(), p);
  }
  EXPECT_TRUE(entries().empty());
}

TEST_F(CoreAtomicFile, RemovePendingTempFiles) {
  const std::string p = path("out.bin");
  AtomicFile f(p);
  f.write("x", 1);
  EXPECT_EQ(entries().size(), 1u);
  remove_pending_temp_files();
  EXPECT_TRUE(entries().empty());
}

}  // namespace
}  // namespace lowbit
