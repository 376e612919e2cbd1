#include "core/huge_buffer.h"

#include <sys/mman.h>

#include <string>
#include <utility>

#include "core/error.h"

namespace lowbit {

HugeBuffer::HugeBuffer(size_t n_bytes) : n_bytes_(n_bytes) {
  if (n_bytes == 0) return;
  constexpr size_t kHuge = size_t{2} << 20;
  n_mapped_ = (n_bytes + kHuge - 1) / kHuge * kHuge;
  // Over-map by one huge page so the buffer can start on a 2 MiB boundary.
  void* p = mmap(nullptr, n_mapped_ + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("", "cannot allocate " + std::to_string(n_bytes) + " bytes");
  const uintptr_t base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (base + kHuge - 1) / kHuge * kHuge;
  if (aligned > base) munmap(p, aligned - base);
  const uintptr_t end = base + n_mapped_ + kHuge, used_end = aligned + n_mapped_;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  data_ = reinterpret_cast<uint8_t*>(aligned);
  madvise(data_, n_mapped_, MADV_HUGEPAGE);  // a hint: without THP the buffer still works
}

HugeBuffer::HugeBuffer(HugeBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), n_bytes_(std::exchange(o.n_bytes_, 0)),
      n_mapped_(std::exchange(o.n_mapped_, 0)) {}

HugeBuffer& HugeBuffer::operator=(HugeBuffer&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(data_, n_mapped_);
    data_ = std::exchange(o.data_, nullptr);
    n_bytes_ = std::exchange(o.n_bytes_, 0);
    n_mapped_ = std::exchange(o.n_mapped_, 0);
  }
  return *this;
}

HugeBuffer::~HugeBuffer() {
  if (data_) munmap(data_, n_mapped_);
}

}  // namespace lowbit
