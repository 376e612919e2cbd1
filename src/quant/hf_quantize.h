// lowbit quantize MODEL --to rtn|gptq|awq|hqq|compressed-tensors: the layer-wise pipeline that
// turns an HF model folder into a quantized HF folder transformers and vLLM load.
//
// Streaming (issue 5 item 1): the source stays mmap'd; one decoder layer at a time is read
// as f32, its calibration inputs are the outputs of the already-quantized earlier layers
// (GPTQModel / llm-compressor's sequential pipeline; for AWQ this differs from AutoAWQ, which
// feeds the next layer the unquantized outputs, specs/awq.md §5 step 8), the method
// quantizes it, the packed tensors go to one shard file, and the layer is freed. Peak memory
// is about one layer in f32 plus the calibration hidden states ([samples * seq_len, hidden],
// twice) plus one linear's captured input (AWQ) or Hessians (GPTQ) plus the mapping.
//
// Output layout: DIR/model-<i>-of-<N>.safetensors with one shard per decoder layer and a
// last shard with the embeddings, final norm and lm_head (source dtype), an index json,
// config.json = the source config plus quantization_config, tokenizer files copied.
// Everything is built in DIR.tmp-<pid> and renamed to DIR at the end, so an interrupted
// run never leaves DIR. The temp dir keeps finished layers, the hidden states after them and
// progress.json; --resume adopts such a dir left by a dead process and goes on from there.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lowbit {

enum class QuantMethod { Rtn, Gptq, Awq, Hqq };
enum class CheckpointKind { Gptq, GptqV2, Awq, Hqq, CompressedTensors };

struct HfQuantizeOptions {
  QuantMethod method = QuantMethod::Gptq;
  CheckpointKind format = CheckpointKind::Gptq;
  int bits = 4;
  int group_size = 128;  // <= 0: per output channel
  bool sym = true;
  bool desc_act = false;
  float damp_percent = 0.01f;
  int hqq_axis = 1;
  // Calibration (GPTQ and AWQ only; RTN and HQQ need no data).
  std::string calib_path;
  int n_samples = 128;
  int seq_len = 512;  // capped at the model's max_position_embeddings
  int64_t awq_search_tokens = 16384;  // tokens (whole sequences) in each AWQ loss evaluation
  bool resume = false;
  int stop_after_layers = -1;  // tests: throw Error after this many layers, as an interrupted run
  bool progress = true;
  std::function<void(const std::string&)> on_message;  // notes and warnings (stderr by default)
};

// Where the wall time went, summed over the layers run (seconds). The parts need not add up
// to HfQuantizeResult::seconds: calibration tokenizing, the final shard and the index are
// outside them.
struct QuantTimes {
  double load = 0.0;       // layer tensors read from the mapping and converted to f32
  double forward = 0.0;    // calibration forward passes inside the method (GPTQ: one per stage)
  double stats = 0.0;      // GPTQ Hessian accumulation (X^T X) / AWQ input capture, inside forward's passes
  double solve = 0.0;      // the method itself: GPTQ factorisation + column solve, AWQ searches, RTN, HQQ
  double propagate = 0.0;  // the quantized layer's forward that makes the next layer's inputs
  double write = 0.0;      // packing, the layer's shard, the saved hidden states (--resume)
};

struct HfQuantizeResult {
  int n_layers = 0;
  int first_layer_run = 0;  // > 0 after --resume
  int n_linears_quantized = 0;
  std::vector<std::string> skipped;  // modules kept unquantized (shape the format cannot hold)
  int n_calib_samples = 0, calib_seq_len = 0;
  double seconds = 0.0;
  size_t peak_rss_bytes = 0;
  size_t n_bytes_out = 0;
  int64_t n_linear_params = 0;
  double linear_bits_per_weight = 0.0;  // packed bytes of quantized linears / their params
  QuantTimes times;
};

// "rtn" -> (Rtn, Gptq), "gptq" -> (Gptq, Gptq), "awq" -> (Awq, Awq), "hqq" -> (Hqq, Hqq),
// "compressed-tensors" -> (Gptq, CompressedTensors). Error for anything else.
void parse_quant_target(const std::string& to, QuantMethod& method, CheckpointKind& format);
CheckpointKind parse_checkpoint_kind(const std::string& name);  // gptq, gptq_v2, awq, hqq, compressed-tensors
QuantMethod parse_quant_method(const std::string& name);        // rtn, gptq, awq, hqq
const char* quant_method_name(QuantMethod m);
const char* checkpoint_kind_name(CheckpointKind k);

HfQuantizeResult quantize_hf(const std::string& model_dir, const std::string& out_dir, const HfQuantizeOptions& opt);

}  // namespace lowbit
