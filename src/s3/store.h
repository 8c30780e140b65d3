// The files behind the S3 API (docs/format/s3-store.md): a bucket is a directory, an
// object a file at the key's path beneath it (its attributes in extended attributes, see
// upload.h), a multipart upload a directory of part files.
//
//   <data_dir>/datasets/<dataset>/   a local dataset's bucket
//   <data_dir>/buckets/<bucket>/     a bucket made by CreateBucket
//   <data_dir>/s3/staging/           uploads being received (removed at start)
//   <data_dir>/s3/uploads/<id>/      multipart uploads: upload.json, part-00001, ...
//
// Every path below a bucket is reached from its root one segment at a time with
// O_NOFOLLOW, so no key, however crafted, names a file outside the bucket.
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "s3/upload.h"

namespace millrace::s3 {

inline constexpr size_t kMaxKeyBytes = 1024;  // S3's limit on a key's UTF-8 bytes

// An S3 lifecycle rule Millrace carries out: expire what is older than `days` under `prefix`.
struct LifecycleRule {
  std::string id;
  std::string prefix;
  int days = 0;
  bool enabled = true;
};

struct Bucket {
  std::string name;
  std::string dataset;  // the local dataset it is, or "" for a bucket of its own
  std::string root;     // its directory
  int64_t created_ms = 0;
  std::vector<LifecycleRule> lifecycle;
  std::vector<std::string> datasets_inside;  // local datasets delivering into this made bucket
};

// When `key` (last modified at mtime_ms) expires under the bucket's rules, as S3 counts:
// the first midnight UTC at least `days` days after the object was written. nullopt: never.
std::optional<int64_t> ExpiryMs(const Bucket& bucket, std::string_view key, int64_t mtime_ms);

// Bucket names as S3 allows them (3-63 of a-z 0-9 . -, starting and ending with a letter or
// digit, no "..", not an IP address).
bool ValidBucketName(std::string_view name);

// Whether `key` can be stored as a file: at most kMaxKeyBytes (KeyTooLongError), no NUL,
// and no empty, "." or ".." segment, no trailing '/', and no segment that looks like a
// staging file (".tmp-*", "*.tmp"). An S3Error saying which, or nullopt.
std::optional<S3Error> CheckKeyForWrite(std::string_view key);

// Opens the directory that holds `key`'s file beneath `root` (creating missing directories
// when `create`), one segment at a time, without following links. *leaf gets the last
// segment. NotFound when a directory is missing (and not created); FailedPrecondition when
// a segment is a file (a key cannot be both an object and a prefix of other keys' folders).
Result<int> OpenParent(const std::string& root, std::string_view key, bool create,
                       std::string* leaf);

// Removes `key`'s now empty directories, deepest first, up to (not including) the root.
void RemoveEmptyParents(const std::string& root, std::string_view key);

// Opens an object's file for reading (no links, nothing outside root, no ".", ".." or
// empty segment: a key names one file, the one its policy covers); -1 and errno if none.
int OpenObject(const std::string& root, std::string_view key);

// ---- Multipart uploads -------------------------------------------------------------

struct MultipartUpload {
  std::string id;
  std::string bucket;
  std::string key;
  std::string content_type;
  std::string header_lines;        // Upload::StoredHeaders
  std::string checksum_algorithm;  // "CRC32", ... or ""
  int64_t created_ms = 0;
};

struct PartInfo {
  int number = 0;
  uint64_t size = 0;
  std::string etag;  // MD5 hex
  int64_t mtime_ms = 0;
};

inline constexpr int kMaxParts = 10000;
inline constexpr uint64_t kMinPartBytes = 5ull << 20;  // every part but the last

class MultipartStore {
 public:
  explicit MultipartStore(std::string dir) : dir_(std::move(dir)) {}

  Status Create(const MultipartUpload& upload);  // fsync'd before it returns
  // The upload, or nullopt when there is none (or the id is malformed).
  Result<std::optional<MultipartUpload>> Get(const std::string& id) const;
  Result<std::vector<MultipartUpload>> List(const std::string& bucket) const;
  // The upload's directory (where UploadPart commits "part-NNNNN").
  std::string Dir(const std::string& id) const { return dir_ + "/" + id; }
  static std::string PartName(int number);
  Result<std::vector<PartInfo>> Parts(const std::string& id) const;
  Status Remove(const std::string& id);

 private:
  std::string dir_;
};

}  // namespace millrace::s3
