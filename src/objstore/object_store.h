// ObjectStore: where dataset files go. A local directory (the default) or any
// S3-compatible bucket, behind one interface so delivery does not care which.
//
// Contract shared by every implementation:
// - Put is atomic: a reader sees the whole object or none of it (local: temporary file,
//   fsync, rename, fsync of the directory; S3: PutObject, or a multipart upload that only
//   becomes visible on CompleteMultipartUpload).
// - Put of the same key with the same bytes is harmless, so delivery may retry or redo a
//   write after a crash (that is how it delivers exactly once).
// - Errors the environment causes are Status values: kUnavailable for what a retry may fix
//   (connection refused, timeouts, 5xx, throttling), kPermissionDenied for credentials the
//   target refuses, kNotFound for a missing bucket, kNoSpace for a full local disk,
//   kIoError otherwise. The message names the target and the key.
// Thread-safe: a store may be used from several delivery threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace millrace::objstore {

// A local store's objects carry their MD5 (hex) and content type as extended attributes,
// written with the object: the S3 API's ETag and Content-Type (src/s3/). An object without
// them (older, or on a file system without user xattrs) has its MD5 computed when asked.
inline constexpr char kMd5Xattr[] = "user.millrace.md5";
inline constexpr char kContentTypeXattr[] = "user.millrace.content-type";

// An object written in pieces, for a target that consumes each piece while the next is
// made (a PostgreSQL COPY). Nothing is visible until Commit succeeds; destroying it
// uncommitted abandons it.
class ObjectStream {
 public:
  virtual ~ObjectStream() = default;
  virtual Status Append(std::string_view piece) = 0;
  // Makes the object whole and visible. On failure the object may or may not have been
  // committed (a lost answer): the caller writes it again under the same key (Put), which a
  // store that takes streams makes idempotent.
  virtual Status Commit() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Whether objects of `content_type` can be written here (a PostgreSQL target takes CSV,
  // and binary COPY data only into a table of the right types); stores of files take all.
  virtual bool Accepts(const std::string& content_type) {
    (void)content_type;
    return true;
  }
  // A stream for `key` if this store takes objects of `content_type` in pieces; null if it
  // does not (then Put the whole object).
  virtual Result<std::unique_ptr<ObjectStream>> StartPut(const std::string& key,
                                                         const std::string& content_type) {
    (void)key;
    (void)content_type;
    return std::unique_ptr<ObjectStream>();
  }

  // Writes `data` under `key` ("2026/11/21/06/name-1-...jsonl"; no leading slash).
  virtual Status Put(const std::string& key, std::string_view data,
                     const std::string& content_type) = 0;
  // The object's bytes, or nullopt if there is none.
  virtual Result<std::optional<std::string>> Get(const std::string& key) = 0;
  // Keys under `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;
  virtual Status Delete(const std::string& key) = 0;
  // "local:/var/lib/millrace/datasets/x" or "s3://bucket/prefix (http://endpoint)".
  virtual std::string Describe() const = 0;
};

// Files under `root` (created if missing); keys map to relative paths. A file being written
// stays in `staging` (created if missing; on root's filesystem; default
// "<root's parent>/.staging/<root's name>") until it is complete.
Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   const std::string& staging = "");
// Removes everything under `staging_root`: the partial files of writes a crash cut short.
// Only while no store writes there (at start).
Status SweepStaging(const std::string& staging_root);

struct S3Config {
  std::string endpoint_url;  // "http://127.0.0.1:4593" or "https://s3.eu-west-1.amazonaws.com"
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;  // prepended to every key ("" or ending in '/')
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  bool path_style = true;  // http://endpoint/bucket/key (false: http://bucket.endpoint/key)
  size_t multipart_threshold = 16u << 20;  // objects at least this large use multipart
  size_t part_size = 8u << 20;             // >= 5 MiB, as S3 requires (but the last part)
  int timeout_ms = 30000;
};

// An S3 client of our own (SigV4 from auth/, HTTP from libcurl).
Result<std::unique_ptr<ObjectStore>> NewS3Store(const S3Config& config);

}  // namespace millrace::objstore
