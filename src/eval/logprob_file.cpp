#include "eval/logprob_file.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lowbit {

static_assert(std::endian::native == std::endian::little, "the log-prob file is little-endian");

namespace {

template <class T>
void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <class T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The per-chunk layout a protocol gives at this ctx; false where it scores nothing.
bool scored_layout(PplProtocol p, int ctx, int& first, int& n) {
  EvalOptions o;
  o.ctx = ctx;
  o.protocol = p;
  try {
    ChunkPlan plan = plan_chunks(static_cast<size_t>(ctx), o);  // one chunk's worth of tokens
    first = plan.first_scored;
    n = plan.n_scored_per_chunk;
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

void encode_logprob_row(const double* lp, int n_vocab, double nll, int32_t argmax, uint8_t* out) {
  double hi = -std::numeric_limits<double>::infinity(), mn = std::numeric_limits<double>::infinity();
  for (int j = 0; j < n_vocab; ++j) {
    hi = std::max(hi, lp[j]);
    mn = std::min(mn, lp[j]);
  }
  const float lo = static_cast<float>(std::max(mn, hi - kLogprobRange));
  float step = static_cast<float>((hi - static_cast<double>(lo)) / 65535.0);
  if (!(step > 0) || !std::isfinite(step)) step = 0;
  put<float>(out, static_cast<float>(nll));
  put<int32_t>(out + 4, argmax);
  put<float>(out + 8, lo);
  put<float>(out + 12, step);
  uint8_t* codes = out + kLogprobRowHeaderBytes;
  const double inv = step > 0 ? 1.0 / static_cast<double>(step) : 0.0;
  for (int j = 0; j < n_vocab; ++j) {
    double c = std::nearbyint((lp[j] - static_cast<double>(lo)) * inv);
    c = std::clamp(c, 0.0, 65535.0);
    put<uint16_t>(codes + 2 * static_cast<size_t>(j), static_cast<uint16_t>(c));
  }
}

// ---- writer ----

LogprobWriter::LogprobWriter(std::string path) : path_(std::move(path)) {}
LogprobWriter::~LogprobWriter() = default;

void LogprobWriter::begin(const LogprobHeader& h) {
  if (file_) fail(path_, "log-prob writer started twice");
  if (h.n_vocab <= 0 || h.ctx <= 0 || h.n_chunks <= 0)
    fail(path_, "empty log-prob file (vocab, ctx and chunks must be positive)");
  if (h.tokens.size() != static_cast<size_t>(h.n_chunks) * static_cast<size_t>(h.ctx))
    fail(path_, "log-prob header: token count is not n_chunks * ctx");
  header_ = h;
  file_ = std::make_unique<AtomicFile>(path_);
  uint8_t b[kLogprobHeaderBytes] = {};
  std::memcpy(b, kLogprobMagic, 8);
  put<uint32_t>(b + 8, kLogprobVersion);
  put<uint32_t>(b + 12, kLogprobHeaderBytes);
  put<uint32_t>(b + 16, static_cast<uint32_t>(h.n_vocab));
  put<uint32_t>(b + 20, static_cast<uint32_t>(h.ctx));
  put<uint32_t>(b + 24, static_cast<uint32_t>(h.n_chunks));
  put<uint32_t>(b + 28, static_cast<uint32_t>(h.protocol));
  put<uint32_t>(b + 32, static_cast<uint32_t>(h.first_scored));
  put<uint32_t>(b + 36, static_cast<uint32_t>(h.n_scored_per_chunk));
  put<int32_t>(b + 40, h.bos_id);
  put<uint32_t>(b + 44, static_cast<uint32_t>(logprob_row_bytes(h.n_vocab)));
  put<uint64_t>(b + 48, static_cast<uint64_t>(h.tokens.size()));
  put<uint64_t>(b + 56, static_cast<uint64_t>(h.n_rows()));
  file_->write(b, sizeof b);
  file_->write(h.tokens.data(), h.tokens.size() * sizeof(int32_t));
}

void LogprobWriter::write_rows(const uint8_t* rows, int64_t n_rows) {
  if (!file_) fail(path_, "log-prob rows written before the header");
  if (n_rows_written_ + n_rows > header_.n_rows()) fail(path_, "more log-prob rows than the header announces");
  file_->write(rows, static_cast<size_t>(n_rows) * row_bytes());
  n_rows_written_ += n_rows;
}

void LogprobWriter::commit() {
  if (!file_) fail(path_, "log-prob file committed before the header");
  if (n_rows_written_ != header_.n_rows())
    fail(path_, "log-prob file incomplete: " + std::to_string(n_rows_written_) + " of " +
                    std::to_string(header_.n_rows()) + " rows");
  file_->commit();
}

// ---- reader ----

LogprobReader LogprobReader::open(const std::string& path) {
  LogprobReader r;
  r.file_ = MappedFile::open(path);
  const uint8_t* d = r.file_.data();
  const uint64_t size = r.file_.n_bytes();
  auto bad = [&](const std::string& why) { fail(path, "not a valid lowbit log-prob file: " + why); };
  if (size < kLogprobHeaderBytes)
    bad("truncated header (" + std::to_string(size) + " bytes, need " + std::to_string(kLogprobHeaderBytes) + ")");
  if (std::memcmp(d, kLogprobMagic, 8) != 0) bad("wrong magic (expected \"LBLOGPRB\")");
  const uint32_t version = get<uint32_t>(d + 8);
  if (version != kLogprobVersion)
    bad("unsupported version " + std::to_string(version) + " (this build reads " + std::to_string(kLogprobVersion) +
        ")");
  if (get<uint32_t>(d + 12) != kLogprobHeaderBytes) bad("header size " + std::to_string(get<uint32_t>(d + 12)));
  const uint32_t n_vocab = get<uint32_t>(d + 16), ctx = get<uint32_t>(d + 20), n_chunks = get<uint32_t>(d + 24);
  const uint32_t protocol = get<uint32_t>(d + 28), first = get<uint32_t>(d + 32), n_per = get<uint32_t>(d + 36);
  const int32_t bos = get<int32_t>(d + 40);
  const uint32_t row_bytes = get<uint32_t>(d + 44);
  const uint64_t n_tokens = get<uint64_t>(d + 48), n_rows = get<uint64_t>(d + 56);
  constexpr uint32_t kMaxDim = 1u << 30;
  if (n_vocab == 0 || n_vocab > (1u << 24)) bad("vocabulary size " + std::to_string(n_vocab) + " out of range");
  if (ctx < 2 || ctx > kMaxDim) bad("ctx " + std::to_string(ctx) + " out of range");
  if (n_chunks == 0 || n_chunks > kMaxDim) bad("chunk count " + std::to_string(n_chunks) + " out of range");
  if (protocol > static_cast<uint32_t>(PplProtocol::LlamaCpp)) bad("unknown protocol " + std::to_string(protocol));
  int exp_first = 0, exp_n = 0;
  if (!scored_layout(static_cast<PplProtocol>(protocol), static_cast<int>(ctx), exp_first, exp_n))
    bad("protocol " + std::string(protocol_name(static_cast<PplProtocol>(protocol))) + " scores nothing at ctx " +
        std::to_string(ctx));
  if (first != static_cast<uint32_t>(exp_first) || n_per != static_cast<uint32_t>(exp_n))
    bad("scored positions " + std::to_string(first) + "+" + std::to_string(n_per) + " do not fit protocol " +
        std::string(protocol_name(static_cast<PplProtocol>(protocol))) + " at ctx " + std::to_string(ctx));
  if (bos < -1 || (bos >= 0 && static_cast<uint32_t>(bos) >= n_vocab)) bad("BOS id " + std::to_string(bos));
  if (row_bytes != logprob_row_bytes(static_cast<int>(n_vocab))) bad("row size " + std::to_string(row_bytes));
  // All factors are < 2^30 (vocab < 2^24), so these products cannot overflow 64 bits.
  if (n_tokens != static_cast<uint64_t>(n_chunks) * ctx) bad("token count does not equal chunks * ctx");
  if (n_rows != static_cast<uint64_t>(n_chunks) * n_per) bad("row count does not equal chunks * scored per chunk");
  const uint64_t rows_off = kLogprobHeaderBytes + n_tokens * 4;
  const uint64_t expect = rows_off + n_rows * row_bytes;
  if (size < expect)
    bad("truncated (" + std::to_string(size) + " bytes, the header announces " + std::to_string(expect) + ")");
  if (size > expect)
    bad("trailing data (" + std::to_string(size) + " bytes, the header announces " + std::to_string(expect) + ")");

  LogprobHeader& h = r.header_;
  h.n_vocab = static_cast<int>(n_vocab);
  h.ctx = static_cast<int>(ctx);
  h.n_chunks = static_cast<int>(n_chunks);
  h.protocol = static_cast<PplProtocol>(protocol);
  h.first_scored = static_cast<int>(first);
  h.n_scored_per_chunk = static_cast<int>(n_per);
  h.bos_id = bos;
  h.tokens.resize(n_tokens);
  std::memcpy(h.tokens.data(), d + kLogprobHeaderBytes, n_tokens * 4);
  for (uint64_t i = 0; i < n_tokens; ++i)
    if (h.tokens[i] < 0 || static_cast<uint32_t>(h.tokens[i]) >= n_vocab)
      bad("token " + std::to_string(i) + " = " + std::to_string(h.tokens[i]) + " outside the vocabulary");
  r.rows_offset_ = rows_off;
  return r;
}

LogprobReader::Row LogprobReader::decode_row(int64_t i, double* lp) const {
  if (i < 0 || i >= n_rows()) fail(path(), "log-prob row " + std::to_string(i) + " out of range");
  const int V = header_.n_vocab;
  const uint8_t* p = file_.data() + rows_offset_ + static_cast<size_t>(i) * logprob_row_bytes(V);
  Row r;
  const float nll = get<float>(p);
  r.argmax = get<int32_t>(p + 4);
  const float lo = get<float>(p + 8), step = get<float>(p + 12);
  // The writer never spans more than kLogprobRange nats (plus float rounding).
  if (!std::isfinite(nll) || nll < 0 || r.argmax < 0 || r.argmax >= V || !std::isfinite(lo) || !std::isfinite(step) ||
      step < 0 || 65535.0 * step > kLogprobRange * 1.001)
    fail(path(), "corrupt log-prob row " + std::to_string(i));
  r.nll = nll;
  const uint8_t* codes = p + kLogprobRowHeaderBytes;
  double mx = -std::numeric_limits<double>::infinity();
  for (int j = 0; j < V; ++j) {
    lp[j] = static_cast<double>(lo) + static_cast<double>(step) * get<uint16_t>(codes + 2 * static_cast<size_t>(j));
    mx = std::max(mx, lp[j]);
  }
  double s = 0;
  for (int j = 0; j < V; ++j) s += std::exp(lp[j] - mx);
  const double lse = mx + std::log(s);
  for (int j = 0; j < V; ++j) lp[j] -= lse;
  return r;
}

void LogprobReader::check_matches(const LogprobHeader& e) const {
  const LogprobHeader& h = header_;
  auto differs = [&](const std::string& what, const std::string& file_v, const std::string& run_v) {
    fail(path(), "made with " + what + " " + file_v + ", this run has " + run_v + " (evaluate with the same settings)");
  };
  if (h.n_vocab != e.n_vocab) differs("vocabulary size", std::to_string(h.n_vocab), std::to_string(e.n_vocab));
  if (h.protocol != e.protocol)
    differs("protocol", std::string(protocol_name(h.protocol)), std::string(protocol_name(e.protocol)));
  if (h.ctx != e.ctx) differs("ctx", std::to_string(h.ctx), std::to_string(e.ctx));
  if (h.n_chunks != e.n_chunks) differs("chunk count", std::to_string(h.n_chunks), std::to_string(e.n_chunks));
  if (h.protocol == PplProtocol::LlamaCpp && h.bos_id != e.bos_id)
    differs("BOS id", std::to_string(h.bos_id), std::to_string(e.bos_id));
  if (h.tokens.size() != e.tokens.size())
    differs("token count", std::to_string(h.tokens.size()), std::to_string(e.tokens.size()));
  for (size_t i = 0; i < h.tokens.size(); ++i)
    if (h.tokens[i] != e.tokens[i])
      fail(path(), "token " + std::to_string(i) + " is " + std::to_string(h.tokens[i]) + " in the file but " +
                       std::to_string(e.tokens[i]) + " in this run: not the same text or tokenizer");
}

}  // namespace lowbit
