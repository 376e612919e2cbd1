#include "commands.h"

namespace lowbit::cli {
void register_bench(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
