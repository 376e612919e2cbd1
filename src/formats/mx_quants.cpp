// Stub: this family's formats are being implemented.
#include "formats/families.h"

namespace lowbit {
std::span<const FormatTraits> mx_formats() { return {}; }
}  // namespace lowbit
