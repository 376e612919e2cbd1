// Reads a whole file into memory; Error(path, "cannot read text: <reason>") if it cannot.
#pragma once
#include <string>

namespace lowbit {

std::string read_whole_file(const std::string& path);

}  // namespace lowbit
