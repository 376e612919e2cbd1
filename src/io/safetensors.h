// safetensors: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}, 
// "__metadata__": {str: str}}, then the raw little-endian data.
// https://github.com/huggingface/safetensors (format section).
//
// The reader validates the whole header before any tensor is touched: header length
// within the file, valid JSON object, known dtypes, non-negative shapes without overflow,
// data_offsets inside the data section, end - begin == n_elems * dtype bytes, no two
// tensors overlapping, no duplicate names. Any violation throws Error(path, reason).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mmap.h"
#include "core/tensor.h"

namespace lowbit {

struct SafetensorsTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // inside the mapping
  size_t n_bytes = 0;
  std::string file;  // the shard it lives in

  TensorView view() const { return TensorView{data, dtype, shape, {}}; }
};

// The validated header of a safetensors image held in memory.
struct SafetensorsHeader {
  std::map<std::string, std::string> metadata;
  std::vector<SafetensorsTensor> tensors;  // data-offset order; data points into the image
};

// Validates a whole safetensors image (length prefix, header, data section) held in
// memory, without copying it; `path` names the image in errors (and goes into
// SafetensorsTensor::file). SafetensorsFile::open is this on a mapping; the fuzzer calls
// it directly. Throws Error(path, reason).
SafetensorsHeader parse_safetensors(const uint8_t* data, size_t n_bytes, const std::string& path);

// Limits on what the reader accepts.
inline constexpr size_t kSafetensorsMaxHeaderBytes = 100u << 20;  // header JSON, 100 MiB
inline constexpr int kSafetensorsMaxJsonDepth = 8;  // nesting of arrays/objects in the header

// One .safetensors file, mapped read-only.
class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // file order
  const SafetensorsTensor* find(const std::string& name) const;
  // MappedFile::drop_pages for the data of every tensor whose name starts with prefix.
  void drop_pages(const std::string& name_prefix) const;

 private:
  MappedFile file_;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
};

// A model: a directory with model.safetensors, or with model.safetensors.index.json and its
// shards, or a path to a single .safetensors file. Tensor names must be unique across
// shards, and every name in the index must be found in the shard it names.
class SafetensorsModel {
 public:
  static std::unique_ptr<SafetensorsModel> open(const std::string& dir_or_file);

  const std::vector<const SafetensorsTensor*>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(const std::string& name) const;
  const SafetensorsTensor& get(const std::string& name) const;  // throws Error naming it
  // __metadata__ of the first shard (HF writes the same in each).
  const std::map<std::string, std::string>& metadata() const;
  size_t n_bytes() const;  // sum of tensor bytes
  const std::string& path() const { return path_; }
  // Drops the resident pages of every tensor whose name starts with prefix (all shards);
  // see MappedFile::drop_pages. Pointers stay valid.
  void drop_pages(const std::string& name_prefix) const;

 private:
  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<const SafetensorsTensor*> tensors_;
  std::map<std::string, const SafetensorsTensor*> index_;
};

// Writes tensors to DIR/model.safetensors, or, when the total exceeds max_shard_bytes,
// to DIR/model-00001-of-0000N.safetensors ... plus model.safetensors.index.json
// ({"metadata": {"total_size": N}, "weight_map": {name: shard}}), as transformers does.
// Every file is written atomically (temp, fsync, rename); shards are written before the
// index. Header: __metadata__ first, then the tensors in add() order with contiguous
// data_offsets, padded with spaces to a multiple of 8 bytes. Sharding is greedy in add()
// order (a tensor larger than max_shard_bytes gets a shard of its own). After a successful
// write(), files in DIR left from an earlier write with the other layout or another shard
// count (BASENAME.safetensors, BASENAME.safetensors.index.json,
// BASENAME-NNNNN-of-NNNNN.safetensors) are removed, so the directory is never ambiguous.
// The data is copied from the given pointers at write() time, so they must stay valid
// until then.
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data);
  // Returns the files written (relative names).
  std::vector<std::string> write(const std::string& dir, size_t max_shard_bytes = 5ull << 30,
                                 const std::string& basename = "model") const;
  // Writes exactly one file at path, whatever its size.
  void write_file(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
    size_t n_bytes;
  };
  std::map<std::string, std::string> metadata_;
  std::vector<Entry> entries_;
};

}  // namespace lowbit
