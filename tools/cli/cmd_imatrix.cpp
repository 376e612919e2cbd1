#include "commands.h"

namespace lowbit::cli {
void register_imatrix(CLI::App& app) { (void)app; }
}  // namespace lowbit::cli
