#include "s3/service.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>

#include "auth/sigv4.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/logging.h"
#include "delivery/spec.h"
#include "objstore/object_store.h"
#include "s3/listing.h"
#include "s3/xml.h"

namespace millrace::s3 {

namespace {

constexpr std::string_view kService = "s3";
constexpr size_t kMaxQueued = 1024;
constexpr size_t kMaxKeyBytes = 1024;  // S3's limit on a key's UTF-8 bytes

std::string RequestId() {
  unsigned char bytes[8];
  crypto::RandomBytes(bytes, sizeof bytes);
  return HexEncode(bytes, sizeof bytes);
}

std::string HttpDate(int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string IsoMs(int64_t ms) {
  std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// A local dataset as a bucket.
struct Bucket {
  std::string name;     // the bucket's
  std::string dataset;  // the dataset's
  int64_t created_ms = 0;
};

}  // namespace

// The local datasets as buckets. Every request reads the catalog's dataset rows (so a new
// or deleted dataset counts at once), but a row's spec is parsed only when its version is
// new: a GetObject among a thousand datasets does not parse a thousand documents.
class BucketCache {
 public:
  explicit BucketCache(catalog::Catalog* catalog) : catalog_(catalog) {}

  Result<std::vector<Bucket>> All() {
    auto rows = catalog_->ListDocs(catalog::DocKind::kDataset);
    if (!rows.ok()) return rows.status();
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, Entry> next;
    std::vector<Bucket> out;
    for (const auto& row : *rows) {
      auto it = parsed_.find(row.name);
      Entry e;
      if (it != parsed_.end() && it->second.version == row.version) {
        e = std::move(it->second);
      } else {
        e.version = row.version;
        auto spec = delivery::ParseDataset(row.spec);
        if (spec.ok() && spec->target.type == "local")
          e.bucket = Bucket{delivery::BucketOf(spec->name), spec->name, row.created_ms};
      }
      if (e.bucket) out.push_back(*e.bucket);
      next[row.name] = std::move(e);
    }
    parsed_.swap(next);
    std::sort(out.begin(), out.end(),
              [](const Bucket& a, const Bucket& b) { return a.name < b.name; });
    return out;
  }

 private:
  struct Entry {
    int64_t version = 0;
    std::optional<Bucket> bucket;  // none: not a local dataset
  };
  catalog::Catalog* const catalog_;
  std::mutex mu_;
  std::map<std::string, Entry> parsed_;  // GUARDED_BY(mu_), by dataset name
};

namespace {

class Handler {
 public:
  Handler(BucketCache* buckets, const ServiceOptions& options, const http::Request& req)
      : buckets_(buckets), options_(options), req_(req), request_id_(RequestId()) {}

  // A bucket-read key: only these buckets, only reads (every operation served today reads).
  void LimitTo(std::vector<std::string> buckets) { allowed_ = std::move(buckets); }

  http::Response Serve() {
    // Path-style: "/", "/bucket", "/bucket/", "/bucket/key".
    std::string_view path = req_.path;
    if (path.empty() || path[0] != '/')
      return Error(400, "InvalidURI", "Couldn't parse the specified URI.");
    path.remove_prefix(1);
    size_t slash = path.find('/');
    // Echoed in errors only abbreviated (a bucket name is at most 63 bytes; a path can be
    // much longer).
    const std::string bucket = auth::UriDecode(path.substr(0, slash));
    const bool has_key = slash != std::string_view::npos && slash + 1 < path.size();
    const std::string key = has_key ? auth::UriDecode(path.substr(slash + 1)) : "";
    const std::string& m = req_.method;
    if (bucket.empty()) {
      if (m == "GET") return ListBuckets();
      return NotImplemented(m + " /");
    }
    if (allowed_ && (std::find(allowed_->begin(), allowed_->end(), bucket) == allowed_->end() ||
                     (m != "GET" && m != "HEAD")))
      return Error(403, "AccessDenied", "Access Denied");
    auto found = FindBucket(bucket);
    if (!found.ok()) return Internal(found.status());
    if (!has_key) {
      if (m == "HEAD")
        return *found ? Ok()
                      : Error(404, "NoSuchBucket", "The specified bucket does not exist.",
                              "BucketName", Abbreviate(bucket, 64));
      if (m != "GET")
        return NotImplemented(m == "PUT"      ? "CreateBucket"
                              : m == "DELETE" ? "DeleteBucket"
                                              : m + " on a bucket");
      if (!*found)
        return Error(404, "NoSuchBucket", "The specified bucket does not exist.", "BucketName",
                     Abbreviate(bucket, 64));
      if (auth::QueryValue(req_.query, "location")) return Location();
      for (const char* sub : {"uploads", "lifecycle", "policy", "acl", "cors", "tagging",
                              "versioning", "encryption", "website", "logging", "notification"})
        if (auth::QueryValue(req_.query, sub)) return NotImplemented(std::string("GET ?") + sub);
      // ListObjectVersions of an unversioned bucket: every object once, version "null".
      if (auth::QueryValue(req_.query, "versions")) return List(**found, kVersions);
      return List(**found,
                  auth::QueryValue(req_.query, "list-type").value_or("") == "2" ? kV2 : kV1);
    }
    if (m != "GET" && m != "HEAD")
      return NotImplemented(
          m == "PUT"      ? (req_.FindHeader("x-amz-copy-source") ? "CopyObject" : "PutObject")
          : m == "DELETE" ? "DeleteObject"
                          : m + " on an object");
    if (!*found)
      return Error(404, "NoSuchBucket", "The specified bucket does not exist.", "BucketName",
                   Abbreviate(bucket, 64));
    return GetObject(**found, key, m == "HEAD");
  }

 private:
  http::Response Ok() {
    http::Response r;
    r.SetHeader("x-amz-request-id", request_id_);
    return r;
  }

  http::Response Xml(int status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.SetHeader("Content-Type", "application/xml");
    r.SetHeader("x-amz-request-id", request_id_);
    return r;
  }

 public:
  http::Response Error(int status, std::string_view code, std::string_view message,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
    return Xml(status, ErrorXml(code, message, extra_name, extra_value, request_id_));
  }

 private:
  http::Response NotImplemented(const std::string& what) {
    return Error(501, "NotImplemented",
                 "A header or operation you provided implies functionality that is not "
                 "implemented (" +
                     what.substr(0, 64) + " is not supported by Millrace yet)");
  }

  http::Response Internal(const Status& st) {
    LOG(kWarn) << "s3: " << st.ToString();
    return Error(500, "InternalError", "We encountered an internal error. Please try again.");
  }

  Result<std::vector<Bucket>> Buckets() { return buckets_->All(); }

  Result<std::optional<Bucket>> FindBucket(const std::string& name) {
    auto all = Buckets();
    if (!all.ok()) return all.status();
    for (auto& b : *all)
      if (b.name == name) return std::optional<Bucket>(std::move(b));
    return std::optional<Bucket>();
  }

  std::string Root(const Bucket& b) const { return options_.data_dir + "/datasets/" + b.dataset; }

  http::Response ListBuckets() {
    auto all = Buckets();
    if (!all.ok()) return Internal(all.status());
    XmlWriter x("ListAllMyBucketsResult");
    x.Open("Owner");
    x.Element("ID", "millrace");
    x.Element("DisplayName", "millrace");
    x.Close("Owner");
    x.Open("Buckets");
    for (const auto& b : *all) {
      if (allowed_ && std::find(allowed_->begin(), allowed_->end(), b.name) == allowed_->end())
        continue;  // a bucket-read key sees its own buckets only
      x.Open("Bucket");
      x.Element("Name", b.name);
      x.Element("CreationDate", IsoMs(b.created_ms));
      x.Close("Bucket");
    }
    x.Close("Buckets");
    return Xml(200, x.Finish());
  }

  http::Response Location() {
    // us-east-1 is answered as an empty constraint, as AWS does.
    XmlWriter x("LocationConstraint");
    if (options_.region != "us-east-1") x.Text(options_.region);
    return Xml(200, x.Finish());
  }

  enum ListKind { kV1, kV2, kVersions };
  http::Response List(const Bucket& b, ListKind kind) {
    const bool v2 = kind == kV2, versions = kind == kVersions;
    ListRequest lr;
    lr.prefix = auth::QueryValue(req_.query, "prefix").value_or("");
    lr.delimiter = auth::QueryValue(req_.query, "delimiter").value_or("");
    const std::string max_keys_text = auth::QueryValue(req_.query, "max-keys").value_or("1000");
    char* end = nullptr;
    long mk = std::strtol(max_keys_text.c_str(), &end, 10);
    if (max_keys_text.empty() || *end != '\0' || mk < 0)
      return Error(400, "InvalidArgument",
                   "Provided max-keys not an integer or within integer range", "ArgumentName",
                   "max-keys");
    lr.max_keys = static_cast<int>(std::min<long>(mk, 1000));
    const std::optional<std::string> encoding = auth::QueryValue(req_.query, "encoding-type");
    if (encoding && *encoding != "url")
      return Error(400, "InvalidArgument", "Invalid Encoding Method specified in Request",
                   "ArgumentName", "encoding-type");
    std::optional<std::string> token, start_after, marker;
    if (v2) {
      token = auth::QueryValue(req_.query, "continuation-token");
      start_after = auth::QueryValue(req_.query, "start-after");
      if (token) {
        std::string raw;
        if (!Base64Decode(*token, &raw) || raw.size() < 2 || (raw[0] != 'k' && raw[0] != 'p'))
          return Error(400, "InvalidArgument", "The continuation token provided is incorrect",
                       "ArgumentName", "continuation-token");
        lr.after = raw.substr(1);
        lr.after_is_prefix = raw[0] == 'p';
      } else if (start_after) {
        lr.after = *start_after;
      }
    } else {
      marker = auth::QueryValue(req_.query, versions ? "key-marker" : "marker");
      if (marker) {
        lr.after = *marker;
        lr.after_is_prefix = !lr.delimiter.empty() && marker->ends_with(lr.delimiter);
      }
    }
    ListResult res;
    if (lr.max_keys > 0) {
      auto listed = ListDirectory(Root(b), lr);
      if (!listed.ok()) return Internal(listed.status());
      res = std::move(*listed);
    }
    const bool url = encoding.has_value();
    auto enc = [url](const std::string& s) { return url ? auth::UriEncode(s, true) : s; };
    XmlWriter x(versions ? "ListVersionsResult" : "ListBucketResult");
    x.Element("Name", b.name);
    x.Element("Prefix", enc(lr.prefix));
    if (versions) {
      x.Element("KeyMarker", enc(marker.value_or("")));
      x.Element("VersionIdMarker", "");
    } else if (v2) {
      if (token) x.Element("ContinuationToken", *token);
      if (start_after) x.Element("StartAfter", enc(*start_after));
      x.Element("KeyCount", std::to_string(res.objects.size() + res.common_prefixes.size()));
    } else {
      x.Element("Marker", enc(marker.value_or("")));
    }
    x.Element("MaxKeys", std::to_string(lr.max_keys));
    if (!lr.delimiter.empty()) x.Element("Delimiter", enc(lr.delimiter));
    if (url) x.Element("EncodingType", "url");
    x.Element("IsTruncated", res.truncated ? "true" : "false");
    if (res.truncated) {
      if (v2) {
        x.Element("NextContinuationToken",
                  Base64Encode(std::string(res.last_is_prefix ? "p" : "k") + res.last));
      } else if (versions) {
        x.Element("NextKeyMarker", enc(res.last));
        x.Element("NextVersionIdMarker", "null");
      } else if (!lr.delimiter.empty()) {
        x.Element("NextMarker", enc(res.last));
      }
    }
    const bool owner = !v2 || auth::QueryValue(req_.query, "fetch-owner").value_or("") == "true";
    for (const auto& o : res.objects) {
      x.Open(versions ? "Version" : "Contents");
      x.Element("Key", enc(o.key));
      if (versions) {
        x.Element("VersionId", "null");
        x.Element("IsLatest", "true");
      }
      x.Element("LastModified", IsoMs(o.mtime_ms));
      std::string md5 = o.md5;
      if (md5.empty()) {  // a file without its MD5 attribute: computed once, then kept
        auto etag = ETagOf(Root(b), o.key);
        if (etag.ok()) md5 = *etag;
      }
      x.Element("ETag", "\"" + md5 + "\"");
      x.Element("Size", std::to_string(o.size));
      if (owner) {
        x.Open("Owner");
        x.Element("ID", "millrace");
        x.Element("DisplayName", "millrace");
        x.Close("Owner");
      }
      x.Element("StorageClass", "STANDARD");
      x.Close(versions ? "Version" : "Contents");
    }
    for (const auto& p : res.common_prefixes) {
      x.Open("CommonPrefixes");
      x.Element("Prefix", enc(p));
      x.Close("CommonPrefixes");
    }
    return Xml(200, x.Finish());
  }

  // Opens `key` beneath `root`: no "..", no symbolic link, nothing outside it.
  static int OpenBeneath(const std::string& root, const std::string& key) {
    int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -1;
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    int fd = static_cast<int>(::syscall(SYS_openat2, dir, key.c_str(), &how, sizeof how));
    int err = errno;
    ::close(dir);
    errno = err;
    return fd;
  }

  // The object's MD5 (hex): from its xattr, else computed now (and kept in the xattr).
  static Result<std::string> ETagOfFd(int fd) {
    char xattr[64];
    ssize_t n = ::fgetxattr(fd, objstore::kMd5Xattr, xattr, sizeof xattr);
    if (n == 32) return std::string(xattr, 32);
    // Read a MiB at a time: an object of any size costs no more memory than that.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx);
      return Status::Internal("MD5 unavailable");
    }
    std::string buf(1 << 20, '\0');
    off_t off = 0;
    for (;;) {
      ssize_t r = ::pread(fd, buf.data(), buf.size(), off);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        EVP_MD_CTX_free(ctx);
        return Status::FromErrno(errno, "pread");
      }
      if (r == 0) break;
      EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(r));
      off += r;
    }
    unsigned char digest[16];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    std::string md5 = HexEncode(digest, 16);
    (void)::fsetxattr(fd, objstore::kMd5Xattr, md5.data(), md5.size(), 0);
    return md5;
  }

  static Result<std::string> ETagOf(const std::string& root, const std::string& key) {
    int fd = OpenBeneath(root, key);
    if (fd < 0) return Status::FromErrno(errno, "open " + key);
    auto e = ETagOfFd(fd);
    ::close(fd);
    return e;
  }

  http::Response GetObject(const Bucket& b, const std::string& key, bool head) {
    if (key.size() > kMaxKeyBytes) return Error(400, "KeyTooLongError", "Your key is too long");
    int fd = key.find('\0') == std::string::npos ? OpenBeneath(Root(b), key) : -1;
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || key.ends_with(".tmp") ||
        key.find("/.tmp-") != std::string::npos) {
      if (fd >= 0) ::close(fd);
      return Error(404, "NoSuchKey", "The specified key does not exist.", "Key", key);
    }
    struct Closer {
      int fd;
      ~Closer() {
        if (fd >= 0) ::close(fd);
      }
    } closer{fd};
    auto md5 = ETagOfFd(fd);
    if (!md5.ok()) return Internal(md5.status());
    const std::string etag = "\"" + *md5 + "\"";
    const int64_t mtime_ms = st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000;
    const uint64_t size = static_cast<uint64_t>(st.st_size);

    // Conditions, in AWS's order of precedence.
    auto matches = [&](const std::string& list) {
      if (list == "*") return true;
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (item == etag || item == *md5) return true;
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return false;
    };
    const std::string* if_match = req_.FindHeader("if-match");
    const std::string* if_none = req_.FindHeader("if-none-match");
    const std::string* if_mod = req_.FindHeader("if-modified-since");
    const std::string* if_unmod = req_.FindHeader("if-unmodified-since");
    const int64_t mtime_s = mtime_ms / 1000;
    if (if_match && !matches(*if_match))
      return Error(412, "PreconditionFailed",
                   "At least one of the pre-conditions you specified did not hold", "Condition",
                   "If-Match");
    if (!if_match && if_unmod) {
      auto t = auth::ParseHttpDate(*if_unmod);
      if (t && mtime_s > *t)
        return Error(412, "PreconditionFailed",
                     "At least one of the pre-conditions you specified did not hold", "Condition",
                     "If-Unmodified-Since");
    }
    auto not_modified = [&] {
      http::Response r = Ok();
      r.status = 304;
      r.SetHeader("ETag", etag);
      r.SetHeader("Last-Modified", HttpDate(mtime_ms));
      return r;
    };
    if (if_none && matches(*if_none)) return not_modified();
    if (!if_none && if_mod) {
      auto t = auth::ParseHttpDate(*if_mod);
      if (t && mtime_s <= *t) return not_modified();
    }

    // Range: one "bytes=a-b", "bytes=a-" or "bytes=-n"; anything else serves the whole.
    uint64_t first = 0, last = size == 0 ? 0 : size - 1;
    bool partial = false;
    if (const std::string* range = req_.FindHeader("range");
        range && range->starts_with("bytes=") && range->find(',') == std::string::npos) {
      std::string spec = range->substr(6);
      size_t dash = spec.find('-');
      auto num = [](const std::string& s, uint64_t* out) {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
          return false;
        *out = std::stoull(s);
        return true;
      };
      uint64_t a = 0, z = 0;
      if (dash != std::string::npos) {
        std::string lo = spec.substr(0, dash), hi = spec.substr(dash + 1);
        bool ok = true;
        if (lo.empty()) {  // the last n bytes
          ok = num(hi, &z) && z > 0;
          if (ok && size == 0) ok = false;
          if (ok) {
            first = z >= size ? 0 : size - z;
            partial = true;
          }
        } else if (num(lo, &a) && (hi.empty() || (num(hi, &z) && z >= a))) {
          if (a >= size)
            ok = false;
          else {
            first = a;
            if (!hi.empty()) last = std::min(z, size - 1);
            partial = true;
          }
        }
        if (!ok)
          return Error(416, "InvalidRange", "The requested range is not satisfiable",
                       "ActualObjectSize", std::to_string(size));
      }
    }
    const uint64_t length = size == 0 ? 0 : last - first + 1;
    http::Response r = Ok();
    r.status = partial ? 206 : 200;
    r.SetHeader("ETag", etag);
    r.SetHeader("Last-Modified", HttpDate(mtime_ms));
    r.SetHeader("Accept-Ranges", "bytes");
    char ct[256];
    ssize_t ctn = ::fgetxattr(fd, objstore::kContentTypeXattr, ct, sizeof ct);
    r.SetHeader("Content-Type",
                ctn > 0 ? std::string(ct, static_cast<size_t>(ctn)) : "binary/octet-stream");
    if (partial)
      r.SetHeader("Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(last) +
                                       "/" + std::to_string(size));
    if (head) {
      r.head_content_length = length;
      return r;
    }
    // The bytes go from the page cache to the socket (sendfile): nothing is read into
    // memory, whatever the object's size.
    r.file = std::make_shared<http::FileBody>(fd, first, length);
    closer.fd = -1;  // the body owns it now
    return r;
  }

  BucketCache* const buckets_;
  const ServiceOptions& options_;
  const http::Request& req_;
  const std::string request_id_;
  std::optional<std::vector<std::string>> allowed_;  // nullopt: every bucket (admin)
};

http::Response AuthFailure(const auth::AuthError& e, const std::string& request_id) {
  std::string code;
  int status = 403;
  switch (e.kind) {
    case auth::AuthErrorKind::kMissingAuthenticationToken:
      code = "AccessDenied";
      break;
    case auth::AuthErrorKind::kIncompleteSignature:
      code = "AuthorizationHeaderMalformed";
      status = 400;
      break;
    case auth::AuthErrorKind::kUnrecognizedClient:
      code = "InvalidAccessKeyId";
      break;
    case auth::AuthErrorKind::kInvalidSignature:
      code = e.message.starts_with("Signature expired") ||
                     e.message.find("is now later than") != std::string::npos
                 ? "RequestTimeTooSkewed"
                 : "SignatureDoesNotMatch";
      break;
    case auth::AuthErrorKind::kRequestExpired:
      code = "AccessDenied";
      break;
    case auth::AuthErrorKind::kContentSha256Mismatch:
      code = "XAmzContentSHA256Mismatch";
      status = 400;
      break;
  }
  http::Response r;
  r.status = status;
  r.body = ErrorXml(code, e.message, {}, {}, request_id);
  r.SetHeader("Content-Type", "application/xml");
  r.SetHeader("x-amz-request-id", request_id);
  return r;
}

}  // namespace

S3Service::S3Service(catalog::Catalog* catalog, auth::KeyStore* keys, const Clock* clock,
                     ServiceOptions options)
    : catalog_(catalog),
      keys_(keys),
      clock_(clock),
      options_(std::move(options)),
      buckets_(std::make_unique<BucketCache>(catalog)) {
  queue_ = std::make_unique<http::WorkQueue>(
      options_.workers, kMaxQueued, [this](const http::Request& req) { return Serve(req); },
      [](bool stopping) {
        http::Response r;
        r.status = 503;
        r.body =
            stopping
                ? ErrorXml("ServiceUnavailable", "the server is stopping", {}, {}, RequestId())
                : ErrorXml("SlowDown", "Please reduce your request rate.", {}, {}, RequestId());
        r.SetHeader("Content-Type", "application/xml");
        return r;
      });
}

S3Service::~S3Service() { queue_.reset(); }

bool S3Service::Handles(const http::Request& req) {
  // A Kinesis call (X-Amz-Target, which S3 never sends) stays Kinesis's, whatever its
  // signature says: it answers a scope of another service with its own error.
  if (req.FindHeader("x-amz-target")) return false;
  if (const std::string* a = req.FindHeader("authorization"))
    return a->find("/s3/aws4_request") != std::string::npos;
  std::string_view q = req.query;
  return q.find("X-Amz-Credential=") != std::string_view::npos &&
         (q.find("%2Fs3%2Faws4_request") != std::string_view::npos ||
          q.find("/s3/aws4_request") != std::string_view::npos);
}

std::optional<http::Response> S3Service::CheckHead(const http::Request& head) const {
  if (!options_.auth) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = std::string(kService);
  std::optional<auth::AuthError> e =
      auth::VerifyHead(head, keys_->Lookup(), clock_->NowMillis(), vo);
  if (!e) return std::nullopt;
  return AuthFailure(*e, RequestId());
}

void S3Service::Handle(http::Request&& request, http::Responder responder) {
  queue_->Submit(std::move(request), std::move(responder));
}

http::Response S3Service::Serve(const http::Request& req) {
  Handler h(buckets_.get(), options_, req);
  if (options_.auth) {
    std::optional<auth::AccessKey> key;
    auth::VerifyOptions vo;
    vo.service = std::string(kService);
    auth::VerifyResult vr = auth::Verify(req, keys_->Lookup(&key), clock_->NowMillis(), vo);
    if (!vr.ok()) return AuthFailure(vr.error(), RequestId());
    if (!key || (key->scope != "admin" && key->scope != "bucket-read"))
      return h.Error(403, "AccessDenied",
                     "Access Denied (the access key " + vr.identity().access_key_id +
                         " has scope " + (key ? key->scope : "unknown") +
                         "; the S3 API needs an admin or a bucket-read key)");
    if (key->scope == "bucket-read") h.LimitTo(key->streams);
  }
  return h.Serve();
}

}  // namespace millrace::s3
