// Which instruction sets this CPU has (CPUID), and which kernel set to use: the best one
// present, lowered by LOWBIT_ISA=ref|avx2|avx512 (for tests and comparisons).
#pragma once
#include <string_view>

namespace lowbit {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
};

enum class Isa { Ref = 0, Avx2 = 1, Avx512 = 2 };

const CpuFeatures& cpu_features();
Isa best_isa();                 // what the hardware supports
Isa active_isa();               // best_isa() capped by LOWBIT_ISA (read once)
void set_active_isa(Isa isa);   // tests: force a kernel set (capped by the hardware)
std::string_view isa_name(Isa isa);

}  // namespace lowbit
