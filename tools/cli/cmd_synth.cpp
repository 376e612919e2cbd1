#include "commands.h"

namespace lowbit::cli {
void register_synth(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
