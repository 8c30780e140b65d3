// The key rules every ObjectStore enforces, so delivery sees the same answers from a local
// directory and from a bucket.
//
// A key is a relative path: non-empty, no leading '/', segments separated by single '/'
// (no empty segment, so no trailing '/'), no "." or ".." segment, no NUL byte, at most
// 1024 bytes (S3's limit). Anything else is kInvalidArgument. Pure; thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"

namespace millrace::objstore {

inline constexpr size_t kMaxKeyBytes = 1024;

// Ok, or kInvalidArgument naming `where` (the store's Describe()) and the key.
Status CheckKey(std::string_view key, std::string_view where);

// The rules for a List prefix: the part before its last '/' must be a valid key (or
// empty); the rest is free (it matches the start of a segment). No leading '/', no NUL.
Status CheckPrefix(std::string_view prefix, std::string_view where);

}  // namespace millrace::objstore
