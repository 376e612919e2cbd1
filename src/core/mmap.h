// Read-only memory map of a whole file. Move-only; unmaps on destruction.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lowbit {

// Drops the resident pages of [p, p + n_bytes) (widened to whole pages) of a read-only file
// mapping from the process's RSS; reading them again faults them back in. Used after a tensor
// has been repacked into memory of its own; MappedFile::drop_pages clips to its mapping first.
void release_mapped_pages(const void* p, size_t n_bytes);

class MappedFile {
 public:
  MappedFile() = default;
  static MappedFile open(const std::string& path);  // throws Error(path, reason)
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t n_bytes() const { return n_bytes_; }
  const std::string& path() const { return path_; }
  // Takes the pages of [p, p + n) (clipped to the mapping, widened to whole pages) out of
  // this process's resident set (madvise MADV_DONTNEED). The mapping is read-only and
  // private, so nothing is lost: a later read faults them back in from the page cache or
  // the file. For streaming readers that are done with a region: without it every page
  // touched stays in RSS, and a one-pass job over a 2.3 GiB file reports 2.3 GiB more peak
  // RAM (VmHWM) than it needs.
  void drop_pages(const void* p, size_t n) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t n_bytes_ = 0;
  std::string path_;
};

}  // namespace lowbit
