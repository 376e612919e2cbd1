// lowbit convert IN_DIR -o OUT.gguf [--widen] [--requantize TYPE] [--dry-run]
// IN_DIR: a quantized HF checkpoint (gptq, awq, hqq, compressed-tensors). Linears whose codes
// and scales a GGUF type holds exactly are repacked; the others are refused unless
// --requantize names a type (src/quant/quantized_to_gguf.h does the work; this file only
// parses options and prints).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "quant/quantized_to_gguf.h"

namespace lowbit::cli {
namespace {

std::string tname(FormatId id) { return std::string(format(id).name); }

void print_plan(const ConvertResult& r) {
  const size_t n = r.plan.size();
  for (size_t i = 0; i < n; ++i) {
    const ConvertTensor& p = r.plan[i];
    const std::string to = p.how == ConvertHow::Refuse ? "-" : tname(p.type);
    std::string how = convert_how_name(p.how);
    if (!p.why_not.empty()) how += ": " + p.why_not;
    std::printf("[%4zu/%4zu] %-28s %-32s -> %-5s %s\n", i + 1, n, p.name.c_str(), p.source.c_str(), to.c_str(),
                how.c_str());
  }
}

void print_summary(const ConvertResult& r, const std::string& out, bool dry_run) {
  std::printf("%-6s %8s %6s %8s %11s %7s %12s\n", "type", "tensors", "exact", "widened", "requantized", "copied",
              "MiB");
  for (const ConvertTypeStats& s : r.by_type)
    std::printf("%-6s %8d %6d %8d %11d %7d %12.3f\n", tname(s.type).c_str(), s.n_tensors, s.n_exact, s.n_widened,
                s.n_requantized, s.n_copied, s.n_bytes / 1048576.0);
  std::printf("%s %s: %s checkpoint, %d linears exact, %d widened (exact, more bits), %d requantized (lossy), %d "
              "tensors unquantized in the source, %.3f MiB, %.2f s\n",
              dry_run ? "would write" : "wrote", dry_run ? "(dry run)" : out.c_str(), r.method.c_str(), r.n_exact,
              r.n_widened, r.n_requantized, r.n_copied, r.n_bytes_out / 1048576.0, r.seconds);
  if (r.n_refused > 0) std::printf("refused %d linears with no exact GGUF type (see --requantize)\n", r.n_refused);
}

}  // namespace

void register_convert(CLI::App& app) {
  struct Opts {
    std::string in, out, requantize;
    bool widen = false, dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("convert", "convert a quantized HF checkpoint (gptq, awq, hqq, compressed-tensors) "
                                            "to GGUF, exactly where a GGUF type holds its weights");
  cmd->footer(
      "Exact (the checkpoint's codes and fp16 scales, repacked; every group checked): symmetric 4/5/8-bit with\n"
      "  groups of a multiple of 32 columns -> Q4_0 / Q5_0 / Q8_0; asymmetric 4/5-bit -> Q4_1 / Q5_1 only where\n"
      "  -scale*zero is an fp16 value (rarely). Anything else (asymmetric, HQQ float zeros, 2/3-bit, act-order,\n"
      "  non-fp16 scales, groups not a multiple of 32) is refused unless --requantize TYPE: then that linear is\n"
      "  decoded and quantized to TYPE (lossy) and counted. --widen first stores code - zero of integer-zero\n"
      "  checkpoints exactly in a wider type (2/3-bit -> Q4_0, asymmetric 4-bit -> Q5_0, asymmetric 5..7-bit ->\n"
      "  Q8_0). Other tensors convert as `quantize --to gguf:F32` does.");
  cmd->add_option("input", o->in, "quantized HF checkpoint folder")->required();
  cmd->add_option("-o,--output", o->out, "output .gguf file (written atomically)");
  cmd->add_option("--requantize", o->requantize,
                  "ggml type for linears with no exact GGUF type (e.g. Q4_K, Q6_K, Q8_0, F16); default: refuse them");
  cmd->add_flag("--widen", o->widen,
                "store linears no type of their width holds exactly in a wider type that does (more bits, exact)");
  cmd->add_flag("--dry-run", o->dry_run, "print the per-tensor plan (source, type, exact/requantize/why); write nothing");
  cmd->callback([o] {
    ConvertOptions c;
    c.requantize = o->requantize;
    c.widen = o->widen;
    c.dry_run = o->dry_run;
    c.progress = !globals().quiet;
    const ConvertResult r = convert_quantized_to_gguf(o->in, o->out, c);
    if (o->dry_run) print_plan(r);
    if (!globals().quiet) print_summary(r, o->out, o->dry_run);
    if (!r.refusal.empty()) fail(o->in, r.refusal);  // a dry run ends as the real run would
  });
}

}  // namespace lowbit::cli
