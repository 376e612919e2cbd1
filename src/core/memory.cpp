#include "core/memory.h"

#include <cstdio>
#include <cstring>

namespace lowbit {
namespace {

// Reads "Key:   12345 kB" from /proc/self/status.
size_t status_kb(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  const size_t klen = std::strlen(key);
  size_t kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, key, klen) == 0 && line[klen] == ':') {
      unsigned long long v = 0;
      if (std::sscanf(line + klen + 1, "%llu", &v) == 1) kb = static_cast<size_t>(v);
      break;
    }
  }
  std::fclose(f);
  return kb;
}

}  // namespace

size_t peak_rss_bytes() { return status_kb("VmHWM") * 1024; }
size_t current_rss_bytes() { return status_kb("VmRSS") * 1024; }

std::string format_bytes(size_t n) {
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%zu B", n);
    return buf;
  }
  double v = static_cast<double>(n) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  return buf;
}

}  // namespace lowbit
