#include "commands.h"

namespace lowbit::cli {
void register_quantize(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
