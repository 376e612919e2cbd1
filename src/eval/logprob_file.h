// The log-prob file of `lowbit eval --save-logits`: a base model's next-token log-probs at
// every scored position, for a later `--kl-base` run. Layout (little-endian; docs/eval.md):
//
//   header, 64 bytes:
//     0  char[8] magic "LBLOGPRB"        32 u32 first_scored
//     8  u32 version (1)                 36 u32 n_scored_per_chunk
//    12  u32 header_bytes (64)           40 i32 bos_id (-1: none)
//    16  u32 n_vocab                     44 u32 row_bytes = 16 + 2 * n_vocab
//    20  u32 ctx                         48 u64 n_tokens = n_chunks * ctx
//    24  u32 n_chunks                    56 u64 n_rows = n_chunks * n_scored_per_chunk
//    28  u32 protocol (0 hf, 1 llama.cpp)
//   i32 tokens[n_tokens]      the evaluated tokens (before llama.cpp's BOS replacement)
//   rows[n_rows], chunk by chunk, position by position:
//     f32 nll      -log p(next token), exact (computed in double)
//     i32 argmax   most likely token
//     f32 lo, f32 step
//     u16 code[n_vocab]   log p_j ~= lo + step * code_j (renormalized on read)
//
// Codes span [max log-prob - 64, max log-prob] at most (anything below e^-64 of the top
// token reads as that floor), so step <= 64/65535 ~ 9.8e-4 nats and the decoding error is
// <= step/2 per entry; the self-KL floor this leaves is about step^2/24 <= 4e-8 nats.
// The reader maps the file and validates every size before use: the file is untrusted.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/mmap.h"
#include "eval/perplexity.h"

namespace lowbit {

class AtomicFile;

struct LogprobHeader {
  int n_vocab = 0;
  int ctx = 0;
  int n_chunks = 0;
  PplProtocol protocol = PplProtocol::HF;
  int first_scored = 0;
  int n_scored_per_chunk = 0;
  int32_t bos_id = -1;
  std::vector<int32_t> tokens;  // n_chunks * ctx

  int64_t n_rows() const { return static_cast<int64_t>(n_chunks) * n_scored_per_chunk; }
};

inline constexpr char kLogprobMagic[8] = {'L', 'B', 'L', 'O', 'G', 'P', 'R', 'B'};
inline constexpr uint32_t kLogprobVersion = 1;
inline constexpr uint32_t kLogprobHeaderBytes = 64;
inline constexpr uint32_t kLogprobRowHeaderBytes = 16;
inline constexpr double kLogprobRange = 64.0;  // nats below the top log-prob that codes cover

inline size_t logprob_row_bytes(int n_vocab) { return kLogprobRowHeaderBytes + 2 * static_cast<size_t>(n_vocab); }

// Encodes one position: logprobs are normalized log-probs (double, n_vocab of them), nll and
// argmax as computed by the caller. out must hold logprob_row_bytes(n_vocab) bytes.
void encode_logprob_row(const double* logprobs, int n_vocab, double nll, int32_t argmax, uint8_t* out);

// Streams a log-prob file through an AtomicFile: nothing appears at `path` unless commit()
// runs after every row was written.
class LogprobWriter {
 public:
  explicit LogprobWriter(std::string path);
  ~LogprobWriter();
  LogprobWriter(const LogprobWriter&) = delete;
  LogprobWriter& operator=(const LogprobWriter&) = delete;

  void begin(const LogprobHeader& h);                    // opens the temp file, writes header + tokens
  void write_rows(const uint8_t* rows, int64_t n_rows);  // encoded rows, in order
  void commit();                                         // checks the row count, renames into place
  const std::string& path() const { return path_; }
  const LogprobHeader& header() const { return header_; }
  size_t row_bytes() const { return logprob_row_bytes(header_.n_vocab); }

 private:
  std::string path_;
  LogprobHeader header_;
  std::unique_ptr<AtomicFile> file_;
  int64_t n_rows_written_ = 0;
};

class LogprobReader {
 public:
  // Maps and validates the header, the sizes and the tokens; throws Error(path, ...).
  static LogprobReader open(const std::string& path);

  const LogprobHeader& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  int64_t n_rows() const { return header_.n_rows(); }

  struct Row {
    double nll = 0;
    int32_t argmax = 0;
  };
  // Decodes row i into normalized log-probs (n_vocab doubles). Validates the row's fields;
  // throws Error(path, ...) for a corrupt row.
  Row decode_row(int64_t i, double* logprobs) const;

  // Throws Error(path, what differs) unless the file was made with these settings and tokens.
  void check_matches(const LogprobHeader& expected) const;

 private:
  MappedFile file_;
  LogprobHeader header_;
  size_t rows_offset_ = 0;
};

}  // namespace lowbit
