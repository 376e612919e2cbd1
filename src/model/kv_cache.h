// Key/value cache: one slot per processed token, in processing order. Each slot remembers
// its position id, so callers may use any positions (offsets, strides), as transformers'
// position_ids allow. Keys are stored after RoPE.
#pragma once
#include <cstdint>
#include <vector>

namespace lowbit {

struct KVCache {
  int n_layers = 0;
  int n_slots = 0;  // capacity
  int kv_dim = 0;
  int n_used = 0;
  std::vector<float> k, v;       // [layer][slot][kv_dim]
  std::vector<int32_t> positions;  // [slot]

  void init(int layers, int slots, int dim) {
    n_layers = layers;
    n_slots = slots;
    kv_dim = dim;
    n_used = 0;
    k.assign(static_cast<size_t>(layers) * slots * dim, 0.0f);
    v.assign(k.size(), 0.0f);
    positions.assign(slots, 0);
  }
  float* k_at(int layer, int slot) { return k.data() + (static_cast<size_t>(layer) * n_slots + slot) * kv_dim; }
  float* v_at(int layer, int slot) { return v.data() + (static_cast<size_t>(layer) * n_slots + slot) * kv_dim; }
  size_t n_bytes() const { return (k.size() + v.size()) * sizeof(float); }
};

}  // namespace lowbit
