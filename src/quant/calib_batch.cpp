#include "quant/calib_batch.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "model/tokenizer.h"

namespace lowbit {
namespace {

std::string read_all(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, std::string("cannot read calibration text: ") + std::strerror(errno));
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) fail(path, "read error in calibration text");
  return s;
}

}  // namespace

CalibBatch make_calib_batch(const Tokenizer& tok, const std::string& text_path, int n_samples, int seq_len) {
  if (n_samples <= 0) fail("--samples", "must be positive");
  if (seq_len < 2) fail("--seq-len", "must be at least 2");
  const std::string text = read_all(text_path);
  const bool bos = tok.add_bos() && tok.bos_id() >= 0;
  const int body = bos ? seq_len - 1 : seq_len;
  // Tokenize only as much text as the batch needs (about 1 byte per 0.25 tokens is generous).
  const size_t want_bytes = static_cast<size_t>(n_samples) * body * 8 + 4096;
  std::string_view view(text);
  if (view.size() > want_bytes) {
    size_t cut = view.rfind('\n', want_bytes);
    view = view.substr(0, cut == std::string_view::npos || cut == 0 ? want_bytes : cut);
  }
  std::vector<int32_t> ids = tok.encode(view, false);
  CalibBatch b;
  b.seq_len = seq_len;
  b.n_samples = static_cast<int>(std::min<size_t>(n_samples, ids.size() / body));
  if (b.n_samples == 0)
    fail(text_path, "calibration text has " + std::to_string(ids.size()) + " tokens, fewer than one sample of " +
                        std::to_string(seq_len));
  b.tokens.reserve(static_cast<size_t>(b.n_samples) * seq_len);
  for (int s = 0; s < b.n_samples; ++s) {
    if (bos) b.tokens.push_back(tok.bos_id());
    b.tokens.insert(b.tokens.end(), ids.begin() + static_cast<int64_t>(s) * body,
                    ids.begin() + static_cast<int64_t>(s + 1) * body);
  }
  return b;
}

std::string default_calib_path(const std::string& shared_dir, bool prefer_tinystories) {
  namespace fs = std::filesystem;
  const std::string wiki = shared_dir + "/data/calibration/wikitext-2-v1-valid.tokens.txt";
  const std::string ts = shared_dir + "/data/tinystories/tinystories-valid-head-calib.txt";
  std::error_code ec;
  for (const std::string& p : prefer_tinystories ? std::vector<std::string>{ts, wiki} : std::vector<std::string>{wiki, ts})
    if (fs::is_regular_file(p, ec)) return p;
  return "";
}

}  // namespace lowbit
