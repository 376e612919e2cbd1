// Each subcommand lives in its own file and registers itself on the app.
#pragma once
#include <CLI/CLI.hpp>

namespace lowbit::cli {

struct GlobalOptions {
  bool quiet = false;
};
GlobalOptions& globals();

void register_run(CLI::App& app);
void register_eval(CLI::App& app);
void register_inspect(CLI::App& app);
void register_synth(CLI::App& app);
void register_bench(CLI::App& app);
void register_quantize(CLI::App& app);
void register_imatrix(CLI::App& app);
void register_tokenize(CLI::App& app);
void register_detokenize(CLI::App& app);
void register_convert(CLI::App& app);

}  // namespace lowbit::cli
