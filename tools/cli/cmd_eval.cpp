#include "commands.h"

namespace lowbit::cli {
void register_eval(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
