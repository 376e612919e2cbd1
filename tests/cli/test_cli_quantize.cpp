// lowbit quantize: the CLI around io/gguf_quantize.h (plan printing, summary, errors).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/cli_util.h"
#include "io/gguf.h"
#include "test_util.h"

namespace {

std::string stories() { return test::source_dir() + "/models/stories260K"; }

TEST(CliQuantize, WritesGgufAndSummary) {
  test::TempDir dir;
  const std::string out = dir.file("s.gguf");
  const auto r = test::run_command(test::lowbit_bin() + " quantize " + stories() + " --to gguf:Q8_0 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("wrote " + out), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bits per weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("q8_0"), std::string::npos) << r.out;
  // stories260K's ffn_down rows (172) fit no Q8_0 block: F16, and the user is told.
  EXPECT_NE(r.out.find("llama.cpp aborts here, lowbit uses F16"), std::string::npos) << r.out;
  auto f = lowbit::GgufFile::open(out);
  EXPECT_EQ(f->get_u32("general.file_type"), 7u);
  EXPECT_EQ(f->tensor("blk.0.ffn_down.weight").ggml_type, 1u);
}

TEST(CliQuantize, DryRunPrintsThePlan) {
  test::TempDir dir;
  const auto r = test::run_command(test::lowbit_bin() + " quantize " + stories() +
                                   " --to gguf:q4_k_m --dry-run --tensor-type 'attn_q=q8_0' -o " + dir.file("x.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.gguf")));
  EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("q8_0    (--tensor-type)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fallback Q4_K -> Q5_0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would write Q4_K_M"), std::string::npos) << r.out;
}

TEST(CliQuantize, Errors) {
  test::TempDir dir;
  const std::string base = test::lowbit_bin() + " quantize " + stories();
  auto r = test::run_command(base + " --to safetensors:q4 -o " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("expected gguf:TYPE"), std::string::npos) << r.out;
  r = test::run_command(base + " --to gguf:Q4_K_M");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("output file is required"), std::string::npos) << r.out;
  r = test::run_command(base + " --to gguf:Q7 -o " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown GGUF type \"Q7\""), std::string::npos) << r.out;
  r = test::run_command(base + " --to gguf:Q4_0 --tensor-type 'attn_q=Q9' -o " + dir.file("x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--tensor-type: unknown GGUF type \"Q9\""), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x")));
}

TEST(CliQuantize, RefusesMixesWithoutLowbitQuantizer) {
  const std::string shared = test::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared (reference material) not found";
  test::TempDir dir;
  const std::string base = test::lowbit_bin() + " quantize " + shared +
                           "/models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf --to gguf:IQ1_S -o " +
                           dir.file("x.gguf");
  auto r = test::run_command(base);  // llama.cpp refuses IQ1_S without an imatrix, and so does lowbit
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("needs an importance matrix (--imatrix)"), std::string::npos) << r.out;
  r = test::run_command(base + " --imatrix " + shared + "/golden/gguf/tinystories-llama-5M.imatrix.gguf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("no quantizer in lowbit yet: IQ2_XXS (6 tensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IQ1_S (30 tensors"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.gguf")));
}

}  // namespace
