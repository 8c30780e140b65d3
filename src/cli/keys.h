// `millrace keys create|list|revoke`: access keys in a data directory's catalog.
#pragma once

#include <string>
#include <vector>

namespace millrace::cli {

int Keys(const std::vector<std::string>& args);

}  // namespace millrace::cli
