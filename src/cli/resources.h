// `millrace datasets|consumers|transformations|streams ...`: the control API (docs/control-api.md)
// from the command line. Each command sends one request to a running server and prints the JSON
// answer (indented) on stdout; exit status 0 on success, 1 when the server refuses (the
// error message on stderr) or cannot be reached, 2 for a usage error.
#pragma once

#include <string>
#include <vector>

namespace millrace::cli {

// `resource` is "datasets", "consumers", "transformations" or "streams"; `args` are the arguments
// after it.
int Resources(const std::string& resource, const std::vector<std::string>& args);

// Indents compact JSON, two spaces a level, without parsing it (numbers and strings stay
// byte for byte). Text that is not JSON comes out reindented but otherwise unchanged.
std::string IndentJson(const std::string& json);

}  // namespace millrace::cli
