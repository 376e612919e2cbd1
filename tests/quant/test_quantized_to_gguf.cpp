// `lowbit convert` (quant/quantized_to_gguf.h) on checkpoints made here by lowbit's own RTN /
// GPTQ / HQQ / compressed-tensors writers into a temp dir: symmetric 4/5/8-bit become
// Q4_0 / Q5_0 / Q8_0 and decode (registry dequantize, Q/K permutation applied to the
// reference) to QuantizedLinear::dequantize bit for bit; asymmetric, HQQ and act-order are
// refused with the module named unless --requantize (or, for integer zeros, --widen: exact
// at more bits); the GGUF runs with the checkpoint's perplexity; bad input is one line, a
// non-zero exit and no file.
//
// Shapes: stories260K (rows 64 / 172) keeps its MLP unquantized under GPTQ packing, so its
// attention linears are the packed ones; TinyStories-5M (rows 256 / 768) packs every linear
// at group 128 and fits Q4_K's 256-column blocks.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../cli/cli_util.h"
#include "../test_util.h"
#include "quant_test_util.h"
#include "core/error.h"
#include "eval/perplexity.h"
#include "formats/registry.h"
#include "io/gguf.h"
#include "io/hf_to_gguf.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "quant/hf_quantize.h"
#include "quant/quantized_source.h"
#include "quant/quantized_to_gguf.h"

namespace fs = std::filesystem;
using namespace lowbit;

namespace {

using quant_test::calib_text;
using quant_test::eval_text;
using quant_test::model_260k;
using quant_test::model_5m;

// A checkpoint written by lowbit quantize: RTN unless `to` says otherwise.
std::string make_checkpoint(const test::TempDir& tmp, const std::string& model, const std::string& name,
                            const std::string& to, int bits, int group, bool sym, bool desc_act = false) {
  HfQuantizeOptions o;
  parse_quant_target(to, o.method, o.format);
  if (to == "compressed-tensors") o.method = QuantMethod::Rtn;
  o.bits = bits;
  o.group_size = group;
  o.sym = sym;
  o.desc_act = desc_act;
  o.calib_path = calib_text();
  o.n_samples = 4;
  o.seq_len = 64;
  o.progress = false;
  o.on_message = [](const std::string&) {};
  const std::string dir = tmp.file(name);
  quantize_hf(model, dir, o);
  return dir;
}

ConvertOptions quiet(const std::string& requantize = "") {
  ConvertOptions o;
  o.requantize = requantize;
  o.progress = false;
  return o;
}

int count(const ConvertResult& r, ConvertHow how, FormatId type) {
  int n = 0;
  for (const ConvertTensor& t : r.plan) n += t.how == how && t.type == type;
  return n;
}

// Every exact tensor of the GGUF decodes to the checkpoint's weights, element for element
// (== so that -0 and +0 are one weight), Q/K rows permuted as the converter does.
int expect_bit_exact(const std::string& ckpt, const std::string& gguf, const ConvertResult& r) {
  const auto qm = QuantizedHfModel::open(ckpt);
  const auto f = GgufFile::open(gguf);
  int n_checked = 0;
  for (const ConvertTensor& p : r.plan) {
    if (p.how != ConvertHow::Exact && p.how != ConvertHow::Widen) continue;
    SCOPED_TRACE(p.name);
    const GgufTensor& t = f->tensor(p.name);
    const int64_t n_in = p.ne[0], n_out = p.ne[1];
    std::vector<float> got(static_cast<size_t>(n_in * n_out)), want(got.size());
    dequantize_rows(static_cast<FormatId>(t.ggml_type), t.data, got.data(), n_out, n_in);
    const auto q = qm->linear(p.hf_name, n_out, n_in);
    if (!q) {
      ADD_FAILURE() << "not packed in the checkpoint";
      continue;
    }
    q->dequantize(want.data());
    if (const int n_heads = hf_gguf_permute_heads(p.name, qm->config()); n_heads > 0) {
      const auto rows = permute_qk_rows(reinterpret_cast<const uint8_t*>(want.data()), n_out,
                                        static_cast<size_t>(n_in) * sizeof(float), n_heads, p.name, ckpt);
      std::memcpy(want.data(), rows.data(), rows.size());
    }
    size_t n_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) n_diff += got[i] != want[i];
    EXPECT_EQ(n_diff, 0u);
    ++n_checked;
  }
  return n_checked;
}

double ppl_of(const std::string& path, const std::string& tokenizer_model, int n_chunks) {
  std::ifstream in(eval_text());
  std::string text(200000, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  const std::vector<int32_t> tokens = load_tokenizer(tokenizer_model)->encode(text, true);
  std::shared_ptr<const ModelWeights> w = load_model_weights(path);
  Transformer t(w, 128);
  EvalOptions o;
  o.ctx = 128;
  o.max_chunks = n_chunks;
  o.progress = false;
  return evaluate_perplexity(t, tokens, o).ppl;
}

std::string error_of(const std::string& in, const std::string& out, const ConvertOptions& o) {
  try {
    convert_quantized_to_gguf(in, out, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConvertQuantized, Stories260KSym4BitG32IsExactQ4_0) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string ckpt = make_checkpoint(tmp, model_260k(), "q", "rtn", 4, 32, true);
  const ConvertResult r = convert_quantized_to_gguf(ckpt, tmp.file("q.gguf"), quiet());
  EXPECT_TRUE(r.written);
  EXPECT_EQ(r.method, "gptq");
  EXPECT_EQ(r.n_exact, 20);  // q, k, v, o in 5 layers; the 172-wide MLP is not packed
  EXPECT_EQ(count(r, ConvertHow::Exact, FormatId::Q4_0), 20);
  EXPECT_EQ(r.n_requantized, 0);
  EXPECT_EQ(count(r, ConvertHow::Copy, FormatId::F32), r.n_copied);
  EXPECT_EQ(expect_bit_exact(ckpt, tmp.file("q.gguf"), r), 20);
  // The rest is what the float HF -> GGUF path writes: same names, metadata, vocabulary.
  const auto f = GgufFile::open(tmp.file("q.gguf"));
  EXPECT_EQ(f->tensors().size(), r.plan.size());
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_u32("general.file_type"), 2u);  // LLAMA_FTYPE_MOSTLY_Q4_0
  EXPECT_EQ(f->get_u32("general.quantization_version"), 2u);
  EXPECT_TRUE(f->has("tokenizer.ggml.tokens"));
  EXPECT_EQ(f->tensor("blk.0.ffn_down.weight").ggml_type, static_cast<uint32_t>(FormatId::F32));
}

TEST(ConvertQuantized, TinyStoriesSym4BitG128IsExactQ4_0AndRunsLikeTheCheckpoint) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string ckpt = make_checkpoint(tmp, model_5m(), "q", "rtn", 4, 128, true);
  const ConvertResult r = convert_quantized_to_gguf(ckpt, tmp.file("q.gguf"), quiet());
  EXPECT_EQ(count(r, ConvertHow::Exact, FormatId::Q4_0), 42);
  EXPECT_EQ(expect_bit_exact(ckpt, tmp.file("q.gguf"), r), 42);
  const double ppl_hf = ppl_of(ckpt, model_5m(), 4), ppl_gguf = ppl_of(tmp.file("q.gguf"), model_5m(), 4);
  EXPECT_NEAR(ppl_gguf, ppl_hf, 0.002 * ppl_hf);
}

TEST(ConvertQuantized, Sym8BitIsExactQ8_0AndSym5BitIsExactQ5_0) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string q8 = make_checkpoint(tmp, model_5m(), "q8", "rtn", 8, 128, true);
  ConvertResult r = convert_quantized_to_gguf(q8, tmp.file("q8.gguf"), quiet());
  EXPECT_EQ(count(r, ConvertHow::Exact, FormatId::Q8_0), 42);
  EXPECT_EQ(expect_bit_exact(q8, tmp.file("q8.gguf"), r), 42);
  EXPECT_EQ(GgufFile::open(tmp.file("q8.gguf"))->get_u32("general.file_type"), 7u);  // MOSTLY_Q8_0
  // compressed-tensors writes 5 bits (GPTQ packing does not): the 172-wide down_proj is skipped.
  const std::string q5 = make_checkpoint(tmp, model_260k(), "q5", "compressed-tensors", 5, 32, true);
  r = convert_quantized_to_gguf(q5, tmp.file("q5.gguf"), quiet());
  EXPECT_EQ(r.method, "compressed-tensors");
  EXPECT_EQ(count(r, ConvertHow::Exact, FormatId::Q5_0), 30);
  EXPECT_EQ(expect_bit_exact(q5, tmp.file("q5.gguf"), r), 30);
}

TEST(ConvertQuantized, Asym4BitIsRefusedUnlessRequantized) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string ckpt = make_checkpoint(tmp, model_5m(), "q", "rtn", 4, 128, false);
  const std::string out = tmp.file("q.gguf");
  const std::string err = error_of(ckpt, out, quiet());
  EXPECT_NE(err.find(ckpt + ": model.layers.0.self_attn.q_proj (blk.0.attn_q.weight, gptq 4-bit asym g128)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("is not 8"), std::string::npos) << err;
  EXPECT_NE(err.find("use --widen (exact as Q5_0, 5.5 bits per weight) or --requantize Q4_K (lossy)"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find('\n'), std::string::npos);
  EXPECT_FALSE(fs::exists(out));

  const ConvertResult r = convert_quantized_to_gguf(ckpt, out, quiet("Q4_K"));
  EXPECT_EQ(r.n_exact, 0);
  EXPECT_EQ(r.n_requantized, 42);
  EXPECT_EQ(count(r, ConvertHow::Requantize, FormatId::Q4_K), 42);
  for (const ConvertTensor& t : r.plan) {
    if (t.how != ConvertHow::Requantize) continue;
    EXPECT_NE(t.why_not.find("zero point"), std::string::npos) << t.name;
  }
  // Requantizing costs a little: the GGUF stays near the checkpoint, not on it.
  const double ppl_hf = ppl_of(ckpt, model_5m(), 4), ppl_gguf = ppl_of(out, model_5m(), 4);
  EXPECT_NEAR(ppl_gguf, ppl_hf, 0.03 * ppl_hf);
}

TEST(ConvertQuantized, WidenStoresIntegerZerosExactlyAtMoreBits) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  ConvertOptions o = quiet();
  o.widen = true;
  const std::string asym = make_checkpoint(tmp, model_5m(), "asym", "rtn", 4, 128, false);
  ConvertResult r = convert_quantized_to_gguf(asym, tmp.file("asym.gguf"), o);
  EXPECT_EQ(r.n_widened, 42);
  EXPECT_EQ(count(r, ConvertHow::Widen, FormatId::Q5_0), 42);
  EXPECT_EQ(expect_bit_exact(asym, tmp.file("asym.gguf"), r), 42);
  EXPECT_EQ(GgufFile::open(tmp.file("asym.gguf"))->get_u32("general.file_type"), 8u);  // MOSTLY_Q5_0
  const double ppl_hf = ppl_of(asym, model_5m(), 4), ppl_gguf = ppl_of(tmp.file("asym.gguf"), model_5m(), 4);
  EXPECT_NEAR(ppl_gguf, ppl_hf, 0.002 * ppl_hf);

  const std::string q3 = make_checkpoint(tmp, model_260k(), "q3", "rtn", 3, 32, true);
  EXPECT_NE(error_of(q3, tmp.file("q3.gguf"), quiet()).find("--widen (exact as Q4_0, 4.5 bits per weight)"),
            std::string::npos);
  r = convert_quantized_to_gguf(q3, tmp.file("q3.gguf"), o);
  EXPECT_EQ(count(r, ConvertHow::Widen, FormatId::Q4_0), 20);
  EXPECT_EQ(expect_bit_exact(q3, tmp.file("q3.gguf"), r), 20);
}

TEST(ConvertQuantized, ActOrderAndHqqAreRefused) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string act = make_checkpoint(tmp, model_260k(), "act", "gptq", 4, 32, true, true);
  std::string err = error_of(act, tmp.file("act.gguf"), quiet());
  EXPECT_NE(err.find("gptq 4-bit sym g32 act-order) has no exact GGUF type: act-order g_idx"), std::string::npos)
      << err;
  EXPECT_FALSE(fs::exists(tmp.file("act.gguf")));

  const std::string hqq = make_checkpoint(tmp, model_260k(), "hqq", "hqq", 4, 32, false);
  err = error_of(hqq, tmp.file("hqq.gguf"), quiet());
  EXPECT_NE(err.find("hqq 4-bit asym g32"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(tmp.file("hqq.gguf")));
  // Real-valued zeros have no wider home either.
  ConvertOptions widen = quiet();
  widen.widen = true;
  EXPECT_NE(error_of(hqq, tmp.file("hqq.gguf"), widen).find("--requantize"), std::string::npos);
  // Rows of 64 do not fit Q4_K's 256-column blocks; Q8_0's 32 do.
  err = error_of(hqq, tmp.file("hqq.gguf"), quiet("Q4_K"));
  EXPECT_NE(err.find("n_in 64 is not a multiple of Q4_K's block of 256"), std::string::npos) << err;
  const ConvertResult r = convert_quantized_to_gguf(hqq, tmp.file("hqq.gguf"), quiet("Q8_0"));
  EXPECT_GT(r.n_requantized, 0);
  EXPECT_EQ(r.n_exact, 0);
  EXPECT_NO_THROW(load_model_weights(tmp.file("hqq.gguf")));
}

TEST(ConvertQuantized, DryRunPlansAndWritesNothing) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string ckpt = make_checkpoint(tmp, model_260k(), "q", "rtn", 4, 32, false);
  ConvertOptions o = quiet();
  o.dry_run = true;
  ConvertResult r = convert_quantized_to_gguf(ckpt, tmp.file("q.gguf"), o);
  EXPECT_FALSE(r.written);
  EXPECT_EQ(r.n_refused, 20);
  EXPECT_NE(r.refusal.find("model.layers.0.self_attn.q_proj"), std::string::npos) << r.refusal;
  o.requantize = "Q8_0";
  r = convert_quantized_to_gguf(ckpt, tmp.file("q.gguf"), o);
  EXPECT_EQ(r.n_refused, 0);
  EXPECT_EQ(count(r, ConvertHow::Requantize, FormatId::Q8_0), 20);
  EXPECT_TRUE(r.refusal.empty());
  EXPECT_FALSE(fs::exists(tmp.file("q.gguf")));
}

TEST(ConvertQuantized, CliBadInputIsOneLineAndNoFile) {
  REQUIRE_SHARED();
  test::TempDir tmp;
  const std::string out = tmp.file("x.gguf");
  const std::string asym = make_checkpoint(tmp, model_260k(), "asym", "rtn", 4, 32, false);
  struct Case {
    std::string args, want;
  };
  const Case cases[] = {
      {tmp.file("missing"), "no such directory"},
      {model_260k(), "not a quantized checkpoint"},
      {asym, "has no exact GGUF type"},
      {asym + " --requantize Q9_9", "--requantize: \"Q9_9\" is not a ggml type"},
      {asym + " --requantize Q4_K", "is not a multiple of Q4_K's block of 256"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const test::RunResult r = test::run_command(test::lowbit_bin() + " convert " + c.args + " -o " + out);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.out.rfind("lowbit: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(c.want), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(out));
  }
  // A dry run prints the plan and ends as the real run would; a good run prints the summary.
  test::RunResult r = test::run_command(test::lowbit_bin() + " convert " + asym + " --dry-run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused: zero point"), std::string::npos) << r.out;
  r = test::run_command(test::lowbit_bin() + " convert " + asym + " --requantize Q8_0 -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("0 linears exact, 0 widened (exact, more bits), 20 requantized (lossy)"), std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(out));
  r = test::run_command(test::lowbit_bin() + " convert " + asym + " --requantize Q8_0 --quiet -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "");
  // The float path points quantized folders here.
  r = test::run_command(test::lowbit_bin() + " quantize " + asym + " --to gguf:Q8_0 -o " + tmp.file("y.gguf"));
  EXPECT_NE(r.out.find("lowbit convert"), std::string::npos) << r.out;
}
