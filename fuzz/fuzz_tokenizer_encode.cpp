// libFuzzer target for encoding and decoding: arbitrary bytes through real tokenizers
// (../shared/tokenizers/{llama3,qwen3,mistral,gpt2} when present) and the feature fixtures
// of tests/tokenizer/data (NFKC, Lowercase, Strip, Split behaviors, Metaspace, byte
// fallback, added tokens, ...). Checks: no crash, no exception other than lowbit::Error,
// every id inside the vocabulary, decode always succeeds, and for the byte-level
// tokenizers without a normalizer (llama3, gpt2) decode(encode(text)) is the text (after
// invalid UTF-8 is replaced by U+FFFD), as with Hugging Face tokenizers.
//   cmake --build build-fuzz --target fuzz_tokenizer_encode
//   ./build-fuzz/fuzz/fuzz_tokenizer_encode -max_total_time=60 fuzz/corpus/tokenizer_encode
// Paths come from this file's location (__FILE__); LOWBIT_SHARED_DIR overrides ../shared.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/tokenizer.h"
#include "model/tokenizer_json/hf_tokenizer.h"
#include "model/tokenizer_json/utf8.h"

namespace {

namespace fs = std::filesystem;

struct Loaded {
  std::unique_ptr<lowbit::HfTokenizer> tok;
  bool round_trip = false;
  std::string name;
};

std::vector<Loaded>& tokenizers() {
  static std::vector<Loaded> all = [] {
    std::vector<Loaded> v;
    const fs::path repo = fs::path(__FILE__).parent_path().parent_path();
    const char* env = std::getenv("LOWBIT_SHARED_DIR");
    const fs::path shared = env && *env ? fs::path(env) : repo.parent_path() / "shared";
    for (const char* name : {"llama3", "qwen3", "mistral", "gpt2"}) {
      const fs::path dir = shared / "tokenizers" / name;
      if (!fs::exists(dir / "tokenizer.json")) continue;
      const std::string n(name);
      v.push_back({lowbit::HfTokenizer::load_dir(dir.string()), n == "llama3" || n == "gpt2", n});
    }
    const fs::path data = repo / "tests/tokenizer/data";
    if (fs::exists(data)) {
      for (const auto& e : fs::directory_iterator(data)) {
        std::ifstream f(e.path());
        std::stringstream ss;
        ss << f.rdbuf();
        const auto doc = lowbit::tok::parse_json_limited(ss.str(), e.path().string());
        if (doc.contains("tokenizer") && doc.contains("cases"))
          v.push_back({lowbit::HfTokenizer::from_json(doc["tokenizer"], e.path().string()), false,
                       e.path().stem().string()});
      }
    }
    if (v.empty()) std::abort();  // nothing to fuzz: wrong paths
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::fprintf(stderr, "fuzz_tokenizer_encode: %zu tokenizers:", tokenizers().size());
  for (const auto& t : tokenizers()) std::fprintf(stderr, " %s", t.name.c_str());
  std::fprintf(stderr, "\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& t : tokenizers()) {
    try {
      const auto ids = t.tok->encode(text, false);
      const int n_vocab = t.tok->vocab_size();
      for (int32_t id : ids)
        if (id < 0 || id >= n_vocab) std::abort();
      const std::string back = t.tok->decode(ids);
      if (t.round_trip && back != lowbit::tok::utf8_lossy(text)) std::abort();
      (void)t.tok->encode(text, true);
    } catch (const lowbit::Error&) {
    }
  }
  return 0;
}
