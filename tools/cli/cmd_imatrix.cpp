// lowbit imatrix MODEL --text FILE -o OUT [--ctx 512] [--chunks N] [--process-output] [-t THREADS]
// Runs MODEL over calibration text and writes llama.cpp's GGUF imatrix (specs/gguf.md §6); the
// collection follows llama-imatrix (see src/calib/imatrix_collect.h), so llama-quantize
// --imatrix and lowbit quantize both read the result.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "calib/imatrix.h"
#include "calib/imatrix_collect.h"
#include "commands.h"
#include "core/read_file.h"
#include "core/error.h"
#include "core/threads.h"
#include "model/gguf_loader.h"
#include "model/tokenizer.h"
#include "model/transformer.h"

namespace lowbit::cli {
void register_imatrix(CLI::App& app) {
  struct Opts {
    std::string model, text, out;
    int ctx = 512, chunks = 0, threads = 0;
    bool process_output = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("imatrix", "collect an importance matrix (llama.cpp's GGUF imatrix) from calibration text");
  cmd->add_option("model", o->model, "HF model directory or GGUF file")->required();
  cmd->add_option("--text,-f", o->text, "calibration text file (UTF-8)")->required();
  cmd->add_option("-o,--output", o->out, "imatrix file to write (GGUF)")->required();
  cmd->add_option("-c,--ctx", o->ctx, "tokens per chunk (default 512, as llama-imatrix)");
  cmd->add_option("--chunks", o->chunks, "process at most N chunks (default: all)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--process-output", o->process_output, "also collect output.weight (untied heads only, as llama.cpp)");
  cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
  cmd->callback([o] {
    set_num_threads(o->threads);
    if (o->ctx < 1) fail("--ctx", "must be at least 1");
    const std::string text = read_whole_file(o->text);
    auto weights = std::shared_ptr<const ModelWeights>(load_model_weights(o->model));
    auto tok = load_tokenizer(o->model);
    if (o->process_output && weights->lm_head.data == weights->embed.data)
      std::fprintf(stderr, "note: %s ties lm_head to the embeddings; like llama.cpp, no output.weight entry\n",
                   o->model.c_str());
    Transformer model(weights, o->ctx);
    ImatrixOptions io;
    io.ctx = o->ctx;
    io.max_chunks = o->chunks;
    io.process_output = o->process_output;
    io.dataset = o->text;  // llama.cpp stores the -f argument as given
    io.progress = !globals().quiet;
    ImatrixRunStats st;
    Imatrix m;
    try {
      m = collect_imatrix(model, *tok, text, io, &st);
    } catch (const Error& e) {
      fail(e.file().empty() ? o->text : e.file(), e.detail());
    }
    write_imatrix_gguf(m, o->out);
    std::printf("imatrix: %zu entries, %d chunks of %d tokens (%lld in the text), %.2f s, %.0f tokens/s "
                "(%d threads) -> %s\n",
                m.entries.size(), st.n_chunks, o->ctx, static_cast<long long>(st.n_tokens), st.seconds,
                st.tokens_per_s, num_threads(), o->out.c_str());
  });
}

}  // namespace lowbit::cli
