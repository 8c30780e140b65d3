// The web console's files (docs/console.md), compiled into the binary: console/build.mjs
// bundles console/src and writes their bytes, gzipped bytes and ETags into a generated
// source (console_assets.cc in the build directory).
#pragma once

#include <span>
#include <string_view>

namespace millrace::console {

struct Asset {
  std::string_view name;          // "index.html", "app-<hash>.js", ...
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view etag;          // "\"<16 hex digits of its SHA-256>\""
  bool immutable;                 // named by its content's hash: cached for a year
  std::string_view bytes;
  std::string_view gzipped;
};

std::span<const Asset> Assets();

}  // namespace millrace::console
