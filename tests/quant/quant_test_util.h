// The models and texts the HF-quantization tests use (bundled stories260K, ../shared's
// TinyStories-5M and its calibration / eval text), and the skip when ../shared is absent.
#pragma once
#include <string>

#include "../test_util.h"

namespace quant_test {

inline std::string model_260k() { return test::source_dir() + "/models/stories260K"; }
inline std::string model_5m() { return test::shared_dir() + "/models/tinystories-llama-5M-hf"; }
inline std::string calib_text() { return test::shared_dir() + "/data/tinystories/tinystories-valid-head-calib.txt"; }
inline std::string eval_text() { return test::shared_dir() + "/data/tinystories/tinystories-valid-head-eval.txt"; }

}  // namespace quant_test

#define REQUIRE_SHARED()                                                          \
  if (test::shared_dir().empty()) GTEST_SKIP() << "reference material (../shared) not found"
