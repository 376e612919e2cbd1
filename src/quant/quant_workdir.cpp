#include "quant/quant_workdir.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lowbit {
namespace fs = std::filesystem;
namespace {

std::string strip_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool pid_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

nlohmann::json read_progress(const fs::path& dir) {
  std::ifstream in(dir / "progress.json");
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, false);
}

}  // namespace

QuantWorkdir::QuantWorkdir(const std::string& out_dir, const std::string& signature, bool resume,
                           const std::function<void(const std::string&)>& note)
    : out_(strip_slash(out_dir)), signature_(signature) {
  std::error_code ec;
  if (fs::exists(out_, ec) && !(fs::is_directory(out_, ec) && fs::is_empty(out_, ec)))
    fail(out_, "output exists; remove it or choose another -o");
  tmp_ = out_ + ".tmp-" + std::to_string(::getpid());
  // Interrupted runs of the same output: DIR.tmp-<pid> whose process is gone.
  const fs::path parent = fs::path(out_).parent_path().empty() ? fs::path(".") : fs::path(out_).parent_path();
  const std::string prefix = fs::path(out_).filename().string() + ".tmp-";
  std::string best;
  int best_done = -1;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0 || !e.is_directory()) continue;
    const std::string pid_str = name.substr(prefix.size());
    char* end = nullptr;
    const long pid = std::strtol(pid_str.c_str(), &end, 10);
    // A live process other than this one may still be writing it; this process's own dir
    // is left by an earlier call that failed (tests interrupt that way).
    if (pid_str.empty() || *end || (pid != ::getpid() && pid_alive(pid))) continue;
    const nlohmann::json p = read_progress(e.path());
    if (p.is_null() && pid != ::getpid()) {
      // Interrupted before its first layer finished: nothing to resume, remove it.
      fs::remove_all(e.path(), ec);
      continue;
    }
    if (!p.is_object() || p.value("signature", "") != signature_) continue;
    const int done = p.value("layers_done", 0);
    if (done > best_done) best_done = done, best = e.path().string();
  }
  if (!best.empty() && !resume)
    note("an interrupted run of the same job is in " + best + " (" + std::to_string(best_done) +
         " layers done): pass --resume to continue it");
  if (resume && !best.empty()) {
    if (best != tmp_) fs::rename(best, tmp_, ec);
    if (ec) fail(best, "cannot adopt for --resume: " + ec.message());
    layers_done_ = best_done;
    note("resuming " + best + " after layer " + std::to_string(best_done));
    return;
  }
  if (resume) note("nothing to resume for " + out_ + ": starting from layer 0");
  fs::create_directories(tmp_, ec);
  if (ec) fail(tmp_, "cannot create: " + ec.message());
}

void QuantWorkdir::save_progress(int layers_done, int n_layers) {
  const std::string s =
      nlohmann::json{{"signature", signature_}, {"layers_done", layers_done}, {"n_layers", n_layers}}.dump(1) + "\n";
  AtomicFile f(tmp_ + "/progress.json");
  f.write(s.data(), s.size());
  f.commit();
  layers_done_ = layers_done;
}

void QuantWorkdir::save_hidden(const std::vector<float>& hidden) const {
  AtomicFile f(tmp_ + "/hidden.f32");
  f.write(hidden.data(), hidden.size() * sizeof(float));
  f.commit();
}

bool QuantWorkdir::load_hidden(std::vector<float>& hidden) const {
  std::ifstream in(tmp_ + "/hidden.f32", std::ios::binary | std::ios::ate);
  if (!in || static_cast<size_t>(in.tellg()) != hidden.size() * sizeof(float)) return false;
  in.seekg(0);
  in.read(reinterpret_cast<char*>(hidden.data()), static_cast<std::streamsize>(hidden.size() * sizeof(float)));
  return static_cast<bool>(in);
}

void QuantWorkdir::finish() {
  std::error_code ec;
  fs::remove(tmp_ + "/progress.json", ec);
  fs::remove(tmp_ + "/hidden.f32", ec);
  if (fs::exists(out_, ec)) fs::remove(out_, ec);  // an empty directory (checked at the start)
  fs::rename(tmp_, out_, ec);
  if (ec) fail(out_, "cannot rename " + tmp_ + " into place: " + ec.message());
}

}  // namespace lowbit
