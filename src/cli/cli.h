// The `millrace` command line: `serve` runs the server; `keys` manages access keys in a
// data directory (directly in its catalog, so it works whether or not the server runs;
// a running server sees the change within a second).
#pragma once

namespace millrace::cli {

int Main(int argc, char** argv);

}  // namespace millrace::cli
