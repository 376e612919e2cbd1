// libFuzzer target for the GGUF reader: parses the input as a whole GGUF image in memory.
// Rejection must be a lowbit::Error; anything else (another exception, a crash, a
// sanitizer report, an accepted header whose tensors fall outside the image or overlap)
// is a bug.
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DLOWBIT_FUZZ=ON
//   cmake --build build-fuzz --target fuzz_gguf
//   ./build-fuzz/fuzz/fuzz_gguf -max_total_time=60 fuzz/corpus/gguf
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lowbit::GgufHeader h = lowbit::parse_gguf(data, size, "<fuzz>");
    const uint8_t* end = data + size;
    volatile uint8_t sink = 0;
    std::vector<const lowbit::GgufTensor*> by_offset;
    for (const auto& t : h.tensors) {
      // Accepted tensors lie inside the data section, are aligned and sized by their shape;
      // touch their first and last bytes so ASan checks the bounds.
      if (t.data < data + h.data_offset || t.data + t.n_bytes > end) std::abort();
      if (t.offset % h.alignment != 0) std::abort();
      const auto row = lowbit::ggml_row_n_bytes(t.ggml_type, t.ne[0]);
      if (!row || (t.ne[0] > 0 && *row * static_cast<uint64_t>(t.n_elems() / t.ne[0]) != t.n_bytes))
        std::abort();
      if (t.n_bytes > 0) {
        sink = sink ^ t.data[0] ^ t.data[t.n_bytes - 1];
        by_offset.push_back(&t);
      }
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i - 1]->data + by_offset[i - 1]->n_bytes > by_offset[i]->data) std::abort();
    // Every value is readable as what it claims to be.
    for (const auto& kv : h.metadata) {
      if (kv.key.empty()) std::abort();
      const auto& v = kv.value;
      if (v.elem_type() == lowbit::GgufType::STRING) {
        if (v.strings().size() != v.n_elems()) std::abort();
      } else if (v.bytes().size() != v.n_elems() * lowbit::gguf_type_n_bytes(v.elem_type())) {
        std::abort();
      }
    }
    (void)sink;
  } catch (const lowbit::Error&) {
  }
  return 0;
}
