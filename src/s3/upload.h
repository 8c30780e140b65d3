// Upload: the body of a PutObject or UploadPart on its way to disk (docs/s3-api.md).
//
// It takes the body as it arrives (a piece at a time, from the HTTP server's body
// diversion, or whole from a buffered request), removes the aws-chunked framing when the
// request declares it, checks every chunk signature of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// body against the seed signature, and writes the payload to a staging file while it
// computes the payload's MD5 (the ETag), its SHA-256 when x-amz-content-sha256 names one,
// and the checksum the client asked for (CRC32, CRC32C, CRC64NVME, SHA1, SHA256; declared
// in a header or sent as a trailer). Finish checks them all; Commit makes the file the
// object (fsync, attributes, rename into place, fsync of the directory), so an object is
// visible whole or not at all. The staging file is removed if the upload is not
// committed.
//
// The first problem found (a bad chunk, a wrong digest, a full disk) is kept as the S3
// error to answer; later bytes are read and dropped, so the client still gets that answer.
//
// Body framings (x-amz-content-sha256 / Content-Encoding):
//   a hex SHA-256, UNSIGNED-PAYLOAD        the body is the payload
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD     aws-chunked, each chunk signed
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   the same, then signed trailers
//   STREAMING-UNSIGNED-PAYLOAD-TRAILER     aws-chunked without signatures, then trailers
// Thread-compatible: written by one thread at a time (the loop thread, then a worker).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sigv4.h"
#include "common/status.h"
#include "http/message.h"

namespace millrace::s3 {

inline constexpr uint64_t kMaxObjectBytes = 5ull << 30;  // S3: 5 GiB in one PUT

// Object attributes kept as extended attributes of the object's file, besides
// objstore::kMd5Xattr (the ETag: MD5 hex, or "<hex>-<parts>") and kContentTypeXattr.
inline constexpr char kHeadersXattr[] = "user.millrace.headers";    // "name:value\n" lines
inline constexpr char kChecksumXattr[] = "user.millrace.checksum";  // "CRC32 <base64>"

enum class ChecksumAlgorithm { kNone, kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };
inline constexpr ChecksumAlgorithm kChecksumAlgorithms[] = {
    ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
    ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256};

// "CRC32" (any case) -> kCrc32; nullopt when unknown.
std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name);
std::string_view ChecksumName(ChecksumAlgorithm a);   // "CRC32"
std::string ChecksumHeaderName(ChecksumAlgorithm a);  // "x-amz-checksum-crc32"

// An incremental checksum; Final gives the big-endian digest, base64-encoded as S3 sends it.
class Checksum {
 public:
  explicit Checksum(ChecksumAlgorithm a);
  ~Checksum();
  Checksum(const Checksum&) = delete;
  Checksum& operator=(const Checksum&) = delete;
  void Update(std::string_view data);
  std::string FinalBase64();

 private:
  ChecksumAlgorithm a_;
  uint32_t crc32_ = 0;
  uint64_t crc64_ = 0;
  void* md_ = nullptr;  // EVP_MD_CTX for SHA1 / SHA256
};

struct S3Error {
  int status = 400;
  std::string code;
  std::string message;
};

// What an object's file carries besides its bytes (upload.h's extended attributes).
struct ObjectAttrs {
  std::string etag;          // MD5 hex, or "<hex>-<parts>"
  std::string content_type;  // "" when none
  std::string header_lines;  // Upload::StoredHeaders
  std::string checksum;      // "CRC32 <base64>", or ""
};

// Makes the staging file `path` (open as `fd`) the file `leaf` in the directory `dir_fd`,
// replacing one there: fsync, attributes, rename, fsync of the directory.
Status CommitStagedFile(int fd, const std::string& path, int dir_fd, const std::string& leaf,
                        const ObjectAttrs& attrs);

class Upload : public http::BodyConsumer {
 public:
  // Plans the upload of a request whose signature was verified (`id`; nullopt when the
  // server runs without authentication) into a new file in `staging_dir`. An upload that
  // cannot start (a malformed header, a full disk) is returned failed: it drops the body
  // and Finish reports why.
  // `sha256_checked`: a hex x-amz-content-sha256 was already compared with the whole body
  // (auth::Verify of a buffered request), so it is not computed again.
  static std::shared_ptr<Upload> Start(const http::Request& head,
                                       const std::optional<auth::VerifiedIdentity>& id,
                                       const std::string& staging_dir, bool sha256_checked = false);
  // One that refuses the whole request with `error` without writing anything.
  static std::shared_ptr<Upload> Refused(S3Error error);
  ~Upload() override;

  void Consume(std::string_view piece) override;
  // After the last byte: every check. nullopt when the payload is good.
  std::optional<S3Error> Finish();

  uint64_t size() const { return size_; }
  const std::string& md5_hex() const { return md5_hex_; }  // after Finish
  ChecksumAlgorithm checksum_algorithm() const { return algorithm_; }
  const std::string& checksum() const { return checksum_; }  // base64, after Finish
  // The user metadata and stored headers the request set (x-amz-meta-*, Content-Disposition,
  // ...), as "name:value\n" lines, and its Content-Type ("" when none).
  static std::optional<S3Error> StoredHeaders(const http::Request& head, std::string* lines);

  // Makes the payload the file `leaf` in the directory `dir_fd` (CommitStagedFile), with
  // `attrs` (their etag defaults to the MD5, their checksum to the one computed). After
  // Finish returned nullopt.
  Status Commit(int dir_fd, const std::string& leaf, ObjectAttrs attrs);

 private:
  Upload() = default;
  void Fail(int status, std::string code, std::string message);
  void Payload(std::string_view data);  // decoded bytes
  void Flush();
  bool ChunkLine(std::string_view line);
  bool TrailerLine(std::string_view line);
  std::string ChunkSignature(std::string_view data_sha256_hex) const;

  enum class Framing { kPlain, kChunkedSigned, kChunkedUnsigned };
  enum class State { kSizeLine, kData, kDataEnd, kTrailers, kDone };

  std::optional<S3Error> error_;
  Framing framing_ = Framing::kPlain;
  State state_ = State::kSizeLine;
  bool trailer_expected_ = false;
  bool trailer_signed_ = false;
  std::string line_;  // a chunk-size or trailer line in progress
  uint64_t chunk_left_ = 0;
  std::string chunk_signature_;  // the current chunk's, as sent
  void* chunk_sha_ = nullptr;    // EVP_MD_CTX over the current chunk's data
  std::string prev_signature_;   // the seed, then each chunk's
  std::optional<auth::VerifiedIdentity> id_;
  std::map<std::string, std::string> trailers_;  // lower-case name -> value
  std::string trailer_text_;                     // the trailers as signed

  std::optional<uint64_t> decoded_length_;  // x-amz-decoded-content-length
  std::string content_md5_;                 // Content-MD5, base64 as sent
  std::string content_sha256_;              // a hex x-amz-content-sha256
  ChecksumAlgorithm algorithm_ = ChecksumAlgorithm::kNone;
  std::string expected_checksum_;  // from a header; or from the trailer at the end
  std::unique_ptr<Checksum> checksum_calc_;
  void* md5_ = nullptr;     // EVP_MD_CTX
  void* sha256_ = nullptr;  // EVP_MD_CTX, when content_sha256_ is set

  std::string path_;  // the staging file
  int fd_ = -1;
  std::string buf_;  // payload not yet written
  uint64_t size_ = 0;
  bool finished_ = false;
  bool committed_ = false;
  std::string md5_hex_;
  std::string checksum_;
};

}  // namespace millrace::s3
