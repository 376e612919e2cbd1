// lowbit quantize MODEL --to gguf:TYPE -o OUT.gguf [--imatrix FILE] [--tensor-type PATTERN=TYPE]...
//                [-t THREADS] [--dry-run]
// MODEL: a GGUF file or an HF Llama folder. TYPE: one of llama-quantize's mixes.
// lowbit quantize MODEL --to rtn|gptq|awq|hqq|compressed-tensors [--bits N] [--group-size G]
//                [--sym|--asym] [--desc-act] [--calib FILE] [--samples N] [--seq-len N] [--resume]
//                [--method M] [--format F] -o DIR
// writes an HF folder (src/quant/hf_quantize.h does the work; this file only parses options).
#include <cstdio>
#include <cstdlib>
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
#include "quant/calib_batch.h"
#include "quant/hf_quantize.h"

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

struct HfOpts {
  int bits = 4;
  int group_size = 128;
  bool sym = false, asym = false, desc_act = false, resume = false;
  std::string calib, method, format;
  int samples = 128, seq_len = 512;
  int64_t awq_tokens = 16384;
  float damp = 0.01f;
};

// The default calibration text: $LOWBIT_SHARED_DIR, ../shared, /work/shared (issue 5: the
// wikitext-2 calibration file, else the TinyStories one).
std::string default_calib() {
  std::vector<std::string> dirs;
  if (const char* e = std::getenv("LOWBIT_SHARED_DIR"); e && *e) dirs.push_back(e);
  dirs.push_back("../shared");
  dirs.push_back("/work/shared");
  for (const std::string& d : dirs)
    if (std::string p = default_calib_path(d, false); !p.empty()) return p;
  return "";
}

void quantize_hf_cli(const std::string& model, const std::string& to, const std::string& out, const HfOpts& h) {
  if (out.empty()) fail("-o", "an output directory is required");
  HfQuantizeOptions q;
  parse_quant_target(to, q.method, q.format);
  if (!h.method.empty()) q.method = parse_quant_method(h.method);
  if (!h.format.empty()) q.format = parse_checkpoint_kind(h.format);
  if (h.sym && h.asym) fail("--sym", "--sym and --asym exclude each other");
  // Defaults per method: GPTQ/RTN symmetric (AutoGPTQ), AWQ and HQQ with zero points.
  q.sym = h.sym ? true : h.asym ? false : !(q.method == QuantMethod::Awq || q.method == QuantMethod::Hqq);
  q.bits = h.bits;
  q.group_size = h.group_size;
  q.desc_act = h.desc_act;
  q.damp_percent = h.damp;
  q.calib_path = h.calib.empty() ? default_calib() : h.calib;
  q.n_samples = h.samples;
  q.seq_len = h.seq_len;
  q.awq_search_tokens = h.awq_tokens;
  q.resume = h.resume;
  q.progress = !globals().quiet;
  q.on_message = [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  const HfQuantizeResult r = quantize_hf(model, out, q);
  std::printf("wrote %s: %s weights in %s format, %d-bit, group %d, %s%s\n", out.c_str(), quant_method_name(q.method),
              checkpoint_kind_name(q.format), q.bits, q.group_size, q.sym ? "sym" : "asym",
              q.desc_act ? ", act-order" : "");
  if (r.n_calib_samples > 0)
    std::printf("calibration %d samples x %d tokens of %s\n", r.n_calib_samples, r.calib_seq_len, q.calib_path.c_str());
  if (r.first_layer_run > 0) std::printf("resumed    at layer %d of %d\n", r.first_layer_run, r.n_layers);
  std::printf("linears    %d quantized (%lld params, %.4f bits per weight packed), %zu kept unquantized\n",
              r.n_linears_quantized, static_cast<long long>(r.n_linear_params), r.linear_bits_per_weight,
              r.skipped.size());
  std::printf("time       %.2f s\n", r.seconds);
  const QuantTimes& t = r.times;
  std::printf("time split load %.2f s, forward %.2f s, %s %.2f s, solve %.2f s, propagate %.2f s, write %.2f s\n",
              t.load, t.forward, q.method == QuantMethod::Awq ? "capture" : "hessian", t.stats, t.solve, t.propagate,
              t.write);
  std::printf("peak RAM   %s (VmHWM)\n", format_bytes(r.peak_rss_bytes).c_str());
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
  auto h = std::make_shared<HfOpts>();
  auto* cmd = app.add_subcommand(
      "quantize", "quantize a model to a GGUF file (--to gguf:TYPE) or an HF checkpoint (--to rtn|gptq|awq|hqq|"
                  "compressed-tensors)");
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
  cmd->add_option("--to", o->to, "gguf:TYPE (e.g. gguf:Q4_K_M), or rtn|gptq|awq|hqq|compressed-tensors")->required();
  cmd->add_option("-o,--output", o->out, "output .gguf file or HF directory (written atomically)");
  cmd->add_option("--bits", h->bits, "HF: bits per weight (default 4)");
  cmd->add_option("--group-size", h->group_size, "HF: columns per group, -1 per channel (default 128)");
  cmd->add_flag("--sym", h->sym, "HF: symmetric grid (default for rtn, gptq, compressed-tensors)");
  cmd->add_flag("--asym", h->asym, "HF: asymmetric grid with zero points (default for awq, hqq)");
  cmd->add_flag("--desc-act", h->desc_act, "HF, GPTQ: act-order (g_idx)");
  cmd->add_option("--damp", h->damp, "HF, GPTQ: percdamp (default 0.01)");
  cmd->add_option("--calib", h->calib, "HF, GPTQ/AWQ: calibration text (default: shared wikitext-2 validation)");
  cmd->add_option("--samples", h->samples, "HF, GPTQ/AWQ: calibration samples (default 128)");
  cmd->add_option("--seq-len", h->seq_len, "HF, GPTQ/AWQ: tokens per sample (default 512, capped at the model's)");
  cmd->add_option("--awq-tokens", h->awq_tokens, "HF, AWQ: tokens (whole samples) in the scale/clip searches");
  cmd->add_option("--method", h->method, "HF: override the algorithm (rtn, gptq, awq, hqq)");
  cmd->add_option("--format", h->format, "HF: override the layout (gptq, gptq_v2, awq, hqq, compressed-tensors)");
  cmd->add_flag("--resume", h->resume, "HF: continue an interrupted run of the same job from its last layer");
  cmd->add_option("--imatrix", o->imatrix, "importance matrix (llama.cpp GGUF imatrix or legacy imatrix.dat)");
  cmd->add_option("--tensor-type", o->tensor_types,
                  "PATTERN=TYPE: tensors whose name matches the regex get this ggml type (the last match wins); "
                  "repeatable");
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  cmd->add_flag("--dry-run", o->dry_run, "print the per-tensor type plan and sizes; write nothing");
  cmd->callback([o, h] {
    const std::string prefix = "gguf:";
    if (o->to.compare(0, prefix.size(), prefix) != 0) {
      set_num_threads(o->threads);
      quantize_hf_cli(o->model, o->to, o->out, *h);
      return;
    }
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
