// llama.cpp importance matrices: the GGUF format (general.type "imatrix") and the legacy
// imatrix.dat, specs/gguf.md §6. Both are untrusted input: every count and length is checked
// against the bytes that remain before it is used, and errors name the file.
//
// What llama-quantize does with them (tools/quantize/quantize.cpp load_imatrix, the version
// the goldens were made with) fixes two details of mean():
//   - GGUF: value = in_sum2 / count (f32 division); an expert with count 0 (never saw a
//     token) gets 1 for every column.
//   - legacy: value = stored / ncall (the stored value is mean * ncall); with ncall 0 the
//     stored value is used as is. Here a legacy entry keeps its stored values as in_sum2 and
//     ncall as its count, and ncall 0 becomes count 1, so mean() gives the same floats.
#include "calib/imatrix.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/gguf.h"

namespace lowbit {
namespace {

constexpr const char* kSumsSuffix = ".in_sum2";
constexpr const char* kCountsSuffix = ".counts";
constexpr const char* kKeyDatasets = "imatrix.datasets";
constexpr const char* kKeyChunkCount = "imatrix.chunk_count";
constexpr const char* kKeyChunkSize = "imatrix.chunk_size";

bool strip_suffix(std::string& s, const std::string& suffix) {
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  s.resize(s.size() - suffix.size());
  return true;
}

// ---- legacy imatrix.dat -------------------------------------------------------------------
// int32 n_entries; per entry: int32 name_len, name, int32 ncall, int32 nval, float[nval];
// optional trailer: int32 last_call, int32 dataset_len, dataset bytes.
class LegacyReader {
 public:
  LegacyReader(const std::string& path, std::string bytes) : path_(path), bytes_(std::move(bytes)) {}

  size_t remaining() const { return bytes_.size() - pos_; }
  int32_t i32(const char* what) {
    int32_t v;
    take(&v, sizeof v, what);
    return v;
  }
  std::string str(int32_t n_bytes, const char* what) {
    if (n_bytes < 0) fail(path_, fmt::format("negative {} length {} at byte {}", what, n_bytes, pos_));
    need(static_cast<size_t>(n_bytes), what);
    std::string s = bytes_.substr(pos_, static_cast<size_t>(n_bytes));
    pos_ += static_cast<size_t>(n_bytes);
    return s;
  }
  void floats(float* dst, int64_t n, const std::string& what) {
    need(static_cast<size_t>(n) * sizeof(float), what.c_str());
    std::memcpy(dst, bytes_.data() + pos_, static_cast<size_t>(n) * sizeof(float));
    pos_ += static_cast<size_t>(n) * sizeof(float);
  }
  size_t pos() const { return pos_; }

 private:
  void need(size_t n, const char* what) {
    if (n > remaining())
      fail(path_, fmt::format("truncated legacy imatrix: {} needs {} bytes at byte {}, {} left", what, n, pos_,
                              remaining()));
  }
  void take(void* dst, size_t n, const char* what) {
    need(n, what);
    std::memcpy(dst, bytes_.data() + pos_, n);
    pos_ += n;
  }
  const std::string& path_;
  std::string bytes_;
  size_t pos_ = 0;
};

Imatrix read_legacy(const std::string& path, std::string bytes) {
  LegacyReader r(path, std::move(bytes));
  Imatrix m;
  const int32_t n_entries = r.i32("entry count");
  // Each entry takes at least 16 bytes (three int32 and one float), which bounds the count.
  if (n_entries < 1 || static_cast<size_t>(n_entries) > r.remaining() / 16)
    fail(path, fmt::format("invalid legacy imatrix entry count {}", n_entries));
  for (int32_t i = 0; i < n_entries; ++i) {
    const int32_t name_len = r.i32("name length");
    if (name_len < 1) fail(path, fmt::format("entry {}: invalid name length {}", i, name_len));
    std::string name = r.str(name_len, "entry name");
    const int32_t ncall = r.i32("call count");
    const int32_t nval = r.i32("value count");
    if (ncall < 0) fail(path, fmt::format("entry {}: negative call count {}", name, ncall));
    if (nval < 1 || static_cast<size_t>(nval) > r.remaining() / sizeof(float))
      fail(path, fmt::format("entry {}: invalid value count {} ({} bytes left)", name, nval, r.remaining()));
    ImatrixEntry e;
    e.n_in = nval;
    e.n_expert = 1;
    e.in_sum2.resize(static_cast<size_t>(nval));
    r.floats(e.in_sum2.data(), nval, "values of " + name);
    e.counts = {ncall > 0 ? static_cast<float>(ncall) : 1.0f};
    if (!m.entries.emplace(name, std::move(e)).second) fail(path, "duplicate entry " + name);
  }
  if (r.remaining() > 0) {  // the newest legacy files end with the last call and the dataset name
    const int32_t last_call = r.i32("last call");
    const int32_t dataset_len = r.i32("dataset name length");
    m.datasets.push_back(r.str(dataset_len, "dataset name"));
    m.chunk_count = last_call > 0 ? static_cast<uint32_t>(last_call) : 0;
    if (r.remaining() > 0) fail(path, fmt::format("{} unexpected bytes after the imatrix at byte {}", r.remaining(), r.pos()));
  }
  return m;
}

// ---- GGUF imatrix -------------------------------------------------------------------------

const float* f32_data(const GgufFile& f, const GgufTensor& t) {
  if (t.ggml_type != kGgmlTypeF32) fail(f.path(), "tensor " + t.name + " has type " + t.type_name() + ", expected f32");
  return reinterpret_cast<const float*>(t.data);
}

Imatrix read_gguf(const std::string& path) {
  auto f = GgufFile::open(path);
  if (auto type = f->get_string_opt("general.type"); type && *type != "imatrix")
    fail(path, "not an imatrix file (general.type is \"" + *type + "\")");
  Imatrix m;
  // llama-quantize refuses a GGUF imatrix without these three keys ("missing imatrix metadata").
  m.datasets = f->get_array_string(kKeyDatasets);
  m.chunk_count = f->get_u32(kKeyChunkCount);
  m.chunk_size = f->get_u32(kKeyChunkSize);

  std::map<std::string, std::pair<const GgufTensor*, const GgufTensor*>> pairs;  // sums, counts
  for (const GgufTensor& t : f->tensors()) {
    std::string name = t.name;
    if (strip_suffix(name, kSumsSuffix)) pairs[name].first = &t;
    else if (strip_suffix(name, kCountsSuffix)) pairs[name].second = &t;
    // other tensors are ignored, as llama.cpp does
  }
  for (const auto& [name, p] : pairs) {
    const auto [sums, counts] = p;
    if (!sums || !counts) fail(path, "entry " + name + " has " + (sums ? "in_sum2 but no counts" : "counts but no in_sum2"));
    for (size_t d = 2; d < sums->ne.size(); ++d)
      if (sums->ne[d] != 1) fail(path, "tensor " + sums->name + " has more than 2 dimensions");
    ImatrixEntry e;
    e.n_in = sums->ne[0];
    e.n_expert = sums->ne.size() > 1 ? sums->ne[1] : 1;
    if (e.n_in < 1 || e.n_expert < 1) fail(path, "tensor " + sums->name + " is empty");
    if (counts->n_elems() != e.n_expert)
      fail(path, fmt::format("tensor {} has {} counts for {} experts", counts->name, counts->n_elems(), e.n_expert));
    const float* s = f32_data(*f, *sums);
    const float* c = f32_data(*f, *counts);
    e.in_sum2.assign(s, s + e.n_in * e.n_expert);
    e.counts.assign(c, c + e.n_expert);
    m.entries.emplace(name, std::move(e));
  }
  if (m.entries.empty()) fail(path, "no imatrix entries (no <name>.in_sum2 / <name>.counts tensors)");
  return m;
}

}  // namespace

std::vector<float> ImatrixEntry::mean(int64_t expert) const {
  if (expert < 0 || expert >= n_expert || counts.size() != static_cast<size_t>(n_expert) ||
      in_sum2.size() != static_cast<size_t>(n_in * n_expert))
    fail("imatrix", fmt::format("expert {} out of range or inconsistent entry sizes", expert));
  std::vector<float> out(static_cast<size_t>(n_in));
  const float count = counts[static_cast<size_t>(expert)];
  const float* s = in_sum2.data() + expert * n_in;
  for (int64_t i = 0; i < n_in; ++i) out[static_cast<size_t>(i)] = count > 0.0f ? s[i] / count : 1.0f;
  return out;
}

const ImatrixEntry* Imatrix::find(const std::string& weight_name) const {
  auto it = entries.find(weight_name);
  return it == entries.end() ? nullptr : &it->second;
}

Imatrix read_imatrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open imatrix file");
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return read_gguf(path);
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff n_bytes = in.tellg();
  // A legacy file is read whole; cap it at 4 GiB (a 70B model's imatrix is a few MB).
  if (n_bytes < 0 || n_bytes > (std::streamoff(1) << 32)) fail(path, "legacy imatrix file too large or unreadable");
  in.seekg(0);
  std::string bytes(static_cast<size_t>(n_bytes), '\0');
  in.read(bytes.data(), n_bytes);
  if (in.gcount() != n_bytes) fail(path, "cannot read imatrix file");
  return read_legacy(path, std::move(bytes));
}

void write_imatrix_gguf(const Imatrix& m, const std::string& path) {
  GgufWriter w;
  // Key order and tensor shapes as llama-imatrix writes them (trailing 1-dims dropped, as
  // ggml's gguf writer does): in_sum2 {n_in[, n_expert]}, counts {1[, n_expert]}.
  w.set_string("general.type", "imatrix");
  w.set_array_string(kKeyDatasets, m.datasets);
  w.set_u32(kKeyChunkCount, m.chunk_count);
  w.set_u32(kKeyChunkSize, m.chunk_size);
  for (const auto& [name, e] : m.entries) {
    if (e.n_in < 1 || e.n_expert < 1 || e.in_sum2.size() != static_cast<size_t>(e.n_in * e.n_expert) ||
        e.counts.size() != static_cast<size_t>(e.n_expert))
      fail(path, "imatrix entry " + name + " has inconsistent sizes");
    std::vector<int64_t> ne_sums{e.n_in}, ne_counts{1};
    if (e.n_expert > 1) {
      ne_sums.push_back(e.n_expert);
      ne_counts.push_back(e.n_expert);
    }
    w.add_tensor(name + kSumsSuffix, kGgmlTypeF32, ne_sums, e.in_sum2.data(), e.in_sum2.size() * sizeof(float));
    w.add_tensor(name + kCountsSuffix, kGgmlTypeF32, ne_counts, e.counts.data(), e.counts.size() * sizeof(float));
  }
  w.write(path);
}

}  // namespace lowbit
