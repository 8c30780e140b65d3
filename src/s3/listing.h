// Listing a local bucket: the files under a directory as S3 keys ("2026/12/05/21/f.jsonl"),
// in S3's order (by the keys' bytes), with ListObjects' prefix, delimiter, start-after and
// max-keys. The walk visits directories in key order and skips those that cannot hold a
// key of the page (before start-after, outside the prefix), and with delimiter "/" a
// directory beyond the prefix becomes one common prefix without being walked through; so a
// page costs about its own size plus the depth of the tree, not the bucket's size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace millrace::s3 {

struct ListRequest {
  std::string prefix;
  std::string delimiter;  // empty: none
  std::string after;      // keys (and common prefixes) <= this are left out
  // A common prefix given as `after` (a continuation after it): its keys are left out too.
  bool after_is_prefix = false;
  int max_keys = 1000;
  // Set: objects for which it answers true are left out (expired by a lifecycle rule).
  std::function<bool(const std::string& key, int64_t mtime_ms)> hidden;
};

struct ObjectEntry {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
  std::string md5;  // the ETag from the file's user.millrace.md5 attribute; empty without one
};

struct ListResult {
  // In key order, interleaved as S3 counts them toward max-keys.
  std::vector<ObjectEntry> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string last;  // the last key or common prefix returned (where the next page starts)
  bool last_is_prefix = false;
};

// Lists the files under `root` (no symbolic links followed; staging leftovers "*.tmp" and
// ".tmp-*" are not objects). NotFound if root does not exist.
Result<ListResult> ListDirectory(const std::string& root, const ListRequest& req);

}  // namespace millrace::s3
