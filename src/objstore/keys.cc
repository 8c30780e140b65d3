#include "objstore/keys.h"

#include <string>

#include "common/encoding.h"

namespace millrace::objstore {
namespace {

// Why `key` is not a valid key, or nullptr.
const char* KeyProblem(std::string_view key) {
  if (key.empty()) return "is empty";
  if (key.size() > kMaxKeyBytes) return "is longer than 1024 bytes";
  if (key.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (key.front() == '/') return "starts with '/'";
  while (true) {
    size_t slash = key.find('/');
    std::string_view segment = key.substr(0, slash);
    if (segment.empty()) return "has an empty segment";
    if (segment == "." || segment == "..") return "has a '.' or '..' segment";
    if (slash == std::string_view::npos) return nullptr;
    key.remove_prefix(slash + 1);
  }
}

Status Invalid(std::string_view what, std::string_view value, std::string_view where,
               const char* problem) {
  return Status::InvalidArgument(std::string(where) + ": " + std::string(what) + " '" +
                                 Abbreviate(value) + "' " + problem);
}

}  // namespace

Status CheckKey(std::string_view key, std::string_view where) {
  if (const char* problem = KeyProblem(key)) return Invalid("key", key, where, problem);
  return Status::Ok();
}

Status CheckPrefix(std::string_view prefix, std::string_view where) {
  if (prefix.find('\0') != std::string_view::npos)
    return Invalid("prefix", prefix, where, "contains a NUL byte");
  size_t slash = prefix.rfind('/');
  if (slash == std::string_view::npos) return Status::Ok();
  if (const char* problem = KeyProblem(prefix.substr(0, slash)))
    return Invalid("prefix", prefix, where, problem);
  return Status::Ok();
}

}  // namespace millrace::objstore
