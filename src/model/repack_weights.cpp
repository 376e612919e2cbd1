#include "model/repack_weights.h"

#include <cstdlib>
#include <cstring>

#include "core/mmap.h"
#include "kernels/cpu_features.h"

namespace lowbit {

bool repack_matrix(QMatrix& m) {
  std::unique_ptr<RepackedMatrix> r = repack(m);
  if (!r) return false;
  m.repacked = std::move(r);
  // Release the source: owned bytes are freed, mapped ones dropped from the RSS (the file's
  // pages stay in the page cache for the OS to reuse).
  if (!m.owned.empty()) std::vector<uint8_t>().swap(m.owned);
  else release_mapped_pages(m.data, static_cast<size_t>(m.n_rows) * m.row_bytes);
  m.data = nullptr;
  return true;
}

int repack_weights_for_cpu(ModelWeights& w) {
  if (const char* e = std::getenv("LOWBIT_REPACK"); e && std::strcmp(e, "0") == 0) return 0;
  auto wanted = [](const QMatrix& m) {
    const RepackTraits* t = find_repack(m.format);
    return t && t->for_isa(active_isa()) != t->ref;  // the scalar kernel is slower than per-row dots
  };
  int n = 0;
  for (LayerWeights& L : w.layers)
    for (QMatrix* m : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down})
      if (wanted(*m)) n += repack_matrix(*m);
  const bool tied = w.lm_head.data == w.embed.data && w.lm_head.data != nullptr;
  if (!tied && wanted(w.lm_head)) n += repack_matrix(w.lm_head);
  return n;
}

}  // namespace lowbit
