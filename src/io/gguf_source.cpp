#include "io/gguf_source.h"

#include <filesystem>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/gguf_loader.h"
#include "quant/quantized_source.h"

namespace lowbit {

namespace fs = std::filesystem;

ModelSource::ModelSource() = default;
ModelSource::~ModelSource() = default;

std::unique_ptr<ModelSource> gguf_model_source(const std::string& path) {
  auto s = std::make_unique<ModelSource>();
  s->path = path;
  s->gguf = GgufFile::open(path);
  s->metadata = s->gguf->metadata();
  for (const GgufTensor& t : s->gguf->tensors())
    s->tensors.push_back(SourceTensor{t.name, t.ne, t.ggml_type, t.data, t.n_bytes});
  return s;
}

std::unique_ptr<ModelSource> open_model_source(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (hf_dir_is_quantized(path))  // packed linears are not float tensors this path reads
      fail(path, "is a quantized checkpoint (config.json has quantization_config); turn it into GGUF with "
                 "lowbit convert");
    return hf_model_source(path);
  }
  if (!fs::exists(path, ec)) fail(path, "no such file or directory");
  if (is_gguf_path(path)) return gguf_model_source(path);
  const fs::path p(path);
  if (p.extension() == ".safetensors") return hf_model_source(p.parent_path().empty() ? "." : p.parent_path().string());
  fail(path, "not a GGUF file or a Hugging Face model folder");
}

}  // namespace lowbit
