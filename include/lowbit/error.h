// Public: one error type for the whole project. Every failure that a user can cause (bad file,
// bad option) is an Error carrying the file (or option) it concerns and a one-line reason,
// so the CLI prints "lowbit: FILE: WHAT" and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace lowbit {

class Error : public std::runtime_error {
 public:
  Error(std::string file, std::string detail)
      : std::runtime_error(file.empty() ? detail : file + ": " + detail),
        file_(std::move(file)), detail_(std::move(detail)) {}
  const std::string& file() const { return file_; }
  const std::string& detail() const { return detail_; }

 private:
  std::string file_;
  std::string detail_;
};

[[noreturn]] inline void fail(const std::string& file, const std::string& detail) {
  throw Error(file, detail);
}

}  // namespace lowbit
