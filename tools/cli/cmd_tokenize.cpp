// lowbit tokenize DIR|FILE [--special] [--json] [--text TEXT]
// lowbit detokenize DIR|FILE [--ids "1 2 3"] [--skip-special]
// DIR|FILE: a model directory (tokenizer.json, else tokenizer.model), a tokenizer .json
// file or a .gguf file (model/tokenizer.h load_tokenizer). Text and ids come from stdin
// unless given as options; stdin is read byte for byte (a trailing newline is part of
// the text).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "model/tokenizer.h"
#include "model/tokenizer_json/hf_tokenizer.h"

namespace lowbit::cli {

namespace {

std::string read_stdin() {
  std::ios::sync_with_stdio(false);
  std::cin >> std::noskipws;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

// Ids separated by whitespace and/or commas, optionally inside [...] or {"ids": [...]}.
std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  const size_t ids_key = s.find("\"ids\"");
  if (ids_key != std::string::npos) i = ids_key + 5;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '[' || c == ':') {
      ++i;
      continue;
    }
    if (c == ']' || c == '}') break;
    if (c < '0' || c > '9') fail("--ids", "expected token ids (non-negative integers), got '" + std::string(1, c) + "'");
    int64_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      if (v > INT32_MAX) fail("--ids", "token id out of range");
      ++i;
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

}  // namespace

void register_tokenize(CLI::App& app) {
  struct Opts {
    std::string path, text;
    bool special = false, json = false, has_text = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("tokenize", "print the token ids of text read from stdin (or --text)");
  cmd->add_option("path", o->path, "model directory, tokenizer .json file or .gguf file")->required();
  cmd->add_option("--text", o->text, "the text to encode (default: all of stdin)");
  cmd->add_flag("--special", o->special, "add the post-processor's special tokens (e.g. BOS)");
  cmd->add_flag("--json", o->json, "print {\"ids\": [...], \"tokens\": [...]}");
  cmd->callback([o, cmd] {
    auto tok = load_tokenizer(o->path);
    const std::string text = cmd->count("--text") ? o->text : read_stdin();
    std::vector<int32_t> ids;
    std::vector<std::string> pieces;
    if (const auto* hf = dynamic_cast<const HfTokenizer*>(tok.get())) {
      auto e = hf->encode_full(text, o->special);
      ids = std::move(e.ids);
      pieces = std::move(e.tokens);
    } else {
      ids = tok->encode(text, o->special);
      for (int32_t id : ids) pieces.push_back(tok->piece(id));
    }
    if (o->json) {
      nlohmann::json j = {{"ids", ids}, {"tokens", pieces}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      return;
    }
    std::string line;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k) line += ' ';
      line += std::to_string(ids[k]);
    }
    std::printf("%s\n", line.c_str());
  });
}

void register_detokenize(CLI::App& app) {
  struct Opts {
    std::string path, ids;
    bool skip_special = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("detokenize", "print the text of token ids read from stdin (or --ids)");
  cmd->add_option("path", o->path, "model directory, tokenizer .json file or .gguf file")->required();
  cmd->add_option("--ids", o->ids, "ids separated by spaces or commas (default: stdin; [..] and {\"ids\": [..]} too)");
  cmd->add_flag("--skip-special", o->skip_special, "leave special tokens out");
  cmd->callback([o, cmd] {
    auto tok = load_tokenizer(o->path);
    const std::vector<int32_t> ids = parse_ids(cmd->count("--ids") ? o->ids : read_stdin());
    std::string text;
    if (const auto* hf = dynamic_cast<const HfTokenizer*>(tok.get()))
      text = hf->decode(ids, o->skip_special);
    else
      text = tok->decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace lowbit::cli
