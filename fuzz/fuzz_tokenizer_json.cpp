// libFuzzer target for the tokenizer.json loader (model/tokenizer_json): parses the input as
// a tokenizer.json and, when it loads, encodes and decodes a few strings with it. Rejection
// must be a lowbit::Error; any other exception, a crash, a sanitizer report, a hang, or an
// id outside the tokenizer's vocabulary is a bug.
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DLOWBIT_FUZZ=ON
//   cmake --build build-fuzz --target fuzz_tokenizer_json
//   ./build-fuzz/fuzz/fuzz_tokenizer_json -max_total_time=60 fuzz/corpus/tokenizer_json
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/tokenizer_json/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<lowbit::HfTokenizer> tok;
  try {
    tok = lowbit::HfTokenizer::from_json_text(std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz>");
  } catch (const lowbit::Error&) {
    return 0;
  }
  static const char* kTexts[] = {"", " ", "Hello world", "  a\tb\r\nc  ", "abc<s>d</s> [MASK] <mask>",
                                 "\xC3\xA9\xE2\x96\x81x\xF0\x9F\xA6\x99", "123 4.5 ,,, ...", "\xFF\xFE bad"};
  const int n_vocab = tok->vocab_size();
  for (const char* t : kTexts) {
    try {
      for (bool special : {false, true}) {
        const auto enc = tok->encode_full(t, special);
        if (enc.ids.size() != enc.tokens.size()) std::abort();
        for (int32_t id : enc.ids)
          if (id < 0 || id >= n_vocab) {
            // Post-processor templates may name any id; everything else must be in range.
            if (!special) std::abort();
          }
        (void)tok->decode(enc.ids, false);
        (void)tok->decode(enc.ids, true);
      }
    } catch (const lowbit::Error&) {
      // e.g. a runaway regex or a missing unk token: a clear error is fine.
    }
  }
  return 0;
}
