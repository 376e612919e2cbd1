#include "quant/checkpoint_pack.h"

#include <cmath>
#include <regex>

#include "core/error.h"
#include "io/checkpoints/awq.h"
#include "io/checkpoints/compressed_tensors.h"
#include "io/checkpoints/gptq.h"
#include "io/checkpoints/gptq_bits.h"
#include "io/checkpoints/hqq.h"
#include "io/checkpoints/hqq_bits.h"

namespace lowbit {
namespace {

bool is_gptq(CheckpointKind k) { return k == CheckpointKind::Gptq || k == CheckpointKind::GptqV2; }

CtQuantArgs ct_args(const HfQuantizeOptions& opt) {
  CtScheme s = ct_scheme_w4a16(opt.group_size, opt.sym);
  CtQuantArgs a = *s.weights;
  a.num_bits = opt.bits;
  if (opt.desc_act) a.actorder = "group";
  return a;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

}  // namespace

void check_method_and_format(const HfQuantizeOptions& opt) {
  const bool hqq_m = opt.method == QuantMethod::Hqq, hqq_f = opt.format == CheckpointKind::Hqq;
  if (hqq_m != hqq_f)
    fail("--format", "HQQ's zero points are real numbers: the hqq method is written only in the hqq format, and the "
                     "hqq format only holds the hqq method");
  if (opt.bits < 1 || opt.bits > 8) fail("--bits", "must be in 1..8");
  if (is_gptq(opt.format) && !gptq_bits_supported(opt.bits))
    fail("--bits", "GPTQ checkpoints pack 2, 3, 4 or 8 bits, not " + std::to_string(opt.bits));
  if (opt.format == CheckpointKind::Awq) {
    if (opt.bits != 4)
      fail("--bits", "AWQ GEMM checkpoints hold 4-bit weights only (write other widths with --format gptq or "
                     "compressed-tensors)");
    if (opt.sym) fail("--sym", "AWQ GEMM checkpoints store zero points: use --asym");
  }
  if (opt.format == CheckpointKind::CompressedTensors && opt.bits < 2)
    fail("--bits", "compressed-tensors int weights need at least 2 bits");
  if (hqq_f && hqq_packing_for_bits(opt.bits).empty())
    fail("--bits", "HQQ has no packing for " + std::to_string(opt.bits) + " bits");
  if (opt.desc_act && opt.method != QuantMethod::Gptq) fail("--desc-act", "act-order is a GPTQ option");
  if (opt.desc_act && opt.format == CheckpointKind::Awq) fail("--desc-act", "AWQ checkpoints have no g_idx");
}

std::string checkpoint_cannot_hold(const HfQuantizeOptions& opt, int64_t n_out, int64_t n_in) {
  const int64_t gs = opt.group_size > 0 ? opt.group_size : n_in;
  switch (opt.format) {
    case CheckpointKind::Gptq:
    case CheckpointKind::GptqV2:
      if (gptq_n_words(n_in, opt.bits) < 0 || gptq_n_words(n_out, opt.bits) < 0)
        return "GPTQ int32 packing needs n_in and n_out to fill whole words at " + std::to_string(opt.bits) + " bits";
      return "";
    case CheckpointKind::Awq:
      if (n_out % 8) return "AWQ GEMM packs 8 output features per int32";
      if (n_in % gs) return "group size does not divide n_in";
      return "";
    case CheckpointKind::CompressedTensors:
      if (n_in % gs) return "group size does not divide n_in";
      return "";
    case CheckpointKind::Hqq:
      if (n_in % gs) return "group size does not divide n_in";
      if (hqq_packed_rows(hqq_packing_for_bits(opt.bits), n_out * n_in / gs) < 0)
        return "the number of groups does not suit HQQ's " + hqq_packing_for_bits(opt.bits) + " packing";
      return "";
  }
  return "unknown format";
}

std::vector<NamedTensor> pack_linear(const HfQuantizeOptions& opt, const QuantizedLinear* q, const HqqResult* hqq,
                                     DType scale_dtype, std::vector<std::string>* warnings) {
  switch (opt.format) {
    case CheckpointKind::Gptq:
    case CheckpointKind::GptqV2: {
      GptqPackOptions p;
      p.format = opt.format == CheckpointKind::Gptq ? GptqCheckpointFormat::V1 : GptqCheckpointFormat::V2;
      p.scale_dtype = scale_dtype;
      return gptq_pack(*q, p, warnings);
    }
    case CheckpointKind::Awq: {
      AwqPackOptions p;
      p.scale_dtype = scale_dtype;
      return awq_pack(*q, p);
    }
    case CheckpointKind::CompressedTensors: {
      CtPackOptions p;
      p.scale_dtype = scale_dtype;
      return ct_pack(*q, ct_args(opt), p);
    }
    case CheckpointKind::Hqq: {
      HqqWeight w;
      w.n_out = hqq->n_out;
      w.n_in = hqq->n_in;
      w.nbits = hqq->nbits;
      w.group_size = hqq->group_size;
      w.axis = hqq->axis;
      w.codes = hqq->codes;
      w.scale = hqq->scale;
      w.zero = hqq->zero;
      HqqPackOptions p;
      p.compute_dtype = scale_dtype;
      p.round_zero = opt.bits == 4;  // hqq_base_quant_config
      return hqq_pack(w, p);
    }
  }
  fail("--format", "unknown checkpoint format");
}

nlohmann::json make_quantization_config(const HfQuantizeOptions& opt, const std::vector<std::string>& skipped,
                                        const std::vector<std::string>& quantized_in_block) {
  const int gs = opt.group_size > 0 ? opt.group_size : -1;
  switch (opt.format) {
    case CheckpointKind::Gptq:
    case CheckpointKind::GptqV2: {
      GptqConfig c;
      c.bits = opt.bits;
      c.group_size = gs;
      c.desc_act = opt.desc_act;
      c.sym = opt.sym;
      c.damp_percent = std::round(static_cast<double>(opt.damp_percent) * 1e6) / 1e6;  // 0.01, not 0.0099999998
      c.format = opt.format == CheckpointKind::Gptq ? GptqCheckpointFormat::V1 : GptqCheckpointFormat::V2;
      nlohmann::json j = gptq_config_to_json(c);
      if (!skipped.empty()) {
        // GPTQModel / vLLM: "-:" rules exclude modules; optimum: the modules of a block that are quantized.
        nlohmann::json dyn = nlohmann::json::object();
        for (const std::string& m : skipped) dyn["-:^" + regex_escape(m) + "$"] = nlohmann::json::object();
        j["dynamic"] = dyn;
        j["modules_in_block_to_quantize"] = nlohmann::json::array({quantized_in_block});
      }
      return j;
    }
    case CheckpointKind::Awq: {
      AwqConfig c;
      c.bits = opt.bits;
      c.group_size = gs;
      c.zero_point = true;
      c.modules_to_not_convert = skipped;
      return awq_config_to_json(c);
    }
    case CheckpointKind::CompressedTensors: {
      CtConfig c;
      CtScheme s = ct_scheme_w4a16(opt.group_size, opt.sym);
      s.weights = ct_args(opt);
      c.config_groups.push_back({"group_0", s});
      c.ignore = {"lm_head"};
      c.ignore.insert(c.ignore.end(), skipped.begin(), skipped.end());
      return ct_config_to_json(c);
    }
    case CheckpointKind::Hqq: {
      HqqConfig c;
      c.params.nbits = opt.bits;
      c.params.group_size = gs;
      c.params.axis = opt.hqq_axis;
      c.params.round_zero = opt.bits == 4;
      c.skip_modules = {"lm_head"};
      c.skip_modules.insert(c.skip_modules.end(), skipped.begin(), skipped.end());
      return hqq_config_to_json(c);
    }
  }
  fail("--format", "unknown checkpoint format");
}

}  // namespace lowbit
