// Weights stored as F16 or BF16 load and run exactly like the same values stored as F32.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "core/convert.h"
#include "io/safetensors.h"
#include "model/transformer.h"
#include "test_util.h"

using namespace lowbit;
namespace fs = std::filesystem;

namespace {

// Writes the bundled model with every tensor narrowed to `narrow` and stored either as that
// dtype or widened back to F32.
void write_variant(const std::string& src_dir, const std::string& dst_dir, DType narrow, bool store_narrow) {
  fs::create_directories(dst_dir);
  for (const char* f : {"config.json", "tokenizer.model", "tokenizer_config.json"})
    fs::copy_file(src_dir + "/" + f, dst_dir + "/" + f, fs::copy_options::overwrite_existing);
  auto src = SafetensorsModel::open(src_dir);
  std::vector<std::vector<uint8_t>> bufs;
  SafetensorsWriter w;
  for (const SafetensorsTensor* t : src->tensors()) {
    const size_t n = t->n_bytes / 4;
    std::vector<uint8_t> narrow_bytes(n * 2);
    convert_from_f32(narrow, reinterpret_cast<const float*>(t->data), narrow_bytes.data(), n);
    if (store_narrow) {
      bufs.push_back(std::move(narrow_bytes));
      w.add(t->name, narrow, t->shape, bufs.back().data());
    } else {
      std::vector<uint8_t> wide(n * 4);
      convert_to_f32(narrow, narrow_bytes.data(), reinterpret_cast<float*>(wide.data()), n);
      bufs.push_back(std::move(wide));
      w.add(t->name, DType::F32, t->shape, bufs.back().data());
    }
  }
  w.write(dst_dir);
}

std::vector<float> run(const std::string& dir) {
  auto w = std::shared_ptr<const ModelWeights>(load_hf_weights(dir));
  Transformer m(w);
  std::vector<int32_t> toks{1, 403, 407, 261, 378, 432, 383, 286};
  std::vector<float> logits(toks.size() * 512);
  m.forward(toks.data(), nullptr, static_cast<int>(toks.size()), logits.data(), true);
  return logits;
}

}  // namespace

class WeightDType : public ::testing::TestWithParam<DType> {};

TEST_P(WeightDType, NarrowOnDiskEqualsSameValuesAsF32) {
  const std::string src = test::source_dir() + "/models/stories260K";
  test::TempDir tmp;
  write_variant(src, tmp.file("narrow"), GetParam(), true);
  write_variant(src, tmp.file("wide"), GetParam(), false);
  auto a = run(tmp.file("narrow"));
  auto b = run(tmp.file("wide"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << i;
  // And the narrowed model stays close to the f32 original.
  auto ref = run(src);
  float max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(a[i] - ref[i]));
  EXPECT_LT(max_diff, GetParam() == DType::BF16 ? 0.5f : 0.05f);
}

INSTANTIATE_TEST_SUITE_P(All, WeightDType, ::testing::Values(DType::F16, DType::BF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });
