#include "s3/service.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <variant>

#include "auth/sigv4.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "common/time_format.h"
#include "delivery/spec.h"
#include "objstore/object_store.h"
#include "s3/listing.h"
#include "s3/store.h"
#include "s3/upload.h"
#include "s3/xml.h"

namespace millrace::s3 {

namespace {

constexpr std::string_view kService = "s3";
constexpr size_t kMaxQueued = 1024;

std::string RequestId() {
  unsigned char bytes[8];
  crypto::RandomBytes(bytes, sizeof bytes);
  return HexEncode(bytes, sizeof bytes);
}

std::string HttpDate(int64_t ms) { return FormatUtc(ms / 1000, "%a, %d %b %Y %H:%M:%S GMT"); }

std::string IsoMs(int64_t ms) { return Iso8601(ms, 3); }

}  // namespace

// The buckets: the local datasets' and those made by CreateBucket, with their lifecycle
// rules. Every request reads the catalog's rows (so a new or deleted dataset or bucket counts
// at once), but a dataset's spec is parsed only when its version is new: a GetObject among
// a thousand datasets does not parse a thousand documents.
class BucketCache {
 public:
  BucketCache(catalog::Catalog* catalog, std::string data_dir)
      : catalog_(catalog), data_dir_(std::move(data_dir)) {}

  Result<std::vector<Bucket>> All() {
    auto rows = catalog_->ListDocs(catalog::DocKind::kDataset);
    if (!rows.ok()) return rows.status();
    auto own = catalog_->ListDocs(catalog::DocKind::kBucket);
    if (!own.ok()) return own.status();
    auto rules = catalog_->ListDocs(catalog::DocKind::kBucketLifecycle);
    if (!rules.ok()) return rules.status();
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
        if (spec.ok() && spec->target.type == "local" && !spec->target.bucket.empty()) {
          e.inside = spec->target.bucket;  // delivers into a made bucket: not one of its own
        } else if (spec.ok() && spec->target.type == "local") {
          Bucket b;
          b.name = delivery::BucketOf(spec->name);
          b.dataset = spec->name;
          b.root = data_dir_ + "/datasets/" + spec->name;
          b.created_ms = row.created_ms;
          e.bucket = std::move(b);
        }
      }
      if (e.bucket) out.push_back(*e.bucket);
      next[row.name] = std::move(e);
    }
    parsed_.swap(next);
    for (const auto& row : *own) {
      Bucket b;
      b.name = row.name;
      for (const auto& [dataset, e] : parsed_)
        if (e.inside == row.name) b.datasets_inside.push_back(dataset);
      b.root = data_dir_ + "/buckets/" + row.name;
      b.created_ms = row.created_ms;
      out.push_back(std::move(b));
    }
    for (auto& b : out)
      for (const auto& r : *rules)
        if (r.name == b.name) b.lifecycle = ParseRules(r.spec);
    std::sort(out.begin(), out.end(),
              [](const Bucket& a, const Bucket& b) { return a.name < b.name; });
    return out;
  }

  // The lifecycle rules as the catalog keeps them: {"rules":[{"id","prefix","days",
  // "enabled"}]}.
  static std::vector<LifecycleRule> ParseRules(const std::string& json) {
    std::vector<LifecycleRule> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array rules;
    if (parser.parse(json).get(doc) != simdjson::SUCCESS ||
        doc["rules"].get(rules) != simdjson::SUCCESS)
      return out;
    for (simdjson::dom::element r : rules) {
      LifecycleRule rule;
      std::string_view sv;
      int64_t n = 0;
      bool on = true;
      if (r["id"].get(sv) == simdjson::SUCCESS) rule.id = std::string(sv);
      if (r["prefix"].get(sv) == simdjson::SUCCESS) rule.prefix = std::string(sv);
      if (r["days"].get(n) == simdjson::SUCCESS) rule.days = static_cast<int>(n);
      if (r["enabled"].get(on) == simdjson::SUCCESS) rule.enabled = on;
      out.push_back(std::move(rule));
    }
    return out;
  }

  static std::string RulesJson(const std::vector<LifecycleRule>& rules) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Key("rules");
    w.BeginArray();
    for (const auto& r : rules) {
      w.BeginObject();
      w.Key("id");
      w.String(r.id);
      w.Key("prefix");
      w.String(r.prefix);
      w.Key("days");
      w.Int(r.days);
      w.Key("enabled");
      w.Bool(r.enabled);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return out;
  }

 private:
  struct Entry {
    int64_t version = 0;
    std::optional<Bucket> bucket;  // none: not a local dataset's own bucket
    std::string inside;            // the made bucket a local dataset delivers into
  };
  catalog::Catalog* const catalog_;
  const std::string data_dir_;
  std::mutex mu_;
  std::map<std::string, Entry> parsed_;  // GUARDED_BY(mu_), by dataset name
};

// Who signed the request, and the evaluator that decides what they may do. No principal
// (--auth none): everything is allowed.
struct Access {
  iam::Directory* directory = nullptr;
  std::shared_ptr<const iam::Principal> principal;
  const http::Request* req = nullptr;

  // Whether `action` is allowed on the bucket (key empty) or the object, with the bucket's
  // policy and any extra condition keys (s3:prefix, ...).
  iam::Decision Check(const std::string& action, const std::string& bucket, std::string_view key,
                      const std::map<std::string, std::string>& keys = {}) const {
    if (!principal) return iam::Decision::kAllow;
    std::string resource = "arn:aws:s3:::" + bucket;
    if (!key.empty()) resource.append("/").append(key);
    iam::RequestContext rc = directory->NewContext(*principal, *req, action, std::move(resource));
    for (const auto& [k, v] : keys) rc.keys[k] = v;
    iam::PolicyPtr policy = bucket.empty() ? nullptr : directory->BucketPolicy(bucket);
    return directory->Authorize(*principal, rc, policy.get(), directory->options().account_id);
  }
  // Whether any request for `action` in the bucket could be allowed (DeleteObjects, whose
  // keys are authorized one by one, must not tell a caller without the right whether the
  // bucket exists).
  bool MayEver(const std::string& action, const std::string& bucket) const {
    if (!principal) return true;
    if (directory->MayEverAllow(*principal, action, false)) return true;
    iam::PolicyPtr policy = directory->BucketPolicy(bucket);
    return policy && policy->MayAllowAction(action);
  }
  bool May(const std::string& action, const std::string& bucket, std::string_view key = {},
           const std::map<std::string, std::string>& keys = {}) const {
    return Check(action, bucket, key, keys) == iam::Decision::kAllow;
  }
};

// The IAM action an S3 request is (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
// using-with-s3-policy-actions.html); "" for DeleteObjects, authorized key by key.
std::string S3Action(const http::Request& req, bool has_key) {
  const std::string& m = req.method;
  auto q = [&](const char* name) { return auth::QueryValue(req.query, name).has_value(); };
  if (!has_key) {
    if (q("policy"))
      return m == "PUT"      ? "s3:PutBucketPolicy"
             : m == "DELETE" ? "s3:DeleteBucketPolicy"
                             : "s3:GetBucketPolicy";
    if (q("lifecycle"))
      return m == "GET" ? "s3:GetLifecycleConfiguration" : "s3:PutLifecycleConfiguration";
    if (m == "PUT") return "s3:CreateBucket";
    if (m == "DELETE") return "s3:DeleteBucket";
    if (m == "POST") return "";
    if (q("location")) return "s3:GetBucketLocation";
    if (q("uploads")) return "s3:ListBucketMultipartUploads";
    if (q("versioning")) return "s3:GetBucketVersioning";
    if (q("versions")) return "s3:ListBucketVersions";
    return "s3:ListBucket";  // GET (list) and HEAD
  }
  const bool upload = q("uploadId");
  if (m == "DELETE") return upload ? "s3:AbortMultipartUpload" : "s3:DeleteObject";
  if (m == "GET" && upload) return "s3:ListMultipartUploadParts";
  if (m == "GET" || m == "HEAD") return "s3:GetObject";
  return "s3:PutObject";  // PUT, copies, parts, POST ?uploads and completion
}

// What a request handler shares with the service.
struct Context {
  BucketCache* buckets;
  MultipartStore* multipart;
  const ServiceOptions* options;
  catalog::Catalog* catalog;
  const Clock* clock;
  std::string staging;  // <data_dir>/s3/staging
  iam::Directory* directory;
  iam::IamStore* iam;
};

namespace {

constexpr uint64_t kMaxCopyBytes = 5ull << 30;  // S3: CopyObject up to 5 GiB

std::string BucketsDir(const ServiceOptions& o) { return o.data_dir + "/buckets"; }

struct Target {
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // "" for the bucket itself
};

// Virtual-hosted ("Host: bucket.<domain>", path = key) when the Host names a bucket under
// the configured domain; path-style ("/bucket/key") otherwise. nullopt: not a path.
std::optional<Target> ParseTarget(const http::Request& req, const std::string& domain) {
  std::string_view path = req.path;
  if (path.empty() || path[0] != '/') return std::nullopt;
  path.remove_prefix(1);
  Target t;
  if (!domain.empty()) {
    std::string_view host = req.HeaderOr("host", "");
    if (size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(']') == std::string_view::npos)
      host = host.substr(0, colon);
    const std::string suffix = "." + domain;
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      t.bucket = std::string(host.substr(0, host.size() - suffix.size()));
      t.key = auth::UriDecode(path);
      return t;
    }
  }
  size_t slash = path.find('/');
  t.bucket = auth::UriDecode(path.substr(0, slash));
  if (slash != std::string_view::npos && slash + 1 < path.size())
    t.key = auth::UriDecode(path.substr(slash + 1));
  return t;
}

class Handler {
 public:
  Handler(Context* ctx, const http::Request& req, std::optional<auth::VerifiedIdentity> id)
      : ctx_(ctx),
        options_(*ctx->options),
        req_(req),
        id_(std::move(id)),
        request_id_(RequestId()) {}

  void Restrict(Access access) { access_ = std::move(access); }

  http::Response Serve() {
    auto target = ParseTarget(req_, options_.domain);
    if (!target) return Error(400, "InvalidURI", "Couldn't parse the specified URI.");
    // The bucket is echoed in errors only abbreviated (a bucket name is at most 63 bytes; a
    // path can be much longer).
    const std::string& bucket = target->bucket;
    const std::string& key = target->key;
    const bool has_key = !key.empty();
    const std::string& m = req_.method;
    auto q = [this](const char* name) { return auth::QueryValue(req_.query, name); };
    if (bucket.empty()) {
      if (m == "GET") return ListBuckets();
      return NotImplemented(m + " /");
    }
    const bool reading = m == "GET" || m == "HEAD";
    // Authorization first: a caller without the right learns nothing, not even whether the
    // bucket exists.
    if (const std::string action = S3Action(req_, has_key); !action.empty()) {
      std::map<std::string, std::string> keys;
      if (action == "s3:ListBucket" || action == "s3:ListBucketVersions") {
        for (const char* name : {"prefix", "delimiter", "max-keys"})
          if (auto v = q(name)) keys[std::string("s3:") + name] = *v;
      }
      if (!access_.May(action, bucket, key, keys))
        return Error(403, "AccessDenied", "Access Denied");
    } else if (!access_.MayEver("s3:DeleteObject", bucket)) {
      return Error(403, "AccessDenied", "Access Denied");
    }
    auto found = FindBucket(bucket);
    if (!found.ok()) return Internal(found.status());
    if (!has_key && m == "PUT" && !q("lifecycle") && !q("policy"))
      return CreateBucket(bucket, *found);
    if (!*found)
      return Error(404, "NoSuchBucket", "The specified bucket does not exist.", "BucketName",
                   Abbreviate(bucket, 64));
    const Bucket& b = **found;
    if (!has_key) {
      if (m == "HEAD") return Ok();
      if (q("policy")) {
        if (m == "PUT") return PutPolicy(b);
        if (m == "DELETE") return DeletePolicy(b);
        if (m == "GET") return GetPolicy(b);
      }
      if (q("lifecycle")) {
        if (m == "PUT") return PutLifecycle(b);
        if (m == "DELETE") return SetLifecycle(b, {}, 204);
        if (m == "GET") return GetLifecycle(b);
      }
      if (m == "DELETE") return DeleteBucket(b);
      if (m == "POST" && q("delete")) return DeleteObjects(b);
      if (m != "GET") return NotImplemented(m + " on a bucket");
      if (q("location")) return Location();
      if (q("uploads")) return ListUploads(b);
      if (q("versioning")) {  // never versioned: an empty configuration, as AWS answers
        XmlWriter x("VersioningConfiguration");
        return Xml(200, x.Finish());
      }
      for (const char* sub : {"acl", "cors", "tagging", "encryption", "website", "logging",
                              "notification", "replication", "object-lock"})
        if (q(sub)) return NotImplemented(std::string("GET ?") + sub);
      // ListObjectVersions of an unversioned bucket: every object once, version "null".
      if (q("versions")) return List(b, kVersions);
      return List(b, q("list-type").value_or("") == "2" ? kV2 : kV1);
    }
    const std::optional<std::string> upload_id = q("uploadId");
    if (m == "PUT") {
      const bool copy = req_.FindHeader("x-amz-copy-source") != nullptr;
      if (q("partNumber") || upload_id) return UploadPart(b, key, copy);
      if (q("tagging") || q("acl") || q("retention") || q("legal-hold"))
        return NotImplemented("PUT on an object's subresource");
      return copy ? CopyObject(b, key) : PutObject(b, key);
    }
    if (m == "POST") {
      if (q("uploads")) return CreateUpload(b, key);
      if (upload_id) return CompleteUpload(b, key, *upload_id);
      return NotImplemented("POST on an object");
    }
    if (m == "DELETE") {
      if (upload_id) return AbortUpload(b, key, *upload_id);
      return DeleteObject(b, key);
    }
    if (m == "GET" && upload_id) return ListParts(b, key, *upload_id);
    if (reading) {
      for (const char* sub : {"tagging", "acl", "attributes", "torrent", "retention", "legal-hold"})
        if (q(sub)) return NotImplemented(std::string("GET ?") + sub + " on an object");
      return GetObject(b, key, m == "HEAD");
    }
    return NotImplemented(m + " on an object");
  }

  http::Response Error(int status, std::string_view code, std::string_view message,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
    return Xml(status, ErrorXml(code, message, extra_name, extra_value, request_id_));
  }
  http::Response Error(const S3Error& e) { return Error(e.status, e.code, e.message); }

 private:
  http::Response Ok(int status = 200) {
    http::Response r;
    r.status = status;
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

  http::Response NotImplemented(const std::string& what) {
    return Error(501, "NotImplemented",
                 "A header or operation you provided implies functionality that is not "
                 "implemented (" +
                     what.substr(0, 64) + " is not supported by Millrace yet)");
  }

  http::Response Internal(const Status& st) {
    LOG(kWarn) << "s3: " << st.ToString();
    if (st.code() == Code::kNoSpace)
      return Error(507, "InternalError", "The server's disk is full: " + st.message());
    return Error(500, "InternalError", "We encountered an internal error. Please try again.");
  }

  Result<std::vector<Bucket>> Buckets() { return ctx_->buckets->All(); }

  Result<std::optional<Bucket>> FindBucket(const std::string& name) {
    auto all = Buckets();
    if (!all.ok()) return all.status();
    for (auto& b : *all)
      if (b.name == name) return std::optional<Bucket>(std::move(b));
    return std::optional<Bucket>();
  }

  const std::string& Root(const Bucket& b) const { return b.root; }

  bool Expired(const Bucket& b, std::string_view key, int64_t mtime_ms) const {
    auto at = ExpiryMs(b, key, mtime_ms);
    return at && *at <= ctx_->clock->NowMillis();
  }

  http::Response ListBuckets() {
    auto all = Buckets();
    if (!all.ok()) return Internal(all.status());
    const bool all_buckets = access_.May("s3:ListAllMyBuckets", "");
    XmlWriter x("ListAllMyBucketsResult");
    x.Open("Owner");
    x.Element("ID", "millrace");
    x.Element("DisplayName", "millrace");
    x.Close("Owner");
    x.Open("Buckets");
    for (const auto& b : *all) {
      // With s3:ListAllMyBuckets every bucket; otherwise those the caller may list or
      // locate (a customer's key sees its own buckets, not an AccessDenied).
      if (!all_buckets && !access_.May("s3:ListBucket", b.name) &&
          !access_.May("s3:GetBucketLocation", b.name))
        continue;
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
    if (!b.lifecycle.empty())
      lr.hidden = [this, &b](const std::string& key, int64_t mtime_ms) {
        return Expired(b, key, mtime_ms);
      };
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

  // The object's ETag: its MD5 (hex) or multipart ETag ("<hex>-<parts>") from its xattr,
  // else the MD5 computed now (and kept in the xattr).
  static Result<std::string> ETagOfFd(int fd) {
    char xattr[64];
    ssize_t n = ::fgetxattr(fd, objstore::kMd5Xattr, xattr, sizeof xattr);
    if (n >= 32 && n <= 48) return std::string(xattr, static_cast<size_t>(n));
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
    int fd = OpenObject(root, key);
    if (fd < 0) return Status::FromErrno(errno, "open " + key);
    auto e = ETagOfFd(fd);
    ::close(fd);
    return e;
  }

  http::Response GetObject(const Bucket& b, const std::string& key, bool head) {
    if (key.size() > kMaxKeyBytes) return Error(400, "KeyTooLongError", "Your key is too long");
    int fd = OpenObject(Root(b), key);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        Expired(b, key, st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000)) {
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
    AddStoredHeaders(fd, &r);
    if (http::EqualsIgnoreCase(req_.HeaderOr("x-amz-checksum-mode", ""), "ENABLED")) {
      char sum[128];
      ssize_t sn = ::fgetxattr(fd, kChecksumXattr, sum, sizeof sum);
      std::string_view v(sum, sn > 0 ? static_cast<size_t>(sn) : 0);
      if (size_t sp = v.find(' '); sp != std::string_view::npos && !partial)
        if (auto a = ParseChecksumAlgorithm(v.substr(0, sp)))
          r.SetHeader(ChecksumHeaderName(*a), std::string(v.substr(sp + 1)));
    }
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

  // The headers an object was stored with (user metadata, Content-Disposition, ...).
  static void AddStoredHeaders(int fd, http::Response* r) {
    char buf[8192];
    ssize_t n = ::fgetxattr(fd, kHeadersXattr, buf, sizeof buf);
    if (n <= 0) return;
    std::string_view lines(buf, static_cast<size_t>(n));
    while (!lines.empty()) {
      size_t nl = lines.find('\n');
      std::string_view line = lines.substr(0, nl);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos)
        r->SetHeader(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
      if (nl == std::string_view::npos) break;
      lines.remove_prefix(nl + 1);
    }
  }

  // A small body's Content-MD5 and x-amz-checksum-* (DeleteObjects, lifecycle), checked.
  std::optional<S3Error> CheckBodyDigests() {
    if (const std::string* m = req_.FindHeader("content-md5")) {
      crypto::Digest16 d = crypto::Md5(req_.body);
      std::string raw;
      if (!Base64Decode(*m, &raw) || raw.size() != 16)
        return S3Error{400, "InvalidDigest", "The Content-MD5 you specified was invalid."};
      if (raw != std::string_view(reinterpret_cast<const char*>(d.data()), d.size()))
        return S3Error{400, "BadDigest",
                       "The Content-MD5 you specified did not match what we received."};
    }
    for (ChecksumAlgorithm a : kChecksumAlgorithms)
      if (const std::string* v = req_.FindHeader(ChecksumHeaderName(a))) {
        Checksum c(a);
        c.Update(req_.body);
        if (c.FinalBase64() != *v)
          return S3Error{400, "BadDigest",
                         "The " + std::string(ChecksumName(a)) +
                             " you specified did not match the calculated checksum."};
      }
    return std::nullopt;
  }

  // The request's body as an Upload: taken as it arrived (diverted), or from the buffer.
  std::shared_ptr<Upload> TakeUpload() {
    if (req_.diverted_body) {
      auto u = std::dynamic_pointer_cast<Upload>(req_.diverted_body);
      if (u) return u;
      return Upload::Refused({500, "InternalError", "the body went elsewhere"});
    }
    // With authentication on, Verify compared a hex x-amz-content-sha256 with this body.
    auto u = Upload::Start(req_, id_, ctx_->staging, /*sha256_checked=*/id_.has_value());
    u->Consume(req_.body);
    return u;
  }

  http::Response CreateBucket(const std::string& name, const std::optional<Bucket>& existing) {
    if (!ValidBucketName(name))
      return Error(400, "InvalidBucketName", "The specified bucket is not valid.", "BucketName",
                   Abbreviate(name, 64));
    if (!req_.body.empty()) {
      auto doc = ParseXml(req_.body);
      if (!doc || doc->name != "CreateBucketConfiguration")
        return Error(400, "MalformedXML",
                     "The XML you provided was not well-formed or did not validate against our "
                     "published schema");
      if (const XmlNode* lc = doc->Child("LocationConstraint");
          lc && !lc->text.empty() && lc->text != options_.region)
        return Error(400, "IllegalLocationConstraintException",
                     "The " + Abbreviate(lc->text, 32) +
                         " location constraint is incompatible for the region specific "
                         "endpoint this request was sent to.");
    }
    if (existing) {
      // AWS: in us-east-1, creating a bucket you own again succeeds; elsewhere it is 409.
      if (options_.region == "us-east-1") {
        http::Response r = Ok();
        r.SetHeader("Location", "/" + name);
        return r;
      }
      return Error(409, "BucketAlreadyOwnedByYou",
                   "Your previous request to create the named bucket succeeded and you already "
                   "own it.",
                   "BucketName", name);
    }
    const std::string root = BucketsDir(options_) + "/" + name;
    if (::mkdir(BucketsDir(options_).c_str(), 0700) != 0 && errno != EEXIST)
      return Internal(Status::FromErrno(errno, "mkdir " + BucketsDir(options_)));
    if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
      return Internal(Status::FromErrno(errno, "mkdir " + root));
    catalog::DocRow row;
    row.name = name;
    row.spec = "{}";
    row.created_ms = row.updated_ms = ctx_->clock->NowMillis();
    Status st = ctx_->catalog->CreateDoc(catalog::DocKind::kBucket, row);
    if (st.code() == Code::kAlreadyExists) {  // a concurrent CreateBucket won
      http::Response r = Ok();
      r.SetHeader("Location", "/" + name);
      return r;
    }
    if (!st.ok()) return Internal(st);
    http::Response r = Ok();
    r.SetHeader("Location", "/" + name);
    return r;
  }

  http::Response DeleteBucket(const Bucket& b) {
    if (!b.dataset.empty())
      return Error(409, "OperationAborted",
                   "The bucket " + b.name + " holds the files of dataset " + b.dataset +
                       ": delete the dataset instead (DELETE /api/v1/datasets/" + b.dataset + ")");
    if (!b.datasets_inside.empty())
      return Error(409, "OperationAborted",
                   "The bucket " + b.name + " is where dataset " + b.datasets_inside[0] +
                       " delivers: delete the dataset first (DELETE /api/v1/datasets/" +
                       b.datasets_inside[0] + ")");
    ListRequest lr;
    lr.max_keys = 1;
    auto listed = ListDirectory(Root(b), lr);
    if (listed.ok() && !listed->objects.empty())
      return Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty",
                   "BucketName", b.name);
    if (auto ups = ctx_->multipart->List(b.name); ups.ok())
      for (const auto& u : *ups) (void)ctx_->multipart->Remove(u.id);
    Status st = ctx_->catalog->DeleteDoc(catalog::DocKind::kBucket, b.name);
    if (!st.ok() && st.code() != Code::kNotFound) return Internal(st);
    (void)ctx_->catalog->DeleteDoc(catalog::DocKind::kBucketLifecycle, b.name);
    // A bucket made later with this name must not inherit who may read it.
    (void)ctx_->catalog->DeleteDoc(catalog::DocKind::kBucketPolicy, b.name);
    ctx_->directory->Invalidate();
    // The root holds at most empty folders now.
    std::function<void(const std::string&)> rm = [&rm](const std::string& dir) {
      if (DIR* d = ::opendir(dir.c_str())) {
        std::vector<std::string> subs;
        while (dirent* e = ::readdir(d))
          if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 &&
              std::strcmp(e->d_name, "..") != 0)
            subs.push_back(dir + "/" + e->d_name);
        ::closedir(d);
        for (const auto& sub : subs) rm(sub);
      }
      ::rmdir(dir.c_str());
    };
    rm(Root(b));
    return Ok(204);
  }

  http::Response PutLifecycle(const Bucket& b) {
    if (auto e = CheckBodyDigests()) return Error(*e);
    auto doc = ParseXml(req_.body);
    auto malformed = [this] {
      return Error(400, "MalformedXML",
                   "The XML you provided was not well-formed or did not validate against our "
                   "published schema");
    };
    if (!doc || doc->name != "LifecycleConfiguration") return malformed();
    std::vector<LifecycleRule> rules;
    auto rule_nodes = doc->Children("Rule");
    if (rule_nodes.empty() || rule_nodes.size() > 1000) return malformed();
    for (const XmlNode* r : rule_nodes) {
      LifecycleRule rule;
      if (const XmlNode* id = r->Child("ID")) rule.id = id->text;
      if (rule.id.size() > 255)
        return Error(400, "InvalidArgument", "ID length should not exceed allowed limit of 255");
      const XmlNode* status = r->Child("Status");
      if (!status || (status->text != "Enabled" && status->text != "Disabled")) return malformed();
      rule.enabled = status->text == "Enabled";
      if (const XmlNode* f = r->Child("Filter")) {
        if (f->Child("Tag") || f->Child("And") || f->Child("ObjectSizeGreaterThan") ||
            f->Child("ObjectSizeLessThan"))
          return NotImplemented("a lifecycle filter other than a prefix");
        if (const XmlNode* p = f->Child("Prefix")) rule.prefix = p->text;
      } else if (const XmlNode* p = r->Child("Prefix")) {
        rule.prefix = p->text;
      }
      for (const char* other :
           {"Transition", "NoncurrentVersionTransition", "NoncurrentVersionExpiration"})
        if (r->Child(other))
          return NotImplemented(std::string("lifecycle ") + other +
                                " (Millrace has one storage "
                                "class and no versions)");
      const XmlNode* exp = r->Child("Expiration");
      const XmlNode* abort = r->Child("AbortIncompleteMultipartUpload");
      if (!exp && !abort) return malformed();
      if (exp) {
        const XmlNode* days = exp->Child("Days");
        if (!days) {
          if (exp->Child("Date")) return NotImplemented("lifecycle Expiration by Date");
          if (exp->Child("ExpiredObjectDeleteMarker")) continue;  // no versions: nothing to do
          return malformed();
        }
        char* end = nullptr;
        long d = std::strtol(days->text.c_str(), &end, 10);
        if (days->text.empty() || *end != '\0' || d <= 0 || d > 100000)
          return Error(400, "InvalidArgument",
                       "'Days' for Expiration action must be a positive integer");
        rule.days = static_cast<int>(d);
      }
      rules.push_back(std::move(rule));
    }
    return SetLifecycle(b, rules, 200);
  }

  http::Response SetLifecycle(const Bucket& b, const std::vector<LifecycleRule>& rules,
                              int status) {
    Status st;
    if (rules.empty()) {
      st = ctx_->catalog->DeleteDoc(catalog::DocKind::kBucketLifecycle, b.name);
      if (st.code() == Code::kNotFound) st = Status::Ok();
    } else {
      const std::string spec = BucketCache::RulesJson(rules);
      int64_t version = 0;
      st = ctx_->catalog->UpdateDoc(catalog::DocKind::kBucketLifecycle, b.name, spec,
                                    ctx_->clock->NowMillis(), &version);
      if (st.code() == Code::kNotFound) {
        catalog::DocRow row;
        row.name = b.name;
        row.spec = spec;
        row.created_ms = row.updated_ms = ctx_->clock->NowMillis();
        st = ctx_->catalog->CreateDoc(catalog::DocKind::kBucketLifecycle, row);
      }
    }
    if (!st.ok()) return Internal(st);
    return Ok(status);
  }

  // Bucket policies (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html):
  // a resource policy in IAM's language, evaluated with the caller's own on every request.
  http::Response PutPolicy(const Bucket& b) {
    if (req_.body.size() > 20 * 1024)
      return Error(400, "MalformedPolicy", "Policies must be at most 20 KB");
    if (req_.body.empty() || req_.body[0] != '{')
      return Error(400, "MalformedPolicy",
                   "Policies must be valid JSON and the first byte must be '{'");
    if (auto e = ctx_->iam->PutResourcePolicy(catalog::DocKind::kBucketPolicy, b.name, req_.body))
      return e->status >= 500 ? Internal(Status::Internal(e->message))
                              : Error(400, "MalformedPolicy", e->message);
    ctx_->directory->Invalidate();
    return Ok(204);
  }

  http::Response GetPolicy(const Bucket& b) {
    auto doc = ctx_->iam->GetResourcePolicy(catalog::DocKind::kBucketPolicy, b.name);
    if (!doc)
      return Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist", "BucketName",
                   b.name);
    http::Response r = Ok();
    r.body = *doc;
    r.SetHeader("Content-Type", "application/json");
    return r;
  }

  http::Response DeletePolicy(const Bucket& b) {
    if (auto e = ctx_->iam->PutResourcePolicy(catalog::DocKind::kBucketPolicy, b.name, ""))
      return Internal(Status::Internal(e->message));
    ctx_->directory->Invalidate();
    return Ok(204);
  }

  http::Response GetLifecycle(const Bucket& b) {
    if (b.lifecycle.empty())
      return Error(404, "NoSuchLifecycleConfiguration",
                   "The lifecycle configuration does not exist", "BucketName", b.name);
    XmlWriter x("LifecycleConfiguration");
    for (const auto& r : b.lifecycle) {
      x.Open("Rule");
      if (!r.id.empty()) x.Element("ID", r.id);
      x.Open("Filter");
      x.Element("Prefix", r.prefix);
      x.Close("Filter");
      x.Element("Status", r.enabled ? "Enabled" : "Disabled");
      if (r.days > 0) {
        x.Open("Expiration");
        x.Element("Days", std::to_string(r.days));
        x.Close("Expiration");
      }
      x.Close("Rule");
    }
    return Xml(200, x.Finish());
  }

  // Opens the directory for `key` (created as needed) and commits `commit(dir, leaf)` there;
  // once more if a concurrent delete removed an emptied folder in between.
  template <typename Fn>
  std::optional<http::Response> Place(const Bucket& b, const std::string& key, Fn commit) {
    for (int attempt = 0;; ++attempt) {
      std::string leaf;
      auto dir = OpenParent(Root(b), key, true, &leaf);
      if (!dir.ok()) {
        if (dir.status().code() == Code::kFailedPrecondition)
          return Error(409, "InvalidRequest", dir.status().message());
        return Internal(dir.status());
      }
      Status st = commit(*dir, leaf);
      ::close(*dir);
      if (st.ok()) return std::nullopt;
      if (st.code() == Code::kNotFound && attempt == 0) continue;
      if (st.message().find("Is a directory") != std::string::npos ||
          st.message().find("not empty") != std::string::npos)
        return Error(409, "InvalidRequest",
                     "The key " + Abbreviate(key, 64) +
                         " is a folder of other keys (a key cannot be both an object and a "
                         "folder of other keys in Millrace)");
      return Internal(st);
    }
  }

  http::Response PutObject(const Bucket& b, const std::string& key) {
    if (auto e = CheckKeyForWrite(key)) return Error(*e);
    std::string header_lines;
    if (auto e = Upload::StoredHeaders(req_, &header_lines)) return Error(*e);
    std::shared_ptr<Upload> upload = TakeUpload();
    if (auto e = upload->Finish()) return Error(*e);
    if (const std::string* inm = req_.FindHeader("if-none-match"); inm && *inm == "*") {
      int fd = OpenObject(Root(b), key);
      if (fd >= 0) {
        ::close(fd);
        return Error(412, "PreconditionFailed",
                     "At least one of the pre-conditions you specified did not hold", "Condition",
                     "If-None-Match");
      }
    }
    ObjectAttrs attrs;
    attrs.content_type = std::string(req_.HeaderOr("content-type", ""));
    attrs.header_lines = header_lines;
    if (auto err = Place(b, key, [&](int dir, const std::string& leaf) {
          return upload->Commit(dir, leaf, attrs);
        }))
      return *err;
    http::Response r = Ok();
    r.SetHeader("ETag", "\"" + upload->md5_hex() + "\"");
    if (upload->checksum_algorithm() != ChecksumAlgorithm::kNone)
      r.SetHeader(ChecksumHeaderName(upload->checksum_algorithm()), upload->checksum());
    return r;
  }

  // Deletes one object; true when there was one. Missing is no error (S3 answers 204).
  Result<bool> Remove(const Bucket& b, const std::string& key) {
    if (CheckKeyForWrite(key)) return false;  // no such key can exist
    std::string leaf;
    auto dir = OpenParent(Root(b), key, false, &leaf);
    if (!dir.ok()) return false;
    bool removed = ::unlinkat(*dir, leaf.c_str(), 0) == 0;
    const int err = errno;
    if (removed) ::fsync(*dir);
    ::close(*dir);
    if (!removed && err != ENOENT && err != EISDIR && err != ENOTDIR)
      return Status::FromErrno(err, "unlink " + Abbreviate(key, 64));
    if (removed) RemoveEmptyParents(Root(b), key);
    return removed;
  }

  http::Response DeleteObject(const Bucket& b, const std::string& key) {
    auto removed = Remove(b, key);
    if (!removed.ok()) return Internal(removed.status());
    return Ok(204);
  }

  http::Response DeleteObjects(const Bucket& b) {
    bool digest = req_.FindHeader("content-md5") != nullptr;
    for (ChecksumAlgorithm a : kChecksumAlgorithms)
      digest = digest || req_.FindHeader(ChecksumHeaderName(a)) != nullptr;
    if (!digest)
      return Error(400, "InvalidRequest",
                   "Missing required header for this request: Content-MD5 or x-amz-checksum-*");
    if (auto e = CheckBodyDigests()) return Error(*e);
    auto doc = ParseXml(req_.body);
    if (!doc || doc->name != "Delete" || doc->Children("Object").size() > 1000)
      return Error(400, "MalformedXML",
                   "The XML you provided was not well-formed or did not validate against our "
                   "published schema");
    const XmlNode* quiet_node = doc->Child("Quiet");
    const bool quiet = quiet_node && quiet_node->text == "true";
    XmlWriter x("DeleteResult");
    for (const XmlNode* o : doc->Children("Object")) {
      const XmlNode* k = o->Child("Key");
      const std::string key = k ? k->text : "";
      if (!key.empty() && !access_.May("s3:DeleteObject", b.name, key)) {
        x.Open("Error");
        x.Element("Key", key);
        x.Element("Code", "AccessDenied");
        x.Element("Message", "Access Denied");
        x.Close("Error");
        continue;
      }
      auto removed = key.empty() ? Result<bool>(Status::InvalidArgument("no key")) : Remove(b, key);
      if (removed.ok()) {
        if (quiet) continue;
        x.Open("Deleted");
        x.Element("Key", key);
        x.Close("Deleted");
      } else {
        x.Open("Error");
        x.Element("Key", key);
        x.Element("Code", key.empty() ? "UserKeyMustBeSpecified" : "InternalError");
        x.Element("Message", key.empty() ? "The key must be specified"
                                         : "We encountered an "
                                           "internal error.");
        x.Close("Error");
      }
    }
    return Xml(200, x.Finish());
  }

  // The source of a CopyObject or UploadPartCopy: "bucket/key" or "/bucket/key", URL-encoded.
  // Owns the source object's descriptor (closed with it).
  struct Source {
    Source() = default;
    Source(Source&& o) noexcept
        : bucket(std::move(o.bucket)),
          key(std::move(o.key)),
          fd(std::exchange(o.fd, -1)),
          st(o.st) {}
    Source& operator=(Source&&) = delete;
    ~Source() {
      if (fd >= 0) ::close(fd);
    }
    Bucket bucket;
    std::string key;
    int fd = -1;
    struct stat st {};
  };
  std::variant<Source, http::Response> OpenSource() {
    std::string src = auth::UriDecode(req_.HeaderOr("x-amz-copy-source", ""));
    if (size_t q = src.find("?versionId="); q != std::string::npos) {
      if (src.substr(q + 11) != "null")
        return Error(400, "InvalidArgument", "Millrace keeps no versions but null");
      src.resize(q);
    }
    if (src.starts_with("/")) src.erase(0, 1);
    size_t slash = src.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == src.size())
      return Error(400, "InvalidArgument",
                   "Copy Source must mention the source bucket and key: "
                   "sourcebucket/sourcekey",
                   "ArgumentName", "x-amz-copy-source");
    Source s;
    const std::string bucket = src.substr(0, slash);
    s.key = src.substr(slash + 1);
    if (!access_.May("s3:GetObject", bucket, s.key))
      return Error(403, "AccessDenied", "Access Denied");
    auto found = FindBucket(bucket);
    if (!found.ok()) return Internal(found.status());
    if (!*found)
      return Error(404, "NoSuchBucket", "The specified bucket does not exist.", "BucketName",
                   Abbreviate(bucket, 64));
    s.bucket = std::move(**found);
    s.fd = OpenObject(Root(s.bucket), s.key);
    if (s.fd < 0 || ::fstat(s.fd, &s.st) != 0 || !S_ISREG(s.st.st_mode) ||
        Expired(s.bucket, s.key, s.st.st_mtim.tv_sec * 1000LL + s.st.st_mtim.tv_nsec / 1000000)) {
      return Error(404, "NoSuchKey", "The specified key does not exist.", "Key",
                   Abbreviate(s.key, 1024));
    }
    return s;
  }

  // Copies bytes [first, first+length) of `src_fd` into a new staging file, computing their MD5.
  struct Staged {
    std::string path;
    int fd = -1;
    std::string md5_hex;
    ~Staged() {
      if (fd >= 0) ::close(fd);
      if (!path.empty()) ::unlink(path.c_str());
    }
  };
  Status CopyToStaging(int src_fd, uint64_t first, uint64_t length, Staged* out) {
    unsigned char rnd[12];
    crypto::RandomBytes(rnd, sizeof rnd);
    out->path = ctx_->staging + "/" + HexEncode(rnd, sizeof rnd) + ".copy";
    out->fd = ::open(out->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out->fd < 0) {
      out->path.clear();
      return Status::FromErrno(errno, "create a staging file");
    }
    EVP_MD_CTX* md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5, EVP_md5(), nullptr);
    std::string buf(1 << 20, '\0');
    uint64_t done = 0;
    Status st;
    while (done < length) {
      ssize_t r = ::pread(src_fd, buf.data(), std::min<uint64_t>(buf.size(), length - done),
                          static_cast<off_t>(first + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        st =
            r == 0 ? Status::IoError("the source object shrank") : Status::FromErrno(errno, "read");
        break;
      }
      EVP_DigestUpdate(md5, buf.data(), static_cast<size_t>(r));
      size_t off = 0;
      while (off < static_cast<size_t>(r)) {
        ssize_t w = ::write(out->fd, buf.data() + off, static_cast<size_t>(r) - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;
        off += static_cast<size_t>(w);
      }
      if (off < static_cast<size_t>(r)) {
        st = Status::FromErrno(errno, "write a staging file");
        break;
      }
      done += static_cast<uint64_t>(r);
    }
    unsigned char digest[16];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md5, digest, &len);
    EVP_MD_CTX_free(md5);
    out->md5_hex = HexEncode(digest, 16);
    return st;
  }

  static std::string XattrOf(int fd, const char* name) {
    char buf[8192];
    ssize_t n = ::fgetxattr(fd, name, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

  http::Response CopyObject(const Bucket& b, const std::string& key) {
    if (auto e = CheckKeyForWrite(key)) return Error(*e);
    auto opened = OpenSource();
    if (auto* r = std::get_if<http::Response>(&opened)) return std::move(*r);
    Source& src = std::get<Source>(opened);
    const uint64_t size = static_cast<uint64_t>(src.st.st_size);
    if (size > kMaxCopyBytes)
      return Error(400, "InvalidRequest",
                   "The specified copy source is larger than the maximum allowable size for a "
                   "copy source: 5368709120");
    const std::string directive(req_.HeaderOr("x-amz-metadata-directive", "COPY"));
    if (directive != "COPY" && directive != "REPLACE")
      return Error(400, "InvalidArgument", "Unknown metadata directive.");
    if (src.bucket.name == b.name && src.key == key && directive == "COPY")
      return Error(400, "InvalidRequest",
                   "This copy request is illegal because it is trying to copy an object to "
                   "itself without changing the object's metadata, storage class, website "
                   "redirect location or encryption attributes.");
    ObjectAttrs attrs;
    if (directive == "REPLACE") {
      if (auto e = Upload::StoredHeaders(req_, &attrs.header_lines)) return Error(*e);
      attrs.content_type = std::string(req_.HeaderOr("content-type", ""));
    } else {
      attrs.header_lines = XattrOf(src.fd, kHeadersXattr);
      attrs.content_type = XattrOf(src.fd, objstore::kContentTypeXattr);
    }
    attrs.checksum = XattrOf(src.fd, kChecksumXattr);
    Staged staged;
    if (Status st = CopyToStaging(src.fd, 0, size, &staged); !st.ok()) return Internal(st);
    attrs.etag = staged.md5_hex;
    if (auto err = Place(b, key, [&](int dir, const std::string& leaf) {
          Status st = CommitStagedFile(staged.fd, staged.path, dir, leaf, attrs);
          if (st.ok()) staged.path.clear();
          return st;
        }))
      return *err;
    XmlWriter x("CopyObjectResult");
    x.Element("LastModified", IsoMs(ctx_->clock->NowMillis()));
    x.Element("ETag", "\"" + staged.md5_hex + "\"");
    return Xml(200, x.Finish());
  }

  // ---- Multipart uploads ----

  std::variant<MultipartUpload, http::Response> FindUpload(const Bucket& b, const std::string& key,
                                                           const std::string& id) {
    auto u = ctx_->multipart->Get(id);
    if (!u.ok()) return Internal(u.status());
    if (!*u || (*u)->bucket != b.name || (*u)->key != key)
      return Error(404, "NoSuchUpload",
                   "The specified multipart upload does not exist. The upload ID may be invalid, "
                   "or the upload may have been aborted or completed.",
                   "UploadId", Abbreviate(id, 64));
    return std::move(**u);
  }

  http::Response CreateUpload(const Bucket& b, const std::string& key) {
    if (auto e = CheckKeyForWrite(key)) return Error(*e);
    MultipartUpload u;
    unsigned char rnd[16];
    crypto::RandomBytes(rnd, sizeof rnd);
    u.id = HexEncode(rnd, sizeof rnd);
    u.bucket = b.name;
    u.key = key;
    u.content_type = std::string(req_.HeaderOr("content-type", ""));
    if (auto e = Upload::StoredHeaders(req_, &u.header_lines)) return Error(*e);
    if (const std::string* a = req_.FindHeader("x-amz-checksum-algorithm")) {
      auto alg = ParseChecksumAlgorithm(*a);
      if (!alg)
        return Error(400, "InvalidRequest",
                     "Checksum algorithm " + Abbreviate(*a, 16) + " is not supported");
      u.checksum_algorithm = std::string(ChecksumName(*alg));
    }
    u.created_ms = ctx_->clock->NowMillis();
    if (Status st = ctx_->multipart->Create(u); !st.ok()) return Internal(st);
    XmlWriter x("InitiateMultipartUploadResult");
    x.Element("Bucket", b.name);
    x.Element("Key", key);
    x.Element("UploadId", u.id);
    http::Response r = Xml(200, x.Finish());
    if (!u.checksum_algorithm.empty())
      r.SetHeader("x-amz-checksum-algorithm", u.checksum_algorithm);
    return r;
  }

  std::optional<int> PartNumber() {
    auto n = auth::QueryValue(req_.query, "partNumber");
    if (!n || n->empty() || n->size() > 5 ||
        n->find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    int v = std::stoi(*n);
    if (v < 1 || v > kMaxParts) return std::nullopt;
    return v;
  }

  http::Response UploadPart(const Bucket& b, const std::string& key, bool copy) {
    const std::optional<std::string> id = auth::QueryValue(req_.query, "uploadId");
    const std::optional<int> number = PartNumber();
    if (!id || !number)
      return Error(400, "InvalidArgument",
                   "Part number must be an integer between 1 and 10000, inclusive", "ArgumentName",
                   "partNumber");
    auto found = FindUpload(b, key, *id);
    if (auto* r = std::get_if<http::Response>(&found)) return std::move(*r);
    const std::string dir_path = ctx_->multipart->Dir(*id);
    int dir = ::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return Internal(Status::FromErrno(errno, "open " + dir_path));
    struct DirCloser {
      int fd;
      ~DirCloser() { ::close(fd); }
    } dir_closer{dir};
    const std::string leaf = MultipartStore::PartName(*number);
    if (copy) {
      auto opened = OpenSource();
      if (auto* r = std::get_if<http::Response>(&opened)) return std::move(*r);
      Source& src = std::get<Source>(opened);
      const uint64_t size = static_cast<uint64_t>(src.st.st_size);
      uint64_t first = 0, length = size;
      if (const std::string* range = req_.FindHeader("x-amz-copy-source-range")) {
        unsigned long long a = 0, z = 0;
        if (std::sscanf(range->c_str(), "bytes=%llu-%llu", &a, &z) != 2 || z < a || z >= size)
          return Error(400, "InvalidArgument",
                       "The x-amz-copy-source-range value must be of the form bytes=first-last "
                       "where first and last are the zero-based offsets of the first and last "
                       "bytes to copy");
        first = a;
        length = z - a + 1;
      }
      if (length > kMaxObjectBytes)
        return Error(400, "EntityTooLarge",
                     "Your proposed upload exceeds the maximum allowed size");
      Staged staged;
      if (Status st = CopyToStaging(src.fd, first, length, &staged); !st.ok()) return Internal(st);
      ObjectAttrs attrs;
      attrs.etag = staged.md5_hex;
      if (Status st = CommitStagedFile(staged.fd, staged.path, dir, leaf, attrs); !st.ok())
        return Internal(st);
      staged.path.clear();
      XmlWriter x("CopyPartResult");
      x.Element("LastModified", IsoMs(ctx_->clock->NowMillis()));
      x.Element("ETag", "\"" + staged.md5_hex + "\"");
      return Xml(200, x.Finish());
    }
    std::shared_ptr<Upload> upload = TakeUpload();
    if (auto e = upload->Finish()) return Error(*e);
    if (Status st = upload->Commit(dir, leaf, ObjectAttrs{}); !st.ok()) return Internal(st);
    http::Response r = Ok();
    r.SetHeader("ETag", "\"" + upload->md5_hex() + "\"");
    if (upload->checksum_algorithm() != ChecksumAlgorithm::kNone)
      r.SetHeader(ChecksumHeaderName(upload->checksum_algorithm()), upload->checksum());
    return r;
  }

  http::Response CompleteUpload(const Bucket& b, const std::string& key, const std::string& id) {
    auto found = FindUpload(b, key, id);
    if (auto* r = std::get_if<http::Response>(&found)) return std::move(*r);
    const MultipartUpload& up = std::get<MultipartUpload>(found);
    auto doc = ParseXml(req_.body);
    auto malformed = [this] {
      return Error(400, "MalformedXML",
                   "The XML you provided was not well-formed or did not validate against our "
                   "published schema");
    };
    if (!doc || doc->name != "CompleteMultipartUpload") return malformed();
    auto wanted = doc->Children("Part");
    if (wanted.empty() || wanted.size() > static_cast<size_t>(kMaxParts)) return malformed();
    auto parts = ctx_->multipart->Parts(id);
    if (!parts.ok()) return Internal(parts.status());
    std::map<int, PartInfo> have;
    for (auto& p : *parts) have[p.number] = p;
    std::vector<const PartInfo*> chosen;
    int last = 0;
    for (const XmlNode* w : wanted) {
      const XmlNode* num = w->Child("PartNumber");
      const XmlNode* etag = w->Child("ETag");
      if (!num || !etag) return malformed();
      int n = std::atoi(num->text.c_str());
      if (n <= last)
        return Error(400, "InvalidPartOrder",
                     "The list of parts was not in ascending order. Parts must be ordered by "
                     "part number.");
      last = n;
      std::string tag = etag->text;
      if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"')
        tag = tag.substr(1, tag.size() - 2);
      auto it = have.find(n);
      if (it == have.end() || it->second.etag != tag)
        return Error(400, "InvalidPart",
                     "One or more of the specified parts could not be found. The part may not "
                     "have been uploaded, or the specified entity tag may not match the part's "
                     "entity tag.");
      chosen.push_back(&it->second);
    }
    for (size_t i = 0; i + 1 < chosen.size(); ++i)
      if (chosen[i]->size < kMinPartBytes)
        return Error(400, "EntityTooSmall",
                     "Your proposed upload is smaller than the minimum allowed object size.");
    // The object: the parts one after another (copy_file_range: no bytes through memory).
    Staged staged;
    unsigned char rnd[12];
    crypto::RandomBytes(rnd, sizeof rnd);
    staged.path = ctx_->staging + "/" + HexEncode(rnd, sizeof rnd) + ".complete";
    staged.fd = ::open(staged.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (staged.fd < 0) {
      staged.path.clear();
      return Internal(Status::FromErrno(errno, "create a staging file"));
    }
    std::string md5s;
    for (const PartInfo* p : chosen) {
      const std::string part_path =
          ctx_->multipart->Dir(id) + "/" + MultipartStore::PartName(p->number);
      int pfd = ::open(part_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (pfd < 0) return Internal(Status::FromErrno(errno, "open " + part_path));
      uint64_t left = p->size;
      loff_t in_off = 0;
      while (left > 0) {
        ssize_t n = ::copy_file_range(pfd, &in_off, staged.fd, nullptr, left, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          Status st = Status::FromErrno(n == 0 ? EIO : errno, "copy " + part_path);
          ::close(pfd);
          return Internal(st);
        }
        left -= static_cast<uint64_t>(n);
      }
      ::close(pfd);
      std::string raw;
      for (size_t i = 0; i + 1 < p->etag.size(); i += 2)
        raw.push_back(static_cast<char>(std::stoi(p->etag.substr(i, 2), nullptr, 16)));
      md5s += raw;
    }
    crypto::Digest16 d = crypto::Md5(md5s);
    const std::string etag = HexEncode(d.data(), d.size()) + "-" + std::to_string(chosen.size());
    ObjectAttrs attrs;
    attrs.etag = etag;
    attrs.content_type = up.content_type;
    attrs.header_lines = up.header_lines;
    if (auto err = Place(b, key, [&](int dir, const std::string& leaf) {
          Status st = CommitStagedFile(staged.fd, staged.path, dir, leaf, attrs);
          if (st.ok()) staged.path.clear();
          return st;
        }))
      return *err;
    (void)ctx_->multipart->Remove(id);
    XmlWriter x("CompleteMultipartUploadResult");
    x.Element("Location", "/" + b.name + "/" + auth::UriEncode(key, true));
    x.Element("Bucket", b.name);
    x.Element("Key", key);
    x.Element("ETag", "\"" + etag + "\"");
    return Xml(200, x.Finish());
  }

  http::Response AbortUpload(const Bucket& b, const std::string& key, const std::string& id) {
    auto found = FindUpload(b, key, id);
    if (auto* r = std::get_if<http::Response>(&found)) return std::move(*r);
    if (Status st = ctx_->multipart->Remove(id); !st.ok()) return Internal(st);
    return Ok(204);
  }

  http::Response ListParts(const Bucket& b, const std::string& key, const std::string& id) {
    auto found = FindUpload(b, key, id);
    if (auto* r = std::get_if<http::Response>(&found)) return std::move(*r);
    auto parts = ctx_->multipart->Parts(id);
    if (!parts.ok()) return Internal(parts.status());
    int marker =
        std::atoi(auth::QueryValue(req_.query, "part-number-marker").value_or("0").c_str());
    int max_parts = std::atoi(auth::QueryValue(req_.query, "max-parts").value_or("1000").c_str());
    max_parts = std::clamp(max_parts, 0, 1000);
    XmlWriter x("ListPartsResult");
    x.Element("Bucket", b.name);
    x.Element("Key", key);
    x.Element("UploadId", id);
    x.Element("PartNumberMarker", std::to_string(marker));
    std::vector<const PartInfo*> page;
    bool truncated = false;
    for (const auto& p : *parts) {
      if (p.number <= marker) continue;
      if (static_cast<int>(page.size()) == max_parts) {
        truncated = true;
        break;
      }
      page.push_back(&p);
    }
    if (!page.empty()) x.Element("NextPartNumberMarker", std::to_string(page.back()->number));
    x.Element("MaxParts", std::to_string(max_parts));
    x.Element("IsTruncated", truncated ? "true" : "false");
    for (const PartInfo* p : page) {
      x.Open("Part");
      x.Element("PartNumber", std::to_string(p->number));
      x.Element("LastModified", IsoMs(p->mtime_ms));
      x.Element("ETag", "\"" + p->etag + "\"");
      x.Element("Size", std::to_string(p->size));
      x.Close("Part");
    }
    x.Element("StorageClass", "STANDARD");
    return Xml(200, x.Finish());
  }

  http::Response ListUploads(const Bucket& b) {
    auto ups = ctx_->multipart->List(b.name);
    if (!ups.ok()) return Internal(ups.status());
    const std::string prefix = auth::QueryValue(req_.query, "prefix").value_or("");
    XmlWriter x("ListMultipartUploadsResult");
    x.Element("Bucket", b.name);
    x.Element("KeyMarker", "");
    x.Element("UploadIdMarker", "");
    x.Element("Prefix", prefix);
    x.Element("MaxUploads", "1000");
    size_t n = 0;
    for (const auto& u : *ups) {
      if (!u.key.starts_with(prefix)) continue;
      if (++n > 1000) break;
      x.Open("Upload");
      x.Element("Key", u.key);
      x.Element("UploadId", u.id);
      x.Element("StorageClass", "STANDARD");
      x.Element("Initiated", IsoMs(u.created_ms));
      x.Close("Upload");
    }
    x.Element("IsTruncated", n > 1000 ? "true" : "false");
    return Xml(200, x.Finish());
  }

  Context* const ctx_;
  const ServiceOptions& options_;
  const http::Request& req_;
  const std::optional<auth::VerifiedIdentity> id_;
  const std::string request_id_;
  Access access_;  // admin unless restricted
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
    case auth::AuthErrorKind::kInvalidToken: {
      http::Response r;
      r.status = 403;
      r.body = ErrorXml("InvalidToken", "The provided token is malformed or otherwise invalid.", {},
                        {}, request_id);
      r.SetHeader("Content-Type", "application/xml");
      r.SetHeader("x-amz-request-id", request_id);
      return r;
    }
    case auth::AuthErrorKind::kExpiredToken: {
      http::Response r;
      r.status = 400;
      r.body = ErrorXml("ExpiredToken", "The provided token has expired.", {}, {}, request_id);
      r.SetHeader("Content-Type", "application/xml");
      r.SetHeader("x-amz-request-id", request_id);
      return r;
    }
  }
  http::Response r;
  r.status = status;
  r.body = ErrorXml(code, e.message, {}, {}, request_id);
  r.SetHeader("Content-Type", "application/xml");
  r.SetHeader("x-amz-request-id", request_id);
  return r;
}

}  // namespace

namespace {

// Who signed a request and what the key may do; an error response when it may not use S3.
struct Caller {
  std::optional<auth::VerifiedIdentity> id;
  Access access;
};

}  // namespace

S3Service::S3Service(catalog::Catalog* catalog, iam::Directory* directory, iam::IamStore* iam,
                     const Clock* clock, ServiceOptions options)
    : catalog_(catalog),
      directory_(directory),
      clock_(clock),
      options_(std::move(options)),
      buckets_(std::make_unique<BucketCache>(catalog, options_.data_dir)) {
  const std::string s3_dir = options_.data_dir + "/s3";
  for (const std::string& d : {s3_dir, s3_dir + "/staging", s3_dir + "/uploads"})
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
      LOG(kWarn) << "s3: cannot create " << d << ": " << std::strerror(errno);
  // What a crash left half received: no request holds it now.
  if (DIR* dir = ::opendir((s3_dir + "/staging").c_str())) {
    while (dirent* e = ::readdir(dir))
      if (e->d_name[0] != '.') ::unlink((s3_dir + "/staging/" + e->d_name).c_str());
    ::closedir(dir);
  }
  multipart_ = std::make_unique<MultipartStore>(s3_dir + "/uploads");
  ctx_ = std::make_unique<Context>(Context{buckets_.get(), multipart_.get(), &options_, catalog,
                                           clock, s3_dir + "/staging", directory, iam});
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
  if (options_.lifecycle_interval_ms > 0) sweeper_ = std::thread([this] { SweepLoop(); });
}

S3Service::~S3Service() {
  {
    std::lock_guard<std::mutex> l(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  queue_.reset();
}

// Signature Version 2 (what boto3 presigns S3 URLs with unless told s3v4, and s3cmd's
// signature_v2 = True): "Authorization: AWS id:sig", or AWSAccessKeyId & Signature.
static bool SignedV2(const http::Request& req) {
  if (const std::string* a = req.FindHeader("authorization")) return a->starts_with("AWS ");
  std::string_view q = req.query;
  return q.find("AWSAccessKeyId=") != std::string_view::npos &&
         q.find("Signature=") != std::string_view::npos;
}

bool S3Service::Handles(const http::Request& req) {
  // A Kinesis call (X-Amz-Target, which S3 never sends) stays Kinesis's, whatever its
  // signature says: it answers a scope of another service with its own error.
  if (req.FindHeader("x-amz-target")) return false;
  if (SignedV2(req)) return true;
  if (const std::string* a = req.FindHeader("authorization"))
    return a->find("/s3/aws4_request") != std::string::npos;
  std::string_view q = req.query;
  return q.find("X-Amz-Credential=") != std::string_view::npos &&
         (q.find("%2Fs3%2Faws4_request") != std::string_view::npos ||
          q.find("/s3/aws4_request") != std::string_view::npos);
}

// Verifies the request and finds who signed it: an S3 error response otherwise.
// `whole_body`: the body is in the request (not diverted, and not still to come).
static std::variant<Caller, http::Response> Authenticate(const http::Request& req,
                                                         iam::Directory* directory, bool auth,
                                                         bool whole_body) {
  Caller c;
  c.access.directory = directory;
  c.access.req = &req;
  if (!auth) return c;
  if (SignedV2(req)) {
    // As AWS answers SigV2 in the regions that only take SigV4.
    http::Response r;
    r.status = 400;
    r.body = ErrorXml("InvalidRequest",
                      "The authorization mechanism you have provided is not supported. Please "
                      "use AWS4-HMAC-SHA256.",
                      {}, {}, RequestId());
    r.SetHeader("Content-Type", "application/xml");
    return r;
  }
  auth::VerifyOptions vo;
  vo.service = std::string(kService);
  // A diverted body is checked against x-amz-content-sha256 by its Upload, as it arrives.
  vo.check_content_sha256 = whole_body;
  auto result = directory->Authenticate(req, vo);
  if (auto* e = std::get_if<auth::AuthError>(&result)) return AuthFailure(*e, RequestId());
  auto& ok = std::get<iam::Authenticated>(result);
  c.id = std::move(ok.id);
  c.access.principal = std::move(ok.principal);
  return c;
}

std::optional<http::Response> S3Service::CheckHead(const http::Request& head) const {
  if (!options_.auth) return std::nullopt;
  // A head whose payload hash is declared (every S3 client declares it) is verified and
  // authorized whole, so that a refused upload is answered before its body is read.
  if (head.FindHeader("x-amz-content-sha256") || SignedV2(head)) {
    auto caller = Authenticate(head, directory_, options_.auth, false);
    if (auto* refused = std::get_if<http::Response>(&caller)) return std::move(*refused);
    auto target = ParseTarget(head, options_.domain);
    if (!target || target->bucket.empty()) return std::nullopt;
    const std::string action = S3Action(head, !target->key.empty());
    const Access& access = std::get<Caller>(caller).access;
    if (action.empty() ? access.MayEver("s3:DeleteObject", target->bucket)
                       : access.May(action, target->bucket, target->key))
      return std::nullopt;
    http::Response r;
    r.status = 403;
    r.body = ErrorXml("AccessDenied", "Access Denied", {}, {}, RequestId());
    r.SetHeader("Content-Type", "application/xml");
    return r;
  }
  auth::VerifyOptions vo;
  vo.service = std::string(kService);
  std::optional<auth::AuthError> e = directory_->AuthenticateHead(head, vo);
  if (!e) return std::nullopt;
  return AuthFailure(*e, RequestId());
}

std::shared_ptr<http::BodyConsumer> S3Service::DivertBody(const http::Request& head) {
  // Only object uploads (PutObject, UploadPart) are large; everything else is small XML.
  if (!Handles(head) || head.method != "PUT" || head.FindHeader("x-amz-copy-source"))
    return nullptr;
  auto target = ParseTarget(head, options_.domain);
  if (!target || target->bucket.empty() || target->key.empty()) return nullptr;
  // Without x-amz-content-sha256 the signature covers the body's hash: it must be whole.
  if (options_.auth && !head.FindHeader("x-amz-content-sha256") &&
      head.query.find("X-Amz-Credential") == std::string::npos)
    return nullptr;
  auto caller = Authenticate(head, directory_, options_.auth, false);
  if (auto* refused = std::get_if<http::Response>(&caller)) {
    // Dropped as it comes; the worker verifies the request again and answers why.
    return Upload::Refused(
        {refused->status, "AccessDenied", "The request was refused when its head arrived."});
  }
  if (!std::get<Caller>(caller).access.May("s3:PutObject", target->bucket, target->key))
    return Upload::Refused({403, "AccessDenied", "Access Denied"});
  return Upload::Start(head, std::get<Caller>(caller).id, ctx_->staging);
}

void S3Service::Handle(http::Request&& request, http::Responder responder) {
  queue_->Submit(std::move(request), std::move(responder));
}

http::Response S3Service::Serve(const http::Request& req) {
  auto caller = Authenticate(req, directory_, options_.auth, req.diverted_body == nullptr);
  if (auto* refused = std::get_if<http::Response>(&caller)) return std::move(*refused);
  Handler h(ctx_.get(), req, std::get<Caller>(caller).id);
  h.Restrict(std::get<Caller>(caller).access);
  return h.Serve();
}

size_t S3Service::SweepOnce() {
  auto all = buckets_->All();
  if (!all.ok()) return 0;
  const int64_t now = clock_->NowMillis();
  size_t removed = 0;
  for (const Bucket& b : *all) {
    if (b.lifecycle.empty()) continue;
    // A page at a time, from where the last page ended: the walk never holds the bucket.
    ListRequest lr;
    lr.max_keys = 1000;
    for (;;) {
      std::vector<std::string> expired;
      lr.hidden = [&](const std::string& key, int64_t mtime_ms) {
        auto at = ExpiryMs(b, key, mtime_ms);
        if (at && *at <= now) expired.push_back(key);
        return false;
      };
      auto page = ListDirectory(b.root, lr);
      if (!page.ok()) break;
      for (const std::string& key : expired) {
        std::string leaf;
        auto dir = OpenParent(b.root, key, false, &leaf);
        if (!dir.ok()) continue;
        // Checked again on the file itself: a PutObject since the listing made it new.
        struct stat st;
        bool still =
            ::fstatat(*dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
        auto at = still
                      ? ExpiryMs(b, key, st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000)
                      : std::nullopt;
        if (at && *at <= now && ::unlinkat(*dir, leaf.c_str(), 0) == 0) {
          ++removed;
          ::close(*dir);
          RemoveEmptyParents(b.root, key);
        } else {
          ::close(*dir);
        }
      }
      if (!page->truncated) break;
      lr.after = page->last;
      lr.after_is_prefix = page->last_is_prefix;
      std::unique_lock<std::mutex> l(sweep_mu_);
      if (stopping_) return removed;
    }
  }
  if (removed > 0) LOG(kInfo) << "s3: lifecycle expired " << removed << " object(s)";
  return removed;
}

void S3Service::SweepLoop() {
  std::unique_lock<std::mutex> l(sweep_mu_);
  while (!stopping_) {
    sweep_cv_.wait_for(l, std::chrono::milliseconds(options_.lifecycle_interval_ms));
    if (stopping_) break;
    l.unlock();
    SweepOnce();
    l.lock();
  }
}

}  // namespace millrace::s3
