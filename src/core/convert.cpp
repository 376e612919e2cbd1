// Placeholder: implemented in full by the core conversions work.
#include "core/convert.h"
