// Importance matrix (llama.cpp's imatrix): for every weight matrix, the per-input-column
// mean of squared activations, I[j] = E[x_j^2] over calibration tokens (specs/gguf.md §6).
// The GGUF and legacy formats store sums and counts; mean() divides.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowbit {

struct ImatrixEntry {
  int64_t n_in = 0;            // columns (input features) of the weight
  int64_t n_expert = 1;        // MoE experts (1 for dense weights)
  std::vector<float> in_sum2;  // n_in * n_expert: sum over tokens of x_j^2
  std::vector<float> counts;   // n_expert: tokens accumulated

  // Mean squared activation per column of expert e (in_sum2 / count).
  std::vector<float> mean(int64_t expert = 0) const;
};

struct Imatrix {
  std::vector<std::string> datasets;  // calibration file names
  uint32_t chunk_count = 0;
  uint32_t chunk_size = 0;
  std::map<std::string, ImatrixEntry> entries;  // GGUF weight name ("blk.0.attn_q.weight")

  const ImatrixEntry* find(const std::string& weight_name) const;
};

// Reads llama.cpp's GGUF imatrix (general.type "imatrix", <name>.in_sum2 / <name>.counts) or
// the legacy imatrix.dat, detected from the first bytes. Every size is checked: an untrusted file.
Imatrix read_imatrix(const std::string& path);
// Writes the GGUF imatrix format llama.cpp reads (atomic).
void write_imatrix_gguf(const Imatrix& m, const std::string& path);

}  // namespace lowbit
