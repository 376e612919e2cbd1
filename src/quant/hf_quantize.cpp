#include "quant/hf_quantize.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/convert.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/progress.h"
#include "io/checkpoints/named_tensor.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "model/tokenizer.h"
#include "quant/calib_batch.h"
#include "quant/checkpoint_pack.h"
#include "quant/layer_forward.h"
#include "quant/layer_quantize.h"
#include "quant/quant_workdir.h"

namespace lowbit {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string shard_name(int i, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05d-of-%05d.safetensors", i, n);
  return buf;
}

DType float_out_dtype(DType src) { return src == DType::F16 || src == DType::BF16 ? src : DType::F32; }

std::string signature(const std::string& model_dir, const HfQuantizeOptions& o, int n_samples, int seq_len) {
  std::error_code ec;
  const std::string abs = fs::weakly_canonical(model_dir, ec).string();
  return abs + "|" + quant_method_name(o.method) + "|" + checkpoint_kind_name(o.format) + "|b" +
         std::to_string(o.bits) + "|g" + std::to_string(o.group_size) + "|sym" + std::to_string(o.sym) + "|act" +
         std::to_string(o.desc_act) + "|damp" + std::to_string(o.damp_percent) + "|axis" + std::to_string(o.hqq_axis) +
         "|calib:" + o.calib_path + "|n" + std::to_string(n_samples) + "|L" + std::to_string(seq_len) + "|awq" +
         std::to_string(o.awq_search_tokens);
}

// Tokenizer and generation files an HF folder carries next to the weights.
void copy_side_files(const std::string& src, const std::string& dst) {
  static const char* names[] = {"tokenizer.json",      "tokenizer.model", "tokenizer_config.json",
                                "special_tokens_map.json", "added_tokens.json", "vocab.json",
                                "merges.txt",          "generation_config.json", "chat_template.jinja"};
  for (const char* n : names) {
    std::error_code ec;
    const fs::path s = fs::path(src) / n;
    if (!fs::is_regular_file(s, ec)) continue;
    fs::copy_file(s, fs::path(dst) / n, fs::copy_options::overwrite_existing, ec);
    if (ec) fail(s.string(), "cannot copy: " + ec.message());
  }
}

void write_text(const std::string& path, const std::string& s) {
  AtomicFile f(path);
  f.write(s.data(), s.size());
  f.commit();
}

}  // namespace

const char* quant_method_name(QuantMethod m) {
  switch (m) {
    case QuantMethod::Rtn: return "rtn";
    case QuantMethod::Gptq: return "gptq";
    case QuantMethod::Awq: return "awq";
    case QuantMethod::Hqq: return "hqq";
  }
  return "?";
}

const char* checkpoint_kind_name(CheckpointKind k) {
  switch (k) {
    case CheckpointKind::Gptq: return "gptq";
    case CheckpointKind::GptqV2: return "gptq_v2";
    case CheckpointKind::Awq: return "awq";
    case CheckpointKind::Hqq: return "hqq";
    case CheckpointKind::CompressedTensors: return "compressed-tensors";
  }
  return "?";
}

QuantMethod parse_quant_method(const std::string& s) {
  for (QuantMethod m : {QuantMethod::Rtn, QuantMethod::Gptq, QuantMethod::Awq, QuantMethod::Hqq})
    if (s == quant_method_name(m)) return m;
  fail("--method", "unknown method \"" + s + "\" (rtn, gptq, awq, hqq)");
}

CheckpointKind parse_checkpoint_kind(const std::string& s) {
  for (CheckpointKind k : {CheckpointKind::Gptq, CheckpointKind::GptqV2, CheckpointKind::Awq, CheckpointKind::Hqq,
                           CheckpointKind::CompressedTensors})
    if (s == checkpoint_kind_name(k)) return k;
  fail("--format", "unknown checkpoint format \"" + s + "\" (gptq, gptq_v2, awq, hqq, compressed-tensors)");
}

void parse_quant_target(const std::string& to, QuantMethod& method, CheckpointKind& format) {
  if (to == "compressed-tensors") {
    method = QuantMethod::Gptq;  // llm-compressor's usual W4A16 recipe is GPTQModifier
    format = CheckpointKind::CompressedTensors;
    return;
  }
  if (to != "rtn" && to != "gptq" && to != "awq" && to != "hqq")
    fail("--to", "expected gguf:TYPE, rtn, gptq, awq, hqq or compressed-tensors, got \"" + to + "\"");
  method = parse_quant_method(to);
  format = method == QuantMethod::Awq   ? CheckpointKind::Awq
           : method == QuantMethod::Hqq ? CheckpointKind::Hqq
                                        : CheckpointKind::Gptq;  // RTN is GPTQ's grid without data
}

HfQuantizeResult quantize_hf(const std::string& model_dir, const std::string& out_dir, const HfQuantizeOptions& opt_in) {
  const auto t0 = std::chrono::steady_clock::now();
  HfQuantizeOptions opt = opt_in;
  auto note = opt.on_message ? opt.on_message : [](const std::string& m) { std::fprintf(stderr, "%s\n", m.c_str()); };
  check_method_and_format(opt);
  const ModelConfig cfg = load_hf_config(model_dir);
  auto st = SafetensorsModel::open(model_dir);
  const SafetensorsTensor& embed = st->get("model.embed_tokens.weight");
  const DType src_dtype = embed.dtype;
  const DType out_dtype = float_out_dtype(src_dtype);
  const DType scale_dtype = src_dtype == DType::BF16 ? DType::BF16 : DType::F16;
  const int N = cfg.n_layers, H = cfg.hidden_size;

  // Which linears the format can hold (same in every layer).
  std::array<bool, kNumLinearKinds> quantize{};
  std::vector<std::string> skipped, in_block;
  HfQuantizeResult res;
  res.n_layers = N;
  for (int k = 0; k < kNumLinearKinds; ++k) {
    const auto kind = static_cast<LinearKind>(k);
    const auto [n_out, n_in] = linear_shape(cfg, kind);
    const std::string why = checkpoint_cannot_hold(opt, n_out, n_in);
    quantize[k] = why.empty();
    const std::string tail = linear_module_name(0, kind).substr(std::string("model.layers.0.").size());
    if (quantize[k]) {
      in_block.push_back(tail);
      continue;
    }
    note(std::string("keeping ") + linear_kind_name(kind) + " [" + std::to_string(n_out) + ", " +
         std::to_string(n_in) + "] unquantized in every layer: " + why);
    for (int l = 0; l < N; ++l) skipped.push_back(linear_module_name(l, kind));
  }
  res.skipped = skipped;

  // Calibration batch (GPTQ, AWQ).
  const bool needs_data = opt.method == QuantMethod::Gptq || opt.method == QuantMethod::Awq;
  CalibBatch batch;
  if (needs_data) {
    if (opt.calib_path.empty()) fail("--calib", "no calibration text given and no default found");
    int seq_len = opt.seq_len;
    if (cfg.max_position_embeddings > 0 && seq_len > cfg.max_position_embeddings) {
      note("--seq-len " + std::to_string(seq_len) + " capped at the model's max_position_embeddings " +
           std::to_string(cfg.max_position_embeddings));
      seq_len = cfg.max_position_embeddings;
    }
    auto tok = load_tokenizer(model_dir);
    batch = make_calib_batch(*tok, opt.calib_path, opt.n_samples, seq_len);
    if (batch.n_samples < opt.n_samples)
      note("calibration text gives only " + std::to_string(batch.n_samples) + " samples of " + std::to_string(seq_len) +
           " tokens");
    res.n_calib_samples = batch.n_samples;
    res.calib_seq_len = batch.seq_len;
  }

  install_cleanup_signal_handlers();
  QuantWorkdir work(out_dir, signature(model_dir, opt, batch.n_samples, batch.seq_len), opt.resume, note);
  int start = work.layers_done();
  const size_t n_tok = batch.tokens.size();
  std::vector<float> hidden(n_tok * H);
  if (needs_data && !(start > 0 && work.load_hidden(hidden))) {
    if (start > 0) note("the interrupted run's hidden states are missing: starting from layer 0");
    start = 0;
    const size_t row_bytes = static_cast<size_t>(H) * dtype_n_bytes(src_dtype);
    for (size_t t = 0; t < n_tok; ++t)
      convert_to_f32(src_dtype, embed.data + static_cast<size_t>(batch.tokens[t]) * row_bytes, &hidden[t * H], H);
  }
  res.first_layer_run = start;

  std::unique_ptr<LayerRunner> runner;
  if (needs_data) runner = std::make_unique<LayerRunner>(cfg, batch.seq_len);
  Progress bar("quantize " + std::string(quant_method_name(opt.method)), N, opt.progress);
  bar.update(start, "layer " + std::to_string(start) + "/" + std::to_string(N));
  for (int l = start; l < N; ++l) {
    auto t = Clock::now();
    LayerF32 L = load_layer_f32(*st, cfg, l);
    // The f32 copy is all that is used from here on: the mapped source pages leave the
    // resident set, so peak RSS is about one layer, not the whole input file by the end.
    st->drop_pages("model.layers." + std::to_string(l) + ".");
    res.times.load += since(t);
    LayerQuantResult q = quantize_layer(L, l, cfg, opt, runner.get(), needs_data ? hidden.data() : nullptr,
                                        batch.n_samples, quantize);
    res.times.forward += q.forward_s;
    res.times.stats += q.stats_s;
    res.times.solve += q.solve_s;
    if (needs_data) {
      t = Clock::now();
      runner->run(L, l, hidden.data(), batch.n_samples, hidden.data(), nullptr);
      res.times.propagate += since(t);
    }
    t = Clock::now();

    std::vector<std::pair<std::string, std::vector<NamedTensor>>> mods;  // kept alive until write
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto vec = [&](const std::vector<float>& v, const std::string& name) {
      mods.push_back({"", {make_float_tensor(name, out_dtype, {static_cast<int64_t>(v.size())}, v)}});
    };
    vec(L.attn_norm, p + "input_layernorm.weight");
    vec(L.ffn_norm, p + "post_attention_layernorm.weight");
    if (cfg.qk_norm) {
      vec(L.q_norm, p + "self_attn.q_norm.weight");
      vec(L.k_norm, p + "self_attn.k_norm.weight");
    }
    std::vector<std::string> warnings;
    for (int k = 0; k < kNumLinearKinds; ++k) {
      const auto kind = static_cast<LinearKind>(k);
      const auto [n_out, n_in] = linear_shape(cfg, kind);
      const std::string m = linear_module_name(l, kind);
      std::vector<NamedTensor> ts;
      if (quantize[k]) {
        ts = pack_linear(opt, q.q[k] ? &*q.q[k] : nullptr, q.hqq[k] ? &*q.hqq[k] : nullptr, scale_dtype, &warnings);
        for (const NamedTensor& t : ts) res.n_bytes_out += t.bytes.size();
        res.n_linear_params += n_out * n_in;
        ++res.n_linears_quantized;
      } else {
        ts.push_back(make_float_tensor("weight", out_dtype, {n_out, n_in}, L.w[k]));
      }
      if (!L.bias[k].empty()) ts.push_back(make_float_tensor("bias", out_dtype, {n_out}, L.bias[k]));
      mods.push_back({m, std::move(ts)});
    }
    for (const std::string& w : warnings) note("warning: " + w);
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (const auto& [m, ts] : mods) add_to_writer(writer, m, ts);
    writer.write_file(work.path() + "/" + shard_name(l + 1, N + 1));
    if (needs_data) work.save_hidden(hidden);
    work.save_progress(l + 1, N);
    res.times.write += since(t);
    bar.update(l + 1, "layer " + std::to_string(l + 1) + "/" + std::to_string(N));
    if (opt.stop_after_layers >= 0 && l + 1 >= opt.stop_after_layers && l + 1 < N)
      fail(out_dir, "stopped after layer " + std::to_string(l + 1) + " (test hook)");
  }
  bar.finish();

  // Embeddings, final norm, lm_head: the source tensors as they are.
  {
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (const char* name : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"})
      if (const SafetensorsTensor* t = st->find(name)) writer.add(name, t->dtype, t->shape, t->data);
    writer.write_file(work.path() + "/" + shard_name(N + 1, N + 1));
  }
  // Index over every shard (earlier ones may come from an interrupted run).
  nlohmann::json weight_map = nlohmann::json::object();
  size_t total = 0;
  for (int i = 1; i <= N + 1; ++i) {
    auto f = SafetensorsFile::open(work.path() + "/" + shard_name(i, N + 1));
    for (const SafetensorsTensor& t : f->tensors()) {
      weight_map[t.name] = shard_name(i, N + 1);
      total += t.n_bytes;
    }
  }
  write_text(work.path() + "/model.safetensors.index.json",
             nlohmann::json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) + "\n");
  nlohmann::json config;
  {
    std::ifstream in(fs::path(model_dir) / "config.json");
    config = nlohmann::json::parse(in, nullptr, false);
    if (!config.is_object()) fail(model_dir + "/config.json", "cannot re-read config.json");
  }
  config["quantization_config"] = make_quantization_config(opt, skipped, in_block);
  write_text(work.path() + "/config.json", config.dump(2) + "\n");
  copy_side_files(model_dir, work.path());
  work.finish();

  res.linear_bits_per_weight = res.n_linear_params ? 8.0 * res.n_bytes_out / res.n_linear_params : 0.0;
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.peak_rss_bytes = peak_rss_bytes();
  return res;
}

}  // namespace lowbit
