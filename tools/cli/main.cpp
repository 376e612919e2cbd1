// lowbit: quantize, run and measure LLMs on CPU. One binary, one file per subcommand.
#include <cstdio>
#include <exception>

#include "commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"

namespace lowbit::cli {
GlobalOptions& globals() {
  static GlobalOptions g;
  return g;
}
}  // namespace lowbit::cli

int main(int argc, char** argv) {
  using namespace lowbit;
  install_cleanup_signal_handlers();
  CLI::App app{"lowbit: quantize, run and measure LLMs on CPU", "lowbit"};
  app.set_version_flag("--version", LOWBIT_VERSION);
  app.require_subcommand(1);
  // --quiet may come before or after the subcommand (fallthrough), and takes effect at once.
  app.fallthrough();
  app.add_flag_callback("-q,--quiet", [] {
       cli::globals().quiet = true;
       Progress::set_quiet(true);
     }, "no progress output")
      ->trigger_on_parse();
  cli::register_run(app);
  cli::register_eval(app);
  cli::register_inspect(app);
  cli::register_synth(app);
  cli::register_bench(app);
  cli::register_quantize(app);
  cli::register_imatrix(app);
  cli::register_tokenize(app);
  cli::register_detokenize(app);
  cli::register_convert(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "lowbit: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lowbit: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit: %s\n", e.what());
    return 1;
  }
  return 0;
}
