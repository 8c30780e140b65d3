#include "s3/upload.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "common/crc32c.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/logging.h"
#include "objstore/object_store.h"

namespace millrace::s3 {

namespace {

constexpr size_t kWriteBufferBytes = 256 * 1024;
constexpr size_t kMaxChunkLineBytes = 4096;
constexpr size_t kMaxTrailerBytes = 16 * 1024;
constexpr size_t kMaxStoredHeaderBytes = 2048;  // S3: user metadata up to 2 KB
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// CRC-64/NVME: reflected, polynomial 0xad93d23594c93659, initial and final XOR all ones.
uint64_t Crc64NvmeExtend(uint64_t crc, std::string_view data) {
  static const auto table = [] {
    std::array<uint64_t, 256> t{};
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x9a6c9329ac4bc9b5ull : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

EVP_MD_CTX* NewDigest(const EVP_MD* md) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx && EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

std::string FinalDigest(void* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

}  // namespace

std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "crc32") return ChecksumAlgorithm::kCrc32;
  if (n == "crc32c") return ChecksumAlgorithm::kCrc32c;
  if (n == "crc64nvme") return ChecksumAlgorithm::kCrc64Nvme;
  if (n == "sha1") return ChecksumAlgorithm::kSha1;
  if (n == "sha256") return ChecksumAlgorithm::kSha256;
  return std::nullopt;
}

std::string_view ChecksumName(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32:
      return "CRC32";
    case ChecksumAlgorithm::kCrc32c:
      return "CRC32C";
    case ChecksumAlgorithm::kCrc64Nvme:
      return "CRC64NVME";
    case ChecksumAlgorithm::kSha1:
      return "SHA1";
    case ChecksumAlgorithm::kSha256:
      return "SHA256";
    case ChecksumAlgorithm::kNone:
      break;
  }
  return "";
}

std::string ChecksumHeaderName(ChecksumAlgorithm a) {
  return "x-amz-checksum-" + Lower(ChecksumName(a));
}

Checksum::Checksum(ChecksumAlgorithm a) : a_(a) {
  if (a == ChecksumAlgorithm::kSha1) md_ = NewDigest(EVP_sha1());
  if (a == ChecksumAlgorithm::kSha256) md_ = NewDigest(EVP_sha256());
}

Checksum::~Checksum() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_)); }

void Checksum::Update(std::string_view data) {
  switch (a_) {
    case ChecksumAlgorithm::kCrc32:
      // zlib's crc32 takes a uInt length: feed large pieces in parts.
      for (size_t off = 0; off < data.size(); off += 1u << 30) {
        size_t n = std::min<size_t>(data.size() - off, 1u << 30);
        crc32_ = static_cast<uint32_t>(::crc32(
            crc32_, reinterpret_cast<const Bytef*>(data.data() + off), static_cast<uInt>(n)));
      }
      break;
    case ChecksumAlgorithm::kCrc32c:
      crc32_ = crc32c::Extend(crc32_, data.data(), data.size());
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc64_ = Crc64NvmeExtend(crc64_, data);
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      if (md_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md_), data.data(), data.size());
      break;
    case ChecksumAlgorithm::kNone:
      break;
  }
}

std::string Checksum::FinalBase64() {
  std::string raw;
  if (a_ == ChecksumAlgorithm::kCrc32 || a_ == ChecksumAlgorithm::kCrc32c) {
    for (int shift = 24; shift >= 0; shift -= 8) raw.push_back(static_cast<char>(crc32_ >> shift));
  } else if (a_ == ChecksumAlgorithm::kCrc64Nvme) {
    for (int shift = 56; shift >= 0; shift -= 8) raw.push_back(static_cast<char>(crc64_ >> shift));
  } else if (md_) {
    raw = FinalDigest(md_);
  }
  return Base64Encode(raw);
}

std::shared_ptr<Upload> Upload::Refused(S3Error error) {
  std::shared_ptr<Upload> u(new Upload());
  u->error_ = std::move(error);
  return u;
}

std::shared_ptr<Upload> Upload::Start(const http::Request& head,
                                      const std::optional<auth::VerifiedIdentity>& id,
                                      const std::string& staging_dir, bool sha256_checked) {
  std::shared_ptr<Upload> u(new Upload());
  u->id_ = id;
  u->md5_ = NewDigest(EVP_md5());
  const std::string payload = std::string(head.HeaderOr("x-amz-content-sha256", ""));
  if (payload == auth::kStreamingPayload ||
      payload == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    if (!id) {
      u->framing_ = Framing::kChunkedUnsigned;  // no key to check the chunks with
    } else {
      u->framing_ = Framing::kChunkedSigned;
      u->prev_signature_ = id->signature;
      u->chunk_sha_ = NewDigest(EVP_sha256());
    }
    u->trailer_expected_ = payload.ends_with("-TRAILER");
    u->trailer_signed_ = u->trailer_expected_ && id.has_value();
  } else if (payload == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    u->framing_ = Framing::kChunkedUnsigned;
    u->trailer_expected_ = true;
  } else if (payload.starts_with("STREAMING-")) {
    u->Fail(400, "InvalidArgument",
            "x-amz-content-sha256 " + payload.substr(0, 64) +
                " is not a payload signing method Millrace supports");
    return u;
  } else if (IsHex64(payload) && !sha256_checked) {
    u->content_sha256_ = Lower(payload);
    u->sha256_ = NewDigest(EVP_sha256());
  }
  if (const std::string* d = head.FindHeader("x-amz-decoded-content-length")) {
    if (d->empty() || d->size() > 19 || d->find_first_not_of("0123456789") != std::string::npos) {
      u->Fail(400, "InvalidArgument", "x-amz-decoded-content-length is not a number");
      return u;
    }
    u->decoded_length_ = std::stoull(*d);
  } else if (u->framing_ != Framing::kPlain && !head.FindHeader("transfer-encoding")) {
    u->Fail(411, "MissingContentLength",
            "You must provide the Content-Length HTTP header (x-amz-decoded-content-length "
            "for an aws-chunked body).");
    return u;
  }
  const uint64_t announced = u->decoded_length_.value_or(0);
  if (announced > kMaxObjectBytes) {
    u->Fail(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size");
    return u;
  }
  if (const std::string* m = head.FindHeader("content-md5")) {
    std::string raw;
    if (!Base64Decode(*m, &raw) || raw.size() != 16) {
      u->Fail(400, "InvalidDigest", "The Content-MD5 you specified was invalid.");
      return u;
    }
    u->content_md5_ = *m;
  }

  // The checksum: named by the SDK's header or the trailer, or given as a header value.
  std::string alg_name(head.HeaderOr("x-amz-sdk-checksum-algorithm", ""));
  if (const std::string* t = head.FindHeader("x-amz-trailer")) {
    if (!u->trailer_expected_) {
      u->Fail(400, "InvalidRequest",
              "x-amz-trailer needs a STREAMING-...-TRAILER x-amz-content-sha256");
      return u;
    }
    std::string name = Lower(*t);
    if (!name.starts_with("x-amz-checksum-") ||
        !ParseChecksumAlgorithm(name.substr(15)).has_value()) {
      u->Fail(400, "InvalidRequest",
              "x-amz-trailer names no checksum Millrace knows: " + Abbreviate(*t, 64));
      return u;
    }
    alg_name = name.substr(15);
  } else if (u->trailer_expected_) {
    u->Fail(400, "InvalidRequest", "a STREAMING-...-TRAILER body needs an x-amz-trailer header");
    return u;
  }
  for (ChecksumAlgorithm a : kChecksumAlgorithms)
    if (const std::string* v = head.FindHeader(ChecksumHeaderName(a))) {
      if (u->algorithm_ != ChecksumAlgorithm::kNone) {
        u->Fail(400, "InvalidRequest", "Expecting a single x-amz-checksum- header");
        return u;
      }
      u->algorithm_ = a;
      u->expected_checksum_ = *v;
    }
  if (!alg_name.empty()) {
    auto a = ParseChecksumAlgorithm(alg_name);
    if (!a) {
      u->Fail(400, "InvalidRequest",
              "Checksum algorithm " + Abbreviate(alg_name, 16) + " is not supported");
      return u;
    }
    if (u->algorithm_ != ChecksumAlgorithm::kNone && u->algorithm_ != *a) {
      u->Fail(400, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
      return u;
    }
    u->algorithm_ = *a;
  }
  if (u->algorithm_ != ChecksumAlgorithm::kNone)
    u->checksum_calc_ = std::make_unique<Checksum>(u->algorithm_);

  // The staging file: a random name (O_EXCL), removed unless committed; a crash leaves it
  // for the sweep at the next start.
  unsigned char rnd[12];
  crypto::RandomBytes(rnd, sizeof rnd);
  u->path_ = staging_dir + "/" + HexEncode(rnd, sizeof rnd) + ".upload";
  u->fd_ = ::open(u->path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (u->fd_ < 0) {
    const int err = errno;
    u->path_.clear();
    u->Fail(err == ENOSPC ? 507 : 500, "InternalError",
            std::string("cannot stage the upload: ") + std::strerror(err));
    return u;
  }
  return u;
}

Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md5_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(sha256_));
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(chunk_sha_));
}

void Upload::Fail(int status, std::string code, std::string message) {
  if (error_) return;
  error_ = S3Error{status, std::move(code), std::move(message)};
  std::string().swap(buf_);
}

void Upload::Payload(std::string_view data) {
  if (error_ || data.empty()) return;
  size_ += data.size();
  if (size_ > kMaxObjectBytes || (decoded_length_ && size_ > *decoded_length_)) {
    Fail(400, size_ > kMaxObjectBytes ? "EntityTooLarge" : "IncompleteBody",
         size_ > kMaxObjectBytes ? "Your proposed upload exceeds the maximum allowed size"
                                 : "The body is longer than its x-amz-decoded-content-length");
    return;
  }
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(md5_), data.data(), data.size());
  if (sha256_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(sha256_), data.data(), data.size());
  if (checksum_calc_) checksum_calc_->Update(data);
  if (buf_.size() + data.size() > kWriteBufferBytes) Flush();
  if (data.size() >= kWriteBufferBytes) {
    buf_.assign(data);
    Flush();
  } else {
    buf_.append(data);
  }
}

void Upload::Flush() {
  size_t off = 0;
  while (!error_ && off < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      Fail(err == ENOSPC ? 507 : 500, "InternalError",
           std::string("cannot write the upload: ") + std::strerror(err));
      return;
    }
    off += static_cast<size_t>(n);
  }
  buf_.clear();
}

std::string Upload::ChunkSignature(std::string_view data_sha256_hex) const {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + id_->amz_date + "\n" + id_->scope + "\n" +
                    prev_signature_ + "\n" + std::string(kEmptySha256) + "\n" +
                    std::string(data_sha256_hex);
  return auth::Signature(id_->signing_key, sts);
}

void Upload::Consume(std::string_view piece) {
  if (error_ || finished_) return;
  if (framing_ == Framing::kPlain) return Payload(piece);
  size_t pos = 0;
  while (pos < piece.size() && !error_) {
    if (state_ == State::kData) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, piece.size() - pos));
      std::string_view data = piece.substr(pos, take);
      if (chunk_sha_) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(chunk_sha_), data.data(), take);
      Payload(data);
      pos += take;
      chunk_left_ -= take;
      if (chunk_left_ == 0) {
        if (framing_ == Framing::kChunkedSigned) {
          const std::string expected = ChunkSignature(HexEncode(FinalDigest(chunk_sha_)));
          EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(chunk_sha_), EVP_sha256(), nullptr);
          if (!crypto::ConstantTimeEquals(expected, chunk_signature_))
            return Fail(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature "
                        "you provided (a chunk's signature).");
          prev_signature_ = expected;
        }
        state_ = State::kDataEnd;
      }
      continue;
    }
    if (state_ == State::kDone)
      return Fail(400, "IncompleteBody", "There are bytes after the last chunk of the body");
    // A line: a chunk size, the CRLF after a chunk's data, or a trailer.
    size_t nl = piece.find('\n', pos);
    size_t end = nl == std::string_view::npos ? piece.size() : nl;
    const size_t limit = state_ == State::kTrailers ? kMaxTrailerBytes : kMaxChunkLineBytes;
    if (line_.size() + (end - pos) > limit)
      return Fail(400, "IncompleteBody", "A chunk line of the body is too long");
    line_.append(piece.substr(pos, end - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    if (line_.empty() || line_.back() != '\r')
      return Fail(400, "IncompleteBody", "A chunk line of the body does not end in CRLF");
    line_.pop_back();
    std::string line = std::move(line_);
    line_.clear();
    if (state_ == State::kDataEnd) {
      if (!line.empty()) return Fail(400, "IncompleteBody", "A chunk is longer than its size");
      state_ = State::kSizeLine;
    } else if (state_ == State::kSizeLine) {
      if (!ChunkLine(line)) return;
    } else if (!TrailerLine(line)) {
      return;
    }
  }
}

bool Upload::ChunkLine(std::string_view line) {
  size_t semi = line.find(';');
  std::string_view hex = line.substr(0, semi);
  if (hex.empty() || hex.size() > 16 ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
    Fail(400, "IncompleteBody", "A chunk size of the body is malformed");
    return false;
  }
  chunk_left_ = std::stoull(std::string(hex), nullptr, 16);
  chunk_signature_.clear();
  if (semi != std::string_view::npos) {
    std::string_view ext = line.substr(semi + 1);
    if (ext.starts_with("chunk-signature=")) chunk_signature_ = ext.substr(16);
  }
  if (framing_ == Framing::kChunkedSigned && !IsHex64(chunk_signature_)) {
    Fail(403, "SignatureDoesNotMatch", "A chunk of the body has no chunk-signature");
    return false;
  }
  if (chunk_left_ > 0) {
    state_ = State::kData;
    return true;
  }
  // The last chunk (signed over no data); then trailers, or the empty line.
  if (framing_ == Framing::kChunkedSigned) {
    const std::string expected = ChunkSignature(kEmptySha256);
    if (!crypto::ConstantTimeEquals(expected, chunk_signature_)) {
      Fail(403, "SignatureDoesNotMatch",
           "The request signature we calculated does not match the signature you provided "
           "(the last chunk's signature).");
      return false;
    }
    prev_signature_ = expected;
  }
  state_ = State::kTrailers;
  return true;
}

bool Upload::TrailerLine(std::string_view line) {
  if (line.empty()) {
    state_ = State::kDone;
    return true;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    Fail(400, "MalformedTrailerError",
         "The request contained trailing data that was not well-formed");
    return false;
  }
  std::string name = Lower(line.substr(0, colon));
  std::string value(line.substr(colon + 1));
  while (!value.empty() && value.front() == ' ') value.erase(value.begin());
  if (name == "x-amz-trailer-signature") {
    if (!trailer_signed_) return true;
    std::string sts = "AWS4-HMAC-SHA256-TRAILER\n" + id_->amz_date + "\n" + id_->scope + "\n" +
                      prev_signature_ + "\n" + crypto::Sha256Hex(trailer_text_);
    if (!crypto::ConstantTimeEquals(auth::Signature(id_->signing_key, sts), value)) {
      Fail(403, "SignatureDoesNotMatch",
           "The request signature we calculated does not match the signature you provided "
           "(the trailer's signature).");
      return false;
    }
    trailer_signed_ = false;  // checked
    return true;
  }
  trailer_text_ += name + ":" + value + "\n";
  trailers_[name] = value;
  return true;
}

std::optional<S3Error> Upload::Finish() {
  if (!finished_ && !error_) {
    finished_ = true;
    if (framing_ != Framing::kPlain && state_ != State::kDone)
      Fail(400, "IncompleteBody",
           "You did not provide the number of bytes specified by the Content-Length HTTP "
           "header (the aws-chunked body ends before its last chunk)");
    else if (decoded_length_ && size_ != *decoded_length_)
      Fail(400, "IncompleteBody",
           "You did not provide the number of bytes specified by the "
           "x-amz-decoded-content-length HTTP header");
    else if (trailer_signed_ && trailer_expected_)
      Fail(403, "SignatureDoesNotMatch", "The trailer of the body has no x-amz-trailer-signature");
  }
  if (error_) return error_;
  Flush();
  if (error_) return error_;
  const std::string md5 = FinalDigest(md5_);
  md5_hex_ = HexEncode(md5);
  if (!content_md5_.empty() && Base64Encode(md5) != content_md5_)
    Fail(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
  else if (sha256_ && HexEncode(FinalDigest(sha256_)) != content_sha256_)
    Fail(400, "XAmzContentSHA256Mismatch",
         "The provided 'x-amz-content-sha256' header does not match what was computed.");
  else if (checksum_calc_) {
    checksum_ = checksum_calc_->FinalBase64();
    std::string expected = expected_checksum_;
    if (trailer_expected_) {
      auto it = trailers_.find(ChecksumHeaderName(algorithm_));
      if (it == trailers_.end())
        Fail(400, "InvalidRequest",
             "The body's trailer has no " + ChecksumHeaderName(algorithm_) + " value");
      else
        expected = it->second;
    }
    if (!error_ && !expected.empty() && expected != checksum_)
      Fail(400, "BadDigest",
           "The " + std::string(ChecksumName(algorithm_)) +
               " you specified did not match the calculated checksum.");
  }
  return error_;
}

std::optional<S3Error> Upload::StoredHeaders(const http::Request& head, std::string* lines) {
  lines->clear();
  size_t meta_bytes = 0;
  for (const http::Header& h : head.headers) {
    std::string name = Lower(h.name);
    std::string value = h.value;
    if (name == "content-encoding") {
      // aws-chunked is how this request was framed, not how the object is encoded.
      std::string kept;
      size_t start = 0;
      while (start <= value.size()) {
        size_t comma = value.find(',', start);
        std::string item = value.substr(start, comma == std::string::npos ? comma : comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (!item.empty() && Lower(item) != "aws-chunked") kept += (kept.empty() ? "" : ",") + item;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (kept.empty()) continue;
      value = kept;
    } else if (name.starts_with("x-amz-meta-")) {
      meta_bytes += name.size() - 11 + value.size();
    } else if (name != "content-disposition" && name != "content-language" &&
               name != "cache-control" && name != "expires" &&
               name != "x-amz-website-redirect-location") {
      continue;
    }
    if (value.find('\n') != std::string::npos || value.find('\r') != std::string::npos)
      return S3Error{400, "InvalidArgument", "A header value holds a line break"};
    *lines += name + ":" + value + "\n";
  }
  if (meta_bytes > kMaxStoredHeaderBytes)
    return S3Error{400, "MetadataTooLarge",
                   "Your metadata headers exceed the maximum allowed metadata size"};
  if (lines->size() > 3 * kMaxStoredHeaderBytes)
    return S3Error{400, "InvalidArgument", "The object's headers are too large"};
  return std::nullopt;
}

Status CommitStagedFile(int fd, const std::string& path, int dir_fd, const std::string& leaf,
                        const ObjectAttrs& attrs) {
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync " + path);
  auto set = [fd](const char* name, const std::string& value) -> Status {
    if (::fsetxattr(fd, name, value.data(), value.size(), 0) != 0)
      return Status::FromErrno(errno, std::string("set ") + name);
    return Status::Ok();
  };
  MILLRACE_RETURN_IF_ERROR(set(objstore::kMd5Xattr, attrs.etag));
  if (!attrs.content_type.empty())
    MILLRACE_RETURN_IF_ERROR(set(objstore::kContentTypeXattr, attrs.content_type));
  if (!attrs.header_lines.empty()) MILLRACE_RETURN_IF_ERROR(set(kHeadersXattr, attrs.header_lines));
  if (!attrs.checksum.empty()) MILLRACE_RETURN_IF_ERROR(set(kChecksumXattr, attrs.checksum));
  if (::renameat(AT_FDCWD, path.c_str(), dir_fd, leaf.c_str()) != 0)
    return Status::FromErrno(errno, "rename into " + leaf);
  if (::fsync(dir_fd) != 0) return Status::FromErrno(errno, "fsync of the directory of " + leaf);
  return Status::Ok();
}

Status Upload::Commit(int dir_fd, const std::string& leaf, ObjectAttrs attrs) {
  if (!finished_ || error_ || fd_ < 0) return Status::Internal("commit of an unfinished upload");
  if (attrs.etag.empty()) attrs.etag = md5_hex_;
  if (attrs.checksum.empty() && !checksum_.empty())
    attrs.checksum = std::string(ChecksumName(algorithm_)) + " " + checksum_;
  Status st = CommitStagedFile(fd_, path_, dir_fd, leaf, attrs);
  // Once renamed the staging name is gone, whatever came after.
  if (st.ok() || ::access(path_.c_str(), F_OK) != 0) committed_ = true;
  return st;
}

}  // namespace millrace::s3
