// A one-line progress bar with ETA on stderr, shown only when stderr is a TTY and the user
// did not ask for --quiet. Long work (eval, quantize, imatrix) reports "label i/N".
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lowbit {

class Progress {
 public:
  // enabled: false forces silence (--quiet); otherwise shown iff stderr is a TTY.
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  void update(int64_t done, const std::string& extra = "");
  void finish();

  static void set_quiet(bool q);  // process-wide --quiet

 private:
  std::string label_;
  int64_t total_;
  bool active_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace lowbit
