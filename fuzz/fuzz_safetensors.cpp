// libFuzzer target for the safetensors reader: parses the input as a whole safetensors
// image in memory. Rejection must be a lowbit::Error; anything else (another exception,
// a crash, a sanitizer report, an accepted header whose tensors fall outside the image)
// is a bug.
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DLOWBIT_FUZZ=ON
//   cmake --build build-fuzz --target fuzz_safetensors
//   ./build-fuzz/fuzz/fuzz_safetensors -max_total_time=60 fuzz/corpus/safetensors
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lowbit::SafetensorsHeader h = lowbit::parse_safetensors(data, size, "<fuzz>");
    const uint8_t* end = data + size;
    const uint8_t* prev_end = nullptr;
    volatile uint8_t sink = 0;
    for (const auto& t : h.tensors) {
      // Accepted tensors lie inside the image, agree with their shape, and are sorted
      // without overlap; touch their first and last bytes so ASan checks the bounds.
      if (t.data < data + 8 || t.data + t.n_bytes > end) std::abort();
      if (static_cast<size_t>(t.view().n_elems()) * lowbit::dtype_n_bytes(t.dtype) != t.n_bytes)
        std::abort();
      if (t.n_bytes > 0) {
        if (prev_end && t.data < prev_end) std::abort();
        prev_end = t.data + t.n_bytes;
        sink = sink ^ t.data[0] ^ t.data[t.n_bytes - 1];
      }
    }
    (void)sink;
  } catch (const lowbit::Error&) {
  }
  return 0;
}
