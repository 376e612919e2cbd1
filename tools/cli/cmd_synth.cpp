// lowbit synth --like PRESET [--vocab N] [--layers N] [--untied] [--dtype f32|f16|bf16]
//              [--seed S] [--tokenizer DIR] [--force] [--gguf MIX] -o DIR|FILE.gguf
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/memory.h"
#include "io/inspect.h"
#include "io/gguf_quantize.h"
#include "model/synth.h"

namespace lowbit::cli {

namespace {

struct Opts {
  SynthOptions s;
  std::string out, dtype = "f32", gguf;
};

// --gguf MIX: a temporary HF folder next to the output (same filesystem, so no /tmp size
// surprises), converted by the same code as `lowbit quantize --to gguf:MIX`, then deleted
// whether or not the conversion succeeded.
void synth_gguf(const Opts& o) {
  namespace fs = std::filesystem;
  const std::string tmp = o.out + ".synth-hf-" + std::to_string(::getpid());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};
  SynthOptions s = o.s;
  if (o.dtype == "f32") s.dtype = DType::F16;  // the source of a GGUF needs no more than f16
  s.force = true;
  synth_model(s, tmp);
  GgufQuantizeOptions q;
  q.mix = o.gguf;
  q.progress = o.s.progress;
  const GgufQuantizeResult r = quantize_gguf(tmp, o.out, q);
  std::printf("%s: %s-shaped, %s, %s params, %s, %.1f s\n", o.out.c_str(), o.s.like.c_str(), r.mix->name.data(),
              with_commas(r.n_elems).c_str(), format_bytes(r.n_bytes_out).c_str(), r.seconds);
}

}  // namespace

void register_synth(CLI::App& app) {
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "synth",
      "write an HF model folder with random weights of a real model's shapes (for benchmarks and tests; "
      "the text it generates is noise)");
  cmd->footer(
      "Presets: llama-3.2-1b (hidden 2048, 16 layers, 32/8 heads, FFN 8192, vocab 128256, llama3 rope, tied),\n"
      "  qwen2.5-0.5b (hidden 896, 24 layers, 14/2 heads, FFN 4864, vocab 151936, q/k/v bias, tied),\n"
      "  llama-2-7b (hidden 4096, 32 layers, 32/32 heads, FFN 11008, vocab 32000, untied),\n"
      "  tiny (hidden 64, 2 layers, 4/2 heads, FFN 128, vocab 512; for tests).\n"
      "Weights ~ N(0, 0.02), norms 1, deterministic in --seed. The tokenizer is stories260K's 512-piece\n"
      "sentencepiece model (bos 1, eos 2; ids < 512 are valid in any larger vocab), so text from a\n"
      "synthetic model is noise. Shards at 5 GiB; written to DIR.tmp-PID, then renamed to DIR.");
  cmd->add_option("--like", o->s.like, "shape preset: llama-3.2-1b, qwen2.5-0.5b, llama-2-7b, tiny")->required();
  cmd->add_option("--vocab", o->s.vocab, "vocabulary size (default: the preset's; at least 512)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--layers", o->s.layers, "number of layers (default: the preset's)")->check(CLI::PositiveNumber);
  cmd->add_flag("--untied", o->s.untied, "a separate lm_head.weight (tie_word_embeddings false)");
  cmd->add_option("--dtype", o->dtype, "f32, f16 or bf16 (default f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}, CLI::ignore_case));
  cmd->add_option("--seed", o->s.seed, "random seed (default 0)");
  cmd->add_option("--std", o->s.stddev, "standard deviation of the weights (default 0.02)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tokenizer", o->s.tokenizer_dir,
                  "copy tokenizer files from this model directory instead of the bundled one");
  cmd->add_flag("--force", o->s.force, "replace DIR if it exists and is not empty");
  cmd->add_option("--gguf", o->gguf,
                  "write a GGUF file instead (-o FILE.gguf): the HF folder is made beside it, converted with "
                  "llama.cpp's tensor rules at this mix (F16, Q4_0, Q4_K_M, Q8_0, ...), then removed");
  cmd->add_option("-o,--output", o->out, "output directory (or .gguf file with --gguf)")->required();
  cmd->callback([o] {
    const std::string d = o->dtype;
    o->s.dtype = (d == "f16" || d == "F16") ? DType::F16 : (d == "bf16" || d == "BF16") ? DType::BF16 : DType::F32;
    o->s.progress = !globals().quiet;
    if (!o->gguf.empty()) {
      synth_gguf(*o);
      return;
    }
    SynthResult r = synth_model(o->s, o->out);
    const ModelConfig& c = r.config;
    std::printf("%s: %s-shaped, %d layers, vocab %d, %s, %s\n", o->out.c_str(), o->s.like.c_str(), c.n_layers,
                c.vocab_size, c.torch_dtype.c_str(), c.tie_word_embeddings ? "tied embeddings" : "separate lm_head");
    std::printf("  %s params, %s bytes (%s) in %zu file%s, %.1f s\n", with_commas(r.n_params).c_str(),
                with_commas(static_cast<int64_t>(r.n_bytes)).c_str(), format_bytes(r.n_bytes).c_str(),
                r.files.size(), r.files.size() == 1 ? "" : "s", r.seconds);
  });
}

}  // namespace lowbit::cli
