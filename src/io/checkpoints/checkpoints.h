// The Hugging Face checkpoint formats lowbit reads and writes, one pair of files each:
//   gptq.h               qweight/qzeros/scales/g_idx, 2/3/4/8-bit, v1 (gptq) and v2 zero points
//   awq.h                AutoAWQ GEMM, 4-bit, interleaved nibble order
//   hqq.h                HQQLinear's encoded state dict (transformers' HQQ)
//   compressed_tensors.h pack-quantized (W4A16, W8A16; group and channel), config_groups/ignore
//   bnb.h                bitsandbytes NF4/FP4 (+ double quant) and LLM.int8 (decoders only)
// Writing a model, per quantized linear `module` (the tensors must outlive writer.write()):
//   auto tensors = gptq_pack(q, options);            // QuantizedLinear -> NamedTensors
//   add_to_writer(writer, module, tensors);          // "module.qweight", ...
//   config["quantization_config"] = gptq_config_to_json(cfg);
// Reading one back:
//   SafetensorsTensorSource src(*model);
//   QuantizedLinear q = gptq_unpack(src, module, gptq_config_from_json(qc, path));
// Bias and unquantized tensors (embeddings, norms, lm_head) are ordinary tensors, not handled here.
#pragma once
#include "io/checkpoints/awq.h"
#include "io/checkpoints/bnb.h"
#include "io/checkpoints/compressed_tensors.h"
#include "io/checkpoints/gptq.h"
#include "io/checkpoints/hqq.h"
#include "io/checkpoints/named_tensor.h"
