// A large, zero-filled, page-aligned anonymous buffer that asks the kernel for transparent huge
// pages (madvise MADV_HUGEPAGE; the common "madvise" THP mode gives them only on request).
// Repacked weights live here: decode streams hundreds of MiB per token, and 2 MiB pages take
// the TLB misses out of that stream. Move-only; unmaps on destruction.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowbit {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(size_t n_bytes);  // throws Error if the memory cannot be mapped
  HugeBuffer(HugeBuffer&& o) noexcept;
  HugeBuffer& operator=(HugeBuffer&& o) noexcept;
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;
  ~HugeBuffer();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return n_bytes_; }

 private:
  uint8_t* data_ = nullptr;
  size_t n_bytes_ = 0, n_mapped_ = 0;
};

}  // namespace lowbit
