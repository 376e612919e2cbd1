// Shared helpers for the tokenizer tests: the real tokenizers of ../shared/tokenizers,
// loaded once per process (llama3's tokenizer.json alone is 9 MB), and JSON/file reading.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "model/tokenizer.h"
#include "test_util.h"

namespace toktest {

inline std::string tokenizers_dir() {
  const std::string shared = test::shared_dir();
  return shared.empty() ? "" : shared + "/tokenizers";
}

inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(slurp(path)); }

// The tokenizer of ../shared/tokenizers/<name> (load_tokenizer: tokenizer.json for the
// four HF ones, tokenizer.model for llama2), cached.
inline const lowbit::Tokenizer& shared_tokenizer(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<lowbit::Tokenizer>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[name];
  if (!slot) slot = lowbit::load_tokenizer(tokenizers_dir() + "/" + name);
  return *slot;
}

#define SKIP_WITHOUT_SHARED_TOKENIZERS()                                                         \
  do {                                                                                           \
    if (toktest::tokenizers_dir().empty())                                                       \
      GTEST_SKIP() << "reference tokenizers not found: set LOWBIT_SHARED_DIR to ../shared "      \
                      "(it holds tokenizers/<name>/tokenizer.json and expected_encodings.json)"; \
  } while (0)

}  // namespace toktest
