#include "io/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; big-endian hosts are not supported");

constexpr std::string_view kMetadataKey = "__metadata__";

// A name or value from a file, safe to put in a one-line message: control bytes escaped,
// very long strings cut.
std::string printable(std::string_view s, size_t max_len = 160, bool ascii_only = false) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f || (ascii_only && c >= 0x80))
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string quote_str(std::string_view s) {
  std::string out(1, '"');
  out += printable(s);
  out += '"';
  return out;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; drop that tag.
std::string json_reason(const json::exception& e) {
  std::string_view w = e.what();
  if (!w.empty() && w.front() == '[') {
    auto p = w.find("] ");
    if (p != std::string_view::npos) w.remove_prefix(p + 2);
  }
  return printable(w, 300, /*ascii_only=*/true);  // may quote invalid UTF-8 input
}

// Parses JSON with a bounded nesting depth and no duplicate keys in any object (nlohmann
// would silently keep the last). top_level_tensors: duplicate keys of the root object are
// reported as duplicate tensor names.
json parse_json_strict(const char* begin, size_t n, const std::string& path, std::string_view what,
                       bool top_level_tensors) {
  struct Frame {
    std::set<std::string> keys;  // only used for objects
  };
  std::vector<Frame> stack;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (stack.size() >= static_cast<size_t>(kSafetensorsMaxJsonDepth))
          fail(path, fmt::format("{} is nested deeper than {} levels", what,
                                 kSafetensorsMaxJsonDepth));
        stack.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) stack.pop_back();
        break;
      case json::parse_event_t::key: {
        if (stack.empty() || !parsed.is_string()) break;
        const auto& k = parsed.get_ref<const std::string&>();
        if (!stack.back().keys.insert(k).second) {
          if (top_level_tensors && stack.size() == 1)
            fail(path, k == kMetadataKey
                           ? fmt::format("duplicate {} in {}", kMetadataKey, what)
                           : fmt::format("duplicate tensor name {} in {}", printable(k), what));
          fail(path, fmt::format("duplicate key {} in {}", quote_str(k), what));
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(begin, begin + n, cb, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    fail(path, fmt::format("invalid {}: {}", what, json_reason(e)));
  }
}

const char* json_type(const json& j) { return j.type_name(); }

// A non-negative JSON integer, or nullopt with `why` set.
std::optional<uint64_t> as_unsigned(const json& j, std::string& why) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer()) {
    why = fmt::format("negative value {}", j.get<int64_t>());
    return std::nullopt;
  }
  if (j.is_number_float()) {
    why = fmt::format("non-integer number {}", printable(j.dump()));
    return std::nullopt;
  }
  why = fmt::format("expected an integer, got {}", json_type(j));
  return std::nullopt;
}

bool is_plain_file_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == '\\' || c == '\0') return false;
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------

SafetensorsHeader parse_safetensors(const uint8_t* data, size_t n_bytes, const std::string& path) {
  if (n_bytes < 8)
    fail(path, fmt::format("truncated: {} bytes, too short for the 8-byte header length of a "
                           "safetensors file",
                           n_bytes));
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(data[i]) << (8 * i);
  if (header_len > kSafetensorsMaxHeaderBytes)
    fail(path, fmt::format("header length {} exceeds the {}-byte limit (corrupt or not a "
                           "safetensors file)",
                           header_len, kSafetensorsMaxHeaderBytes));
  if (header_len > n_bytes - 8)
    fail(path, fmt::format("header length {} is longer than the {} bytes that follow it "
                           "(truncated or not a safetensors file)",
                           header_len, n_bytes - 8));
  const size_t data_size = n_bytes - 8 - static_cast<size_t>(header_len);
  const uint8_t* data_start = data + 8 + header_len;

  json h = parse_json_strict(reinterpret_cast<const char*>(data + 8),
                             static_cast<size_t>(header_len), path, "header JSON", true);
  if (!h.is_object())
    fail(path, fmt::format("header is not a JSON object (got {})", json_type(h)));

  SafetensorsHeader out;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == kMetadataKey) {
      if (!v.is_object())
        fail(path, fmt::format("{} is not an object (got {})", kMetadataKey, json_type(v)));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(path, fmt::format("{} value for key {} is not a string (got {})", kMetadataKey,
                                 quote_str(m.key()), json_type(m.value())));
        out.metadata.emplace(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    auto bad = [&](const std::string& why) {
      fail(path, fmt::format("tensor {}: {}", printable(name), why));
    };
    if (!v.is_object()) bad(fmt::format("header entry is not an object (got {})", json_type(v)));

    // dtype
    auto dt_it = v.find("dtype");
    if (dt_it == v.end()) bad("missing \"dtype\"");
    if (!dt_it->is_string()) bad(fmt::format("\"dtype\" is not a string (got {})", json_type(*dt_it)));
    const auto& dt_name = dt_it->get_ref<const std::string&>();
    auto dtype = dtype_from_name(dt_name);
    if (!dtype) bad(fmt::format("unknown dtype {}", quote_str(dt_name)));

    // shape
    auto sh_it = v.find("shape");
    if (sh_it == v.end()) bad("missing \"shape\"");
    if (!sh_it->is_array()) bad(fmt::format("\"shape\" is not an array (got {})", json_type(*sh_it)));
    std::vector<int64_t> shape;
    shape.reserve(sh_it->size());
    bool has_zero = false;
    for (const auto& d : *sh_it) {
      std::string why;
      auto dim = as_unsigned(d, why);
      if (!dim) bad(fmt::format("bad dimension in shape {}: {}", printable(sh_it->dump()), why));
      if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        bad(fmt::format("dimension {} in shape is too large", *dim));
      if (*dim == 0) has_zero = true;
      shape.push_back(static_cast<int64_t>(*dim));
    }
    uint64_t n_elems = 1;
    if (has_zero) {
      n_elems = 0;
    } else {
      const uint64_t max_elems = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      for (int64_t d : shape) {
        if (n_elems > max_elems / static_cast<uint64_t>(d))
          bad(fmt::format("shape {} has too many elements (overflow)", shape_str(shape)));
        n_elems *= static_cast<uint64_t>(d);
      }
    }
    const uint64_t elem_bytes = dtype_n_bytes(*dtype);
    if (n_elems > std::numeric_limits<uint64_t>::max() / elem_bytes)
      bad(fmt::format("shape {} is too large in bytes (overflow)", shape_str(shape)));
    const uint64_t expected_bytes = n_elems * elem_bytes;

    // data_offsets
    auto off_it = v.find("data_offsets");
    if (off_it == v.end()) bad("missing \"data_offsets\"");
    if (!off_it->is_array() || off_it->size() != 2)
      bad(fmt::format("\"data_offsets\" is not a [begin, end] pair (got {})",
                      printable(off_it->dump(), 80)));
    std::string why;
    auto begin = as_unsigned((*off_it)[0], why);
    if (!begin) bad(fmt::format("bad data_offsets begin: {}", why));
    auto end = as_unsigned((*off_it)[1], why);
    if (!end) bad(fmt::format("bad data_offsets end: {}", why));
    if (*begin > *end) bad(fmt::format("data_offsets [{}, {}] have begin > end", *begin, *end));
    if (*end > data_size)
      bad(fmt::format("data_offsets [{}, {}] run past the end of the data section ({} bytes; "
                      "truncated file?)",
                      *begin, *end, data_size));
    if (*end - *begin != expected_bytes)
      bad(fmt::format("data_offsets [{}, {}] span {} bytes, expected {} for {} {}", *begin, *end,
                      *end - *begin, expected_bytes, dt_name, shape_str(shape)));

    SafetensorsTensor t;
    t.name = name;
    t.dtype = *dtype;
    t.shape = std::move(shape);
    t.data = data_start + *begin;
    t.n_bytes = static_cast<size_t>(expected_bytes);
    t.file = path;
    out.tensors.push_back(std::move(t));
  }

  // File order; then no two non-empty byte ranges may overlap.
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
              if (a.data != b.data) return a.data < b.data;
              if (a.n_bytes != b.n_bytes) return a.n_bytes < b.n_bytes;
              return a.name < b.name;
            });
  const SafetensorsTensor* last = nullptr;  // the non-empty tensor reaching furthest so far
  for (const auto& t : out.tensors) {
    if (t.n_bytes == 0) continue;
    if (last && t.data < last->data + last->n_bytes)
      fail(path, fmt::format("tensor {} (data_offsets [{}, {}]) overlaps tensor {} "
                             "(data_offsets [{}, {}])",
                             printable(t.name), t.data - data_start,
                             t.data - data_start + t.n_bytes, printable(last->name),
                             last->data - data_start, last->data - data_start + last->n_bytes));
    if (!last || t.data + t.n_bytes > last->data + last->n_bytes) last = &t;
  }
  return out;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::unique_ptr<SafetensorsFile>(new SafetensorsFile());
  f->file_ = MappedFile::open(path);
  SafetensorsHeader h = parse_safetensors(f->file_.data(), f->file_.n_bytes(), path);
  f->metadata_ = std::move(h.metadata);
  f->tensors_ = std::move(h.tensors);
  for (size_t i = 0; i < f->tensors_.size(); ++i) f->index_.emplace(f->tensors_[i].name, i);
  return f;
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::drop_pages(const std::string& name_prefix) const {
  for (const SafetensorsTensor& t : tensors_)
    if (t.name.compare(0, name_prefix.size(), name_prefix) == 0) file_.drop_pages(t.data, t.n_bytes);
}

// ---------------------------------------------------------------------------------------
// Model (one file, or an index with shards)
// ---------------------------------------------------------------------------------------

std::unique_ptr<SafetensorsModel> SafetensorsModel::open(const std::string& dir_or_file) {
  auto m = std::unique_ptr<SafetensorsModel>(new SafetensorsModel());
  m->path_ = dir_or_file;

  auto add_file = [&](std::unique_ptr<SafetensorsFile> f) {
    for (const auto& t : f->tensors()) {
      auto [it, inserted] = m->index_.emplace(t.name, &t);
      if (!inserted)
        fail(f->path(), fmt::format("tensor {} is also in shard {}", printable(t.name),
                                    it->second->file));
      m->tensors_.push_back(&t);
    }
    m->files_.push_back(std::move(f));
  };

  auto open_index = [&](const std::string& index_path) {
    MappedFile im = MappedFile::open(index_path);
    if (im.n_bytes() > kSafetensorsMaxHeaderBytes)
      fail(index_path, fmt::format("index is {} bytes, over the {}-byte limit", im.n_bytes(),
                                   kSafetensorsMaxHeaderBytes));
    json j = parse_json_strict(reinterpret_cast<const char*>(im.data()), im.n_bytes(), index_path,
                               "index JSON", false);
    if (!j.is_object())
      fail(index_path, fmt::format("index is not a JSON object (got {})", json_type(j)));
    if (auto md = j.find("metadata"); md != j.end() && !md->is_object() && !md->is_null())
      fail(index_path, fmt::format("\"metadata\" is not an object (got {})", json_type(*md)));
    auto wm = j.find("weight_map");
    if (wm == j.end()) fail(index_path, "missing \"weight_map\"");
    if (!wm->is_object())
      fail(index_path, fmt::format("\"weight_map\" is not an object (got {})", json_type(*wm)));
    if (wm->empty()) fail(index_path, "\"weight_map\" is empty");
    std::set<std::string> shards;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it.value().is_string())
        fail(index_path, fmt::format("weight_map entry for tensor {} is not a string (got {})",
                                     printable(it.key()), json_type(it.value())));
      const auto& shard = it.value().get_ref<const std::string&>();
      if (!is_plain_file_name(shard))
        fail(index_path, fmt::format("weight_map entry for tensor {} names shard {}, which is "
                                     "not a plain file name in the model directory",
                                     printable(it.key()), quote_str(shard)));
      shards.insert(shard);
    }
    const fs::path dir = fs::path(index_path).parent_path();
    const std::string index_name = fs::path(index_path).filename().string();
    std::map<std::string, const SafetensorsFile*> by_shard;
    for (const auto& shard : shards) {
      const std::string shard_path = (dir / shard).string();
      std::error_code ec;
      if (!fs::exists(shard_path, ec))
        fail(shard_path, fmt::format("shard listed in {} does not exist", index_name));
      auto f = SafetensorsFile::open(shard_path);
      by_shard[shard] = f.get();
      add_file(std::move(f));
    }
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      const auto& shard = it.value().get_ref<const std::string&>();
      if (!by_shard.at(shard)->find(it.key()))
        fail(index_path, fmt::format("weight_map maps tensor {} to shard {}, which does not "
                                     "contain it",
                                     printable(it.key()), printable(shard)));
    }
  };

  std::error_code ec;
  const fs::path p(dir_or_file);
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) fail(dir_or_file, "no such file or directory");
  if (fs::is_directory(st)) {
    const fs::path single = p / "model.safetensors";
    const fs::path index = p / "model.safetensors.index.json";
    if (fs::exists(single, ec))
      add_file(SafetensorsFile::open(single.string()));
    else if (fs::exists(index, ec))
      open_index(index.string());
    else
      fail(dir_or_file, "no model.safetensors or model.safetensors.index.json");
  } else if (ends_with(dir_or_file, ".index.json")) {
    open_index(dir_or_file);
  } else {
    add_file(SafetensorsFile::open(dir_or_file));
  }
  return m;
}

const SafetensorsTensor* SafetensorsModel::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

const SafetensorsTensor& SafetensorsModel::get(const std::string& name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) fail(path_, "missing tensor " + printable(name));
  return *t;
}

const std::map<std::string, std::string>& SafetensorsModel::metadata() const {
  static const std::map<std::string, std::string> kEmpty;
  return files_.empty() ? kEmpty : files_.front()->metadata();
}

void SafetensorsModel::drop_pages(const std::string& name_prefix) const {
  for (const auto& f : files_) f->drop_pages(name_prefix);
}

size_t SafetensorsModel::n_bytes() const {
  size_t n = 0;
  for (const auto* t : tensors_) n += t->n_bytes;
  return n;
}

// ---------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  if (name == kMetadataKey)
    fail("", fmt::format("safetensors writer: tensor name {} is reserved", kMetadataKey));
  for (const auto& e : entries_)
    if (e.name == name)
      fail("", fmt::format("safetensors writer: duplicate tensor name {}", printable(name)));
  uint64_t n_elems = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d < 0)
      fail("", fmt::format("safetensors writer: tensor {} has negative dimension in shape {}",
                           printable(name), shape_str(shape)));
    if (d == 0) has_zero = true;
  }
  if (has_zero) {
    n_elems = 0;
  } else {
    for (int64_t d : shape) {
      if (n_elems > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                        static_cast<uint64_t>(d))
        fail("", fmt::format("safetensors writer: tensor {} shape {} overflows",
                             printable(name), shape_str(shape)));
      n_elems *= static_cast<uint64_t>(d);
    }
  }
  const uint64_t elem_bytes = dtype_n_bytes(dtype);
  if (n_elems > std::numeric_limits<size_t>::max() / elem_bytes)
    fail("", fmt::format("safetensors writer: tensor {} shape {} overflows in bytes",
                         printable(name), shape_str(shape)));
  const size_t n_bytes = static_cast<size_t>(n_elems * elem_bytes);
  if (n_bytes > 0 && data == nullptr)
    fail("", fmt::format("safetensors writer: tensor {} has no data", printable(name)));
  entries_.push_back(Entry{name, dtype, std::move(shape), data, n_bytes});
}

namespace {

template <class Entry, class Metadata>
void write_safetensors_file(const std::string& path, const Metadata& metadata,
                            const std::vector<const Entry*>& entries) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json md = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) md[k] = v;
    h[std::string(kMetadataKey)] = std::move(md);
  }
  uint64_t offset = 0;
  for (const Entry* e : entries) {
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    t["dtype"] = std::string(dtype_name(e->dtype));
    nlohmann::ordered_json shape = nlohmann::ordered_json::array();
    for (int64_t d : e->shape) shape.push_back(d);
    t["shape"] = std::move(shape);
    nlohmann::ordered_json offs = nlohmann::ordered_json::array();
    offs.push_back(offset);
    offs.push_back(offset + e->n_bytes);
    t["data_offsets"] = std::move(offs);
    h[e->name] = std::move(t);
    offset += e->n_bytes;
  }
  std::string header;
  try {
    header = h.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(path, fmt::format("cannot encode the header (tensor names and metadata must be valid "
                           "UTF-8): {}",
                           json_reason(e)));
  }
  header.append((8 - header.size() % 8) % 8, ' ');
  uint8_t len[8];
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));

  AtomicFile f(path);
  f.write(len, sizeof(len));
  f.write(header.data(), header.size());
  for (const Entry* e : entries) f.write(e->data, e->n_bytes);
  f.commit();
}

// BASENAME.safetensors, BASENAME.safetensors.index.json or BASENAME-NNNNN-of-NNNNN.safetensors.
bool is_layout_file(const std::string& name, const std::string& basename) {
  if (name == basename + ".safetensors" || name == basename + ".safetensors.index.json")
    return true;
  const std::string prefix = basename + "-";
  if (name.size() != prefix.size() + 26 || name.compare(0, prefix.size(), prefix) != 0)
    return false;
  std::string_view rest = std::string_view(name).substr(prefix.size());
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(rest.substr(0, 5)) && rest.substr(5, 4) == "-of-" && digits(rest.substr(9, 5)) &&
         rest.substr(14) == ".safetensors";
}

}  // namespace

void SafetensorsWriter::write_file(const std::string& path) const {
  std::vector<const Entry*> all;
  for (const auto& e : entries_) all.push_back(&e);
  write_safetensors_file(path, metadata_, all);
}

std::vector<std::string> SafetensorsWriter::write(const std::string& dir, size_t max_shard_bytes,
                                                  const std::string& basename) const {
  if (!is_plain_file_name(basename))
    fail(dir, fmt::format("output basename {} is not a plain file name", quote_str(basename)));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create directory: " + ec.message());
  if (!fs::is_directory(dir, ec)) fail(dir, "not a directory");
  const fs::path d(dir);

  size_t total = 0;
  for (const auto& e : entries_) total += e.n_bytes;

  std::vector<std::string> written;
  if (total <= max_shard_bytes) {
    const std::string name = basename + ".safetensors";
    write_file((d / name).string());
    written.push_back(name);
  } else {
    std::vector<std::vector<const Entry*>> shards(1);
    size_t cur = 0;
    for (const auto& e : entries_) {
      if (cur > 0 && cur + e.n_bytes > max_shard_bytes) {
        shards.emplace_back();
        cur = 0;
      }
      shards.back().push_back(&e);
      cur += e.n_bytes;
    }
    const size_t n_shards = shards.size();
    json weight_map = json::object();
    for (size_t i = 0; i < n_shards; ++i) {
      const std::string name =
          fmt::format("{}-{:05d}-of-{:05d}.safetensors", basename, i + 1, n_shards);
      write_safetensors_file((d / name).string(), metadata_, shards[i]);
      for (const Entry* e : shards[i]) weight_map[e->name] = name;
      written.push_back(name);
    }
    json index = json::object();
    index["metadata"] = json{{"total_size", static_cast<uint64_t>(total)}};
    index["weight_map"] = std::move(weight_map);
    const std::string index_name = basename + ".safetensors.index.json";
    const std::string index_path = (d / index_name).string();
    std::string text;
    try {
      text = index.dump(2) + "\n";
    } catch (const json::exception& e) {
      fail(index_path, "cannot encode the index (tensor names must be valid UTF-8): " +
                           json_reason(e));
    }
    AtomicFile f(index_path);
    f.write(text.data(), text.size());
    f.commit();
    written.push_back(index_name);
  }

  // Remove what an earlier write with another layout left behind, so the reader cannot
  // pick up a stale model.safetensors next to fresh shards (or a stale index).
  std::set<std::string> keep(written.begin(), written.end());
  std::vector<fs::path> stale;
  for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!keep.count(name) && is_layout_file(name, basename) && it->is_regular_file())
      stale.push_back(it->path());
  }
  for (const auto& p : stale) {
    std::error_code rm_ec;
    fs::remove(p, rm_ec);
    if (rm_ec) fail(p.string(), "cannot remove stale file from an earlier write: " + rm_ec.message());
  }
  return written;
}

}  // namespace lowbit
