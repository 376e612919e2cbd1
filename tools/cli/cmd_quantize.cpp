// lowbit quantize MODEL --to gguf:TYPE -o OUT.gguf [--imatrix FILE] [--tensor-type PATTERN=TYPE]...
//                [-t THREADS] [--dry-run]
// MODEL: a GGUF file or an HF Llama folder. TYPE: one of llama-quantize's mixes.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "core/memory.h"
#include "io/inspect.h"
#include "core/threads.h"
#include "io/gguf_quantize.h"
#include "io/gguf_types.h"

namespace lowbit::cli {
namespace {

std::string ne_str(const std::vector<int64_t>& ne) {
  std::string s;
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return "[" + s + "]";
}

std::string tname(FormatId id) { return ggml_type_label(static_cast<uint32_t>(id)); }

void print_plan(const GgufQuantizeResult& r) {
  const size_t n = r.plan.size();
  for (size_t i = 0; i < n; ++i) {
    const TensorPlan& p = r.plan[i];
    std::string note;
    if (p.overridden) note += " (--tensor-type)";
    if (!p.fallback.empty()) note += " (fallback " + p.fallback + (p.lowbit_fallback ? ", lowbit only" : "") + ")";
    std::printf("[%4zu/%4zu] %-36s %-16s %-7s -> %-7s%s\n", i + 1, n, p.name.c_str(), ne_str(p.ne).c_str(),
                tname(p.src_type).c_str(), tname(p.type).c_str(), note.c_str());
  }
}

void print_summary(const GgufQuantizeResult& r, const std::string& out, bool dry_run) {
  std::printf("%-8s %8s %14s %12s %8s\n", "type", "tensors", "params", "MiB", "bpw");
  for (const GgufTypeStats& s : r.by_type)
    std::printf("%-8s %8d %14s %12.3f %8.4f\n", tname(s.type).c_str(), s.n_tensors, with_commas(s.n_elems).c_str(),
                s.n_bytes / 1048576.0, s.n_elems > 0 ? 8.0 * static_cast<double>(s.n_bytes) / s.n_elems : 0.0);
  std::printf("%s %s: %zu tensors, %.3f MiB -> %.3f MiB, %.4f bits per weight, %.2f s\n",
              dry_run ? "would write" : "wrote", dry_run ? r.mix->name.data() : out.c_str(), r.plan.size(),
              r.n_bytes_in / 1048576.0, r.n_bytes_out / 1048576.0, r.bits_per_weight(), r.seconds);
}

}  // namespace

void register_quantize(CLI::App& app) {
  struct Opts {
    std::string model, to, out, imatrix;
    std::vector<std::string> tensor_types;
    int threads = 0;
    bool dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("quantize", "quantize a model to a GGUF file with one of llama.cpp's named mixes");
  cmd->footer(
      "TYPE (llama-quantize's mixes): " + gguf_mix_names() +
      "\n  (aliases: Q3_K, Q4_K, Q5_K = the _M mixes; MXFP4 = MXFP4_MOE). Per-tensor types, order and bytes are\n"
      "  llama-quantize's. IQ1_*/IQ2_*/IQ3_* tensors have no lowbit quantizer yet: such mixes fail unless every\n"
      "  tensor falls back to a type lowbit has. Rows that fit no block of the chosen type fall back as in\n"
      "  llama.cpp (Q4_K->Q5_0, Q5_K->Q5_1, Q6_K->Q8_0, K/IQ->IQ4_NL, TQ->Q4_0, then F16); where llama.cpp\n"
      "  aborts (Q4_0..Q8_0, IQ4_NL, MXFP4 on such a row) lowbit uses F16 and says so.\n"
      "MODEL: a GGUF file (F32/F16/BF16; quantized sources are dequantized first, with a warning) or a Hugging\n"
      "  Face Llama/Mistral folder with a sentencepiece tokenizer.model (converted as convert_hf_to_gguf.py does).");
  cmd->add_option("model", o->model, "GGUF file or HF model folder")->required();
  cmd->add_option("--to", o->to, "gguf:TYPE, e.g. gguf:Q4_K_M")->required();
  cmd->add_option("-o,--output", o->out, "output .gguf file (written atomically)");
  cmd->add_option("--imatrix", o->imatrix, "importance matrix (llama.cpp GGUF imatrix or legacy imatrix.dat)");
  cmd->add_option("--tensor-type", o->tensor_types,
                  "PATTERN=TYPE: tensors whose name matches the regex get this ggml type (the last match wins); "
                  "repeatable");
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  cmd->add_flag("--dry-run", o->dry_run, "print the per-tensor type plan and sizes; write nothing");
  cmd->callback([o] {
    const std::string prefix = "gguf:";
    if (o->to.compare(0, prefix.size(), prefix) != 0)
      fail("--to", "expected gguf:TYPE (only GGUF output is supported), got \"" + o->to + "\"");
    if (!o->dry_run && o->out.empty()) fail("-o", "an output file is required (or use --dry-run)");
    set_num_threads(o->threads);
    GgufQuantizeOptions q;
    q.mix = o->to.substr(prefix.size());
    q.imatrix_path = o->imatrix;
    q.tensor_types = o->tensor_types;
    q.dry_run = o->dry_run;
    q.progress = !globals().quiet;
    q.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
    const GgufQuantizeResult r = quantize_gguf(o->model, o->out, q);
    if (o->dry_run) print_plan(r);
    else if (!globals().quiet) {
      for (const TensorPlan& p : r.plan)
        if (!p.fallback.empty() && !p.lowbit_fallback)
          std::printf("fallback: %-36s %s\n", p.name.c_str(), p.fallback.c_str());
    }
    print_summary(r, o->out, o->dry_run);
  });
}

}  // namespace lowbit::cli
