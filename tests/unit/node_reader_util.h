// What the readers tests (formats_parquet_readers_test, formats_csv_readers_test) share: they
// run a node script of tests/parquet/ over a file we wrote (DuckDB and hyparquet read it back)
// and compare its canonical text with the text computed here, independently of the writer.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "formats/parquet/schema.h"

namespace millrace::testing_util {

inline bool HaveNode() { return std::system("command -v node >/dev/null 2>&1") == 0; }

// tests/parquet/<name>.
inline std::filesystem::path NodeScript(const std::string& name) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "parquet" / name;
}

// Runs `node SCRIPT ARG` and returns what it printed; a failed run is a test failure.
inline std::string RunNode(const std::filesystem::path& script, const std::string& arg) {
  std::string cmd = "node '" + script.string() + "' '" + arg + "'";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

// A decimal's unscaled value as text with `scale` fraction digits ("-0.05").
inline std::string DecimalText(formats::parquet::Int128 v, int scale) {
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : v;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale))
      digits.insert(0, scale + 1 - digits.size(), '0');
    digits.insert(digits.size() - scale, ".");
  }
  if (neg) digits.insert(digits.begin(), '-');
  return digits;
}

}  // namespace millrace::testing_util
