#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "core/error.h"

namespace lowbit {
namespace {
std::mutex g_mu;
std::set<std::string>& pending() {
  static std::set<std::string> s;
  return s;
}
std::atomic<unsigned> g_counter{0};

void fsync_dir(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_counter++);
  {
    std::lock_guard<std::mutex> lk(g_mu);
    pending().insert(tmp_path_);
  }
  f_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!f_) {
    std::lock_guard<std::mutex> lk(g_mu);
    pending().erase(tmp_path_);
    fail(path_, std::string("cannot create: ") + std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) {
    std::remove(tmp_path_.c_str());
    std::lock_guard<std::mutex> lk(g_mu);
    pending().erase(tmp_path_);
  }
}

void AtomicFile::write(const void* data, size_t n_bytes) {
  if (n_bytes == 0) return;
  if (std::fwrite(data, 1, n_bytes, f_) != n_bytes)
    fail(path_, std::string("write failed: ") + std::strerror(errno));
  n_bytes_written_ += n_bytes;
}

void AtomicFile::write_zeros(size_t n_bytes) {
  static const char zeros[4096] = {};
  while (n_bytes) {
    size_t n = n_bytes < sizeof(zeros) ? n_bytes : sizeof(zeros);
    write(zeros, n);
    n_bytes -= n;
  }
}

void AtomicFile::commit() {
  if (std::fflush(f_) != 0) fail(path_, std::string("flush failed: ") + std::strerror(errno));
  if (::fsync(::fileno(f_)) != 0) fail(path_, std::string("fsync failed: ") + std::strerror(errno));
  std::fclose(f_);
  f_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    fail(path_, std::string("rename failed: ") + std::strerror(errno));
  committed_ = true;
  {
    std::lock_guard<std::mutex> lk(g_mu);
    pending().erase(tmp_path_);
  }
  fsync_dir(path_);
}

void remove_pending_temp_files() noexcept {
  // Called from a signal handler: best effort, no locking (the process exits next).
  for (const auto& p : pending()) ::unlink(p.c_str());
}

namespace {
extern "C" void on_signal(int sig) {
  remove_pending_temp_files();
  std::signal(sig, SIG_DFL);
  _exit(128 + sig);
}
}  // namespace

void install_cleanup_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

}  // namespace lowbit
