#include "core/read_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace lowbit {

std::string read_whole_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, std::string("cannot read text: ") + std::strerror(errno));
  std::string s;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  const bool err = std::ferror(f) != 0;
  const int e = errno;
  std::fclose(f);
  if (err) fail(path, std::string("cannot read text: ") + std::strerror(e));
  return s;
}

}  // namespace lowbit
