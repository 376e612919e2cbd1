// The load-time step that repacks a model's linears for the CPU integer kernels
// (kernels/repack.h) and releases their source bytes, so a repacked model holds one copy.
#pragma once
#include "model/weights.h"

namespace lowbit {

// Repacks every linear (and an untied lm_head) whose format has a repack with a kernel for the
// active ISA; the embedding stays as it is (rows are looked up, not multiplied). Off with
// LOWBIT_REPACK=0. Returns the number of matrices repacked.
int repack_weights_for_cpu(ModelWeights& w);

// One matrix (tests force it regardless of the ISA): true if repacked.
bool repack_matrix(QMatrix& m);

}  // namespace lowbit
