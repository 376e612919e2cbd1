// Atomic output: write to a temp file next to the target, fsync, rename. If the writer is
// destroyed without commit() (an error, an exception, Ctrl-C via the cleanup registry),
// the temp file is removed, so a failed run never leaves a half-written output.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace lowbit {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // opens PATH.tmp.<pid>.<n>
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n_bytes);
  void write_zeros(size_t n_bytes);
  size_t n_bytes_written() const { return n_bytes_written_; }
  void commit();  // flush, fsync, rename over the target, fsync the directory
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* f_ = nullptr;
  size_t n_bytes_written_ = 0;
  bool committed_ = false;
};

// Removes every uncommitted temp file; called from the SIGINT/SIGTERM handler.
void remove_pending_temp_files() noexcept;
// Installs SIGINT/SIGTERM handlers that clean temp files and exit(130).
void install_cleanup_signal_handlers();

}  // namespace lowbit
