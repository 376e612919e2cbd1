// Small helpers shared by the unit tests (header-only).
//   test::source_dir()  the repository root (compile definition LOWBIT_SOURCE_DIR)
//   test::shared_dir()  the reference material dir: $LOWBIT_SHARED_DIR if set, else the
//                       compile definition LOWBIT_DEFAULT_SHARED_DIR; "" if it is absent,
//                       so a test can GTEST_SKIP() with a clear message.
//   test::TempDir       a fresh directory under the system temp dir, removed on destruction.
//   test::write_bytes() writes a string's bytes to a file (for hand-made bad inputs).
#pragma once
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace test {

inline std::string source_dir() {
#ifdef LOWBIT_SOURCE_DIR
  return LOWBIT_SOURCE_DIR;
#else
  return ".";
#endif
}

inline std::string shared_dir() {
  std::string dir;
  if (const char* env = std::getenv("LOWBIT_SHARED_DIR"); env && *env) {
    dir = env;
  } else {
#ifdef LOWBIT_DEFAULT_SHARED_DIR
    dir = LOWBIT_DEFAULT_SHARED_DIR;
#endif
  }
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return "";
  return dir;
}

class TempDir {
 public:
  explicit TempDir(std::string_view tag = "lowbit-test") {
    static std::atomic<unsigned> counter{0};
    const auto base = std::filesystem::temp_directory_path();
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto p = base / (std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++));
      std::error_code ec;
      if (std::filesystem::create_directory(p, ec)) {
        path_ = p.string();
        return;
      }
    }
    throw std::runtime_error("cannot create a temp dir under " + base.string());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("cannot write " + path);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

}  // namespace test
