// lowbit inspect FILE|DIR [--json] [--all]
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "io/inspect.h"

namespace lowbit::cli {

void register_inspect(CLI::App& app) {
  struct Opts {
    std::string path;
    bool json = false, all = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "inspect",
      "list the tensors, totals, metadata and config of a safetensors file or HF model directory");
  cmd->add_option("path", o->path, "a .safetensors file, or an HF model directory (single file or sharded)")
      ->required();
  cmd->add_flag("--json", o->json, "print JSON (always lists every tensor)");
  cmd->add_flag("--all", o->all,
                "print every tensor (default: non-layer tensors and the first layer, with later layers "
                "summarized when their names, dtypes and shapes match it)");
  cmd->callback([o] {
    InspectReport r = inspect_model(o->path);
    if (o->json) {
      std::printf("%s\n", inspect_to_json(r).dump(2).c_str());
    } else {
      std::fputs(format_inspect(r, o->all).c_str(), stdout);
    }
  });
}

}  // namespace lowbit::cli
