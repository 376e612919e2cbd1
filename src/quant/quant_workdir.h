// The temp directory quantize_hf builds its output in (DIR.tmp-<pid>), its progress record,
// and adoption of a directory an interrupted run left behind (--resume).
//   progress.json  {"signature": "<model and options>", "layers_done": k, "n_layers": N}
//   hidden.f32     the calibration hidden states entering layer k (raw little-endian f32)
// Both are written atomically after each finished layer, the layer's shard first, so the
// record never claims a layer whose file is missing.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace lowbit {

class QuantWorkdir {
 public:
  // Creates DIR.tmp-<pid> (or, with resume, renames the best matching DIR.tmp-<dead pid>
  // holding the same signature to it). Error if DIR exists and is not empty.
  QuantWorkdir(const std::string& out_dir, const std::string& signature, bool resume,
               const std::function<void(const std::string&)>& note);
  const std::string& path() const { return tmp_; }
  int layers_done() const { return layers_done_; }
  void save_progress(int layers_done, int n_layers);
  void save_hidden(const std::vector<float>& hidden) const;
  bool load_hidden(std::vector<float>& hidden) const;  // false if absent or the wrong size
  // Removes the bookkeeping files and renames the temp dir to DIR.
  void finish();

 private:
  std::string out_, tmp_, signature_;
  int layers_done_ = 0;
};

}  // namespace lowbit
