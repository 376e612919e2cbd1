#include "commands.h"

namespace lowbit::cli {
void register_inspect(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
