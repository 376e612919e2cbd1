// What is in a model: the tensors of a safetensors file or HF model directory (single file
// or sharded), their totals, the __metadata__, and a summary of config.json. Backs
// `lowbit inspect`; the formatting lives here too so tests can check it without the CLI.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/dtype.h"
#include "io/hf_config.h"

namespace lowbit {

struct InspectTensor {
  std::string name;
  std::string type;  // safetensors dtype ("F32") or GGUF block type ("Q4_K")
  std::vector<int64_t> shape;
  int64_t n_elems = 0;
  size_t n_bytes = 0;
  std::string file;  // shard file name (no directory)
};

struct InspectDTypeTotal {
  int64_t n_tensors = 0;
  int64_t n_params = 0;
  size_t n_bytes = 0;
};

struct InspectReport {
  std::string path;
  std::vector<std::string> files;            // safetensors files (names), in shard order
  size_t file_bytes = 0;                     // their sizes on disk
  std::map<std::string, std::string> metadata;  // __metadata__ of the first file, or GGUF KVs
  bool is_gguf = false;
  std::vector<InspectTensor> tensors;        // natural name order (layers 0, 1, 2, ..., 10)
  int64_t n_params = 0;
  size_t n_bytes = 0;                        // tensor data bytes
  std::map<std::string, InspectDTypeTotal> by_dtype;  // key: safetensors dtype name
  std::optional<ModelConfig> config;         // config.json of a directory, if present
  std::string config_error;                  // why config.json did not parse ("" if it did)
};

// Reads the headers (the data is mapped, never read). Safetensors files, HF directories and
// GGUF files (metadata as key: value summaries; shapes in PyTorch order, outermost first).
// Missing paths, corrupt files: Error(path, reason).
InspectReport inspect_model(const std::string& path);

// The human-readable report. all_tensors=false prints the non-layer tensors and layer 0's,
// then one line per run of later layers whose tensors have layer 0's names (suffixes),
// dtypes and shapes ("layers 1..15: same as layer 0"); a layer that differs is printed in full.
std::string format_inspect(const InspectReport& r, bool all_tensors);
// {"path", "files", "file_bytes", "metadata", "config" (or null), "config_error",
//  "totals": {"tensors", "params", "bytes", "by_dtype": {DT: {"tensors","params","bytes"}}},
//  "tensors": [{"name","dtype","shape","params","bytes","file"}]}: always every tensor.
nlohmann::json inspect_to_json(const InspectReport& r);

// "260,032"
std::string with_commas(int64_t v);
// Natural order: digit runs compare as numbers ("layers.2." < "layers.10.").
bool natural_less(const std::string& a, const std::string& b);

}  // namespace lowbit
