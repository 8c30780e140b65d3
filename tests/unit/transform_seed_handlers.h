// The two data-transformation handlers of the seed page (/work/shared/seeds/
// 003_72ec196859603090.txt), verbatim but for their indentation, lost in the page text and
// restored. They live once, in tests/e2e/seed_filters/, for the unit and end-to-end tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace millrace::transform {

inline std::string SeedHandler(const std::string& file_name) {
  std::ifstream in(std::string(MILLRACE_SOURCE_DIR) + "/tests/e2e/seed_filters/" + file_name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace millrace::transform
