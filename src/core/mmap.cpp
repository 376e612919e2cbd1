#include "core/mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace lowbit {

MappedFile MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail(path, std::string("cannot stat: ") + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail(path, "is a directory, expected a file");
  }
  MappedFile m;
  m.path_ = path;
  m.n_bytes_ = static_cast<size_t>(st.st_size);
  if (m.n_bytes_ > 0) {
    void* p = ::mmap(nullptr, m.n_bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail(path, std::string("cannot mmap: ") + std::strerror(e));
    }
    m.data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return m;
}

void MappedFile::drop_pages(const void* p, size_t n) const {
  if (!data_ || n == 0) return;
  const auto base = reinterpret_cast<uintptr_t>(data_);
  uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
  lo = lo < base ? base : lo;
  hi = hi > base + n_bytes_ ? base + n_bytes_ : hi;
  if (lo >= hi) return;
  release_mapped_pages(reinterpret_cast<const void*>(lo), hi - lo);
}

MappedFile::MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), n_bytes_);
    data_ = o.data_;
    n_bytes_ = o.n_bytes_;
    path_ = std::move(o.path_);
    o.data_ = nullptr;
    o.n_bytes_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), n_bytes_);
}

void release_mapped_pages(const void* p, size_t n_bytes) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  // Widened to whole pages: mappings start on a page boundary, so this stays inside the one
  // holding p, and neighbouring bytes dropped with it simply fault back in.
  const uintptr_t lo = reinterpret_cast<uintptr_t>(p) & ~(page - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n_bytes + page - 1) & ~(page - 1);
  // Advice only: a failure leaves the pages resident, which is merely what happens without it.
  if (hi > lo) (void)::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

}  // namespace lowbit
