// Process memory as the kernel counts it (Linux /proc/self/status). Both return 0 where
// the numbers are unavailable (not Linux, /proc not mounted).
//   peak_rss_bytes()     VmHWM: the high-water mark of the resident set since the process
//                        started. File-backed pages of mapped weights count once touched.
//   current_rss_bytes()  VmRSS: the resident set now.
#pragma once
#include <cstddef>
#include <string>

namespace lowbit {

size_t peak_rss_bytes();
size_t current_rss_bytes();

// "1.23 GiB", "512.00 MiB", "999 B": binary units with two decimals, as llama-bench prints sizes.
std::string format_bytes(size_t n_bytes);

}  // namespace lowbit
