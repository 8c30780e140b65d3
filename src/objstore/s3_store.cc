// S3Store: an ObjectStore in an S3-compatible bucket, through our own client: requests
// signed with SigV4 (auth/sigv4.h, service "s3"), sent by HttpClient (libcurl). The requests
// and the answers we rely on are listed in docs/objstore.md.
//
// Put is PutObject below multipart_threshold and a multipart upload from there on; either
// way the object appears whole or not at all (a multipart object only on
// CompleteMultipartUpload). A multipart upload that fails is aborted, so its parts do not
// linger (and cost) in the bucket; if even the abort fails, a bucket lifecycle rule
// (AbortIncompleteMultipartUpload) is the backstop, as for any S3 client.
//
// No retries here: every failure is returned, classified (s3_xml.h ErrorStatus), and the
// caller (delivery) retries what is kUnavailable. Every payload is hashed and the hash both
// signed and sent in x-amz-content-sha256, so S3 checks the bytes it stores.
//
// Thread-safe: the configuration and the Signer are immutable, HttpClient pools its
// handles.
#include <algorithm>

#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "objstore/http_client.h"
#include "objstore/keys.h"
#include "objstore/object_store.h"
#include "objstore/s3_xml.h"

namespace millrace::objstore {
namespace {

constexpr size_t kMinPartSize = 5u << 20;  // S3's minimum for every part but the last
constexpr size_t kMaxParts = 10000;        // S3's maximum number of parts

// The pieces of endpoint_url that requests are built from.
struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string authority;  // "host[:port]", sent as Host (and prefixed by the bucket when
                          // virtual-hosted)
  std::string base_path;  // "" or "/path" without a trailing '/' (an S3 behind a proxy path)
};

Result<Endpoint> ParseEndpoint(const std::string& url) {
  auto invalid = [&url](const char* why) {
    return Status::InvalidArgument("S3 endpoint_url '" + url + "' " + why);
  };
  Endpoint e;
  size_t sep = url.find("://");
  if (sep == std::string::npos) return invalid("has no scheme (http:// or https://)");
  e.scheme = url.substr(0, sep);
  if (e.scheme != "http" && e.scheme != "https") return invalid("is neither http:// nor https://");
  std::string_view rest = std::string_view(url).substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return invalid("has a query or fragment");
  size_t slash = rest.find('/');
  e.authority = std::string(rest.substr(0, slash));
  if (e.authority.empty()) return invalid("has no host");
  if (e.authority.find('@') != std::string::npos) return invalid("has user information");
  if (slash != std::string_view::npos) e.base_path = std::string(rest.substr(slash));
  while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  return e;
}

class S3Store final : public ObjectStore {
 public:
  S3Store(S3Config config, Endpoint endpoint)
      : config_(std::move(config)),
        endpoint_(std::move(endpoint)),
        signer_({config_.access_key_id, config_.secret_access_key, config_.session_token},
                config_.region, "s3"),
        http_(config_.timeout_ms),
        describe_("s3://" + config_.bucket + "/" + config_.prefix + " (" + config_.endpoint_url +
                  ")") {}

  Status Put(const std::string& key, std::string_view data,
             const std::string& content_type) override;
  Result<std::optional<std::string>> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return describe_; }

 private:
  // "<Describe()>: <operation> '<key>'", the start of every error message.
  std::string Context(std::string_view op, std::string_view key) const {
    return describe_ + ": " + std::string(op) + " '" + std::string(key) + "'";
  }
  // Signs and sends one request. `object_key` is the full bucket key (prefix included),
  // or nullopt for a request on the bucket itself; `query` is already encoded. A transport
  // failure comes back as a Status whose message starts with the context.
  Result<HttpResponse> Send(std::string_view op, std::string_view key, const char* method,
                            const std::optional<std::string>& object_key, std::string query,
                            std::string_view body, std::string_view content_type);
  Status PutMultipart(const std::string& key, std::string_view data,
                      const std::string& content_type);
  void AbortMultipart(const std::string& key, const std::string& upload_query);

  const S3Config config_;
  const Endpoint endpoint_;
  const auth::Signer signer_;
  HttpClient http_;
  const std::string describe_;
};

Result<HttpResponse> S3Store::Send(std::string_view op, std::string_view key, const char* method,
                                   const std::optional<std::string>& object_key, std::string query,
                                   std::string_view body, std::string_view content_type) {
  http::Request r;
  r.method = method;
  std::string host = endpoint_.authority;
  r.path = endpoint_.base_path;
  if (config_.path_style) {
    r.path += "/" + config_.bucket;
  } else {
    host = config_.bucket + "." + host;
  }
  if (object_key) {
    // Each segment percent-encoded, '/' kept: the one encoding S3 signs and decodes.
    r.path += "/" + auth::UriEncode(*object_key, /*keep_slash=*/true);
  } else if (!config_.path_style) {
    r.path += "/";
  }
  r.query = std::move(query);
  r.target = r.query.empty() ? r.path : r.path + "?" + r.query;
  r.headers.push_back({"Host", host});
  if (!content_type.empty()) r.headers.push_back({"Content-Type", std::string(content_type)});

  auth::SignOptions options;
  options.add_content_sha256_header = true;
  options.payload_hash = crypto::Sha256Hex(body);
  signer_.Sign(&r, SystemClock::Default()->NowMillis(), options);

  HttpRequest request;
  request.method = r.method;
  request.url = endpoint_.scheme + "://" + host + r.target;
  request.headers = std::move(r.headers);
  request.body = body;
  Result<HttpResponse> response = http_.Send(request);
  if (!response.ok())
    return Status(response.status().code(), Context(op, key) + ": " + response.status().message());
  return response;
}

Status S3Store::Put(const std::string& key, std::string_view data,
                    const std::string& content_type) {
  MILLRACE_RETURN_IF_ERROR(CheckKey(key, describe_));
  const std::string type = content_type.empty() ? "application/octet-stream" : content_type;
  // An empty object is always a PutObject: a multipart upload needs at least one part.
  if (!data.empty() && data.size() >= config_.multipart_threshold)
    return PutMultipart(key, data, type);

  Result<HttpResponse> r = Send("PutObject", key, "PUT", config_.prefix + key, "", data, type);
  if (!r.ok()) return r.status();
  if (r->status != 200) return s3::ErrorStatus(r->status, r->body, Context("PutObject", key));
  return Status::Ok();
}

Status S3Store::PutMultipart(const std::string& key, std::string_view data,
                             const std::string& content_type) {
  const std::string full = config_.prefix + key;
  Result<HttpResponse> r =
      Send("CreateMultipartUpload", key, "POST", full, "uploads", "", content_type);
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return s3::ErrorStatus(r->status, r->body, Context("CreateMultipartUpload", key));
  std::optional<std::string> upload_id = s3::ParseUploadId(r->body);
  if (!upload_id)
    return Status::IoError(Context("CreateMultipartUpload", key) +
                           ": the answer has no UploadId: " + r->body.substr(0, 200));
  const std::string upload_query = "uploadId=" + auth::UriEncode(*upload_id, false);

  // At most kMaxParts parts: a larger object gets larger parts.
  const size_t part_size = std::max(config_.part_size, (data.size() + kMaxParts - 1) / kMaxParts);
  std::vector<s3::CompletedPart> parts;
  Status s;
  for (size_t offset = 0; s.ok() && offset < data.size(); offset += part_size) {
    const int number = static_cast<int>(parts.size()) + 1;
    std::string_view part = data.substr(offset, part_size);
    r = Send("UploadPart", key, "PUT", full,
             "partNumber=" + std::to_string(number) + "&" + upload_query, part, "");
    if (!r.ok()) {
      s = r.status();
    } else if (r->status != 200) {
      s = s3::ErrorStatus(r->status, r->body,
                          Context("UploadPart", key) + " part " + std::to_string(number));
    } else if (const std::string* etag = r->FindHeader("ETag"); etag == nullptr) {
      s = Status::IoError(Context("UploadPart", key) + " part " + std::to_string(number) +
                          ": the answer has no ETag header");
    } else {
      parts.push_back({number, *etag});
    }
  }
  if (s.ok()) {
    const std::string body = s3::CompleteMultipartUploadBody(parts);
    r = Send("CompleteMultipartUpload", key, "POST", full, upload_query, body, "application/xml");
    if (!r.ok()) {
      s = r.status();
    } else if (r->status != 200 || s3::ParseError(r->body)) {
      // S3 may answer 200 and then report a failure in the body (it starts sending early
      // to keep the connection alive while it assembles the parts).
      s = s3::ErrorStatus(r->status, r->body, Context("CompleteMultipartUpload", key));
    }
  }
  if (!s.ok()) AbortMultipart(key, upload_query);
  return s;
}

void S3Store::AbortMultipart(const std::string& key, const std::string& upload_query) {
  Result<HttpResponse> r =
      Send("AbortMultipartUpload", key, "DELETE", config_.prefix + key, upload_query, "", "");
  Status s = r.status();
  if (r.ok() && r->status != 204 && r->status != 200)
    s = s3::ErrorStatus(r->status, r->body, Context("AbortMultipartUpload", key));
  // NoSuchUpload: the failed Complete may have completed after all, or S3 dropped it.
  if (!s.ok())
    LOG(kWarn) << s.ToString() << " (the parts stay until a lifecycle rule removes them)";
}

Result<std::optional<std::string>> S3Store::Get(const std::string& key) {
  MILLRACE_RETURN_IF_ERROR(CheckKey(key, describe_));
  Result<HttpResponse> r = Send("GetObject", key, "GET", config_.prefix + key, "", "", "");
  if (!r.ok()) return r.status();
  if (r->status == 200) return std::optional<std::string>(std::move(r->body));
  if (r->status == 404) {
    std::optional<s3::ErrorBody> e = s3::ParseError(r->body);
    if (!e || e->code != "NoSuchBucket") return std::optional<std::string>();  // NoSuchKey
  }
  return s3::ErrorStatus(r->status, r->body, Context("GetObject", key));
}

Result<std::vector<std::string>> S3Store::List(const std::string& prefix) {
  MILLRACE_RETURN_IF_ERROR(CheckPrefix(prefix, describe_));
  const std::string full_prefix = config_.prefix + prefix;
  std::vector<std::string> keys;
  std::string token;
  while (true) {
    std::string query = "list-type=2&prefix=" + auth::UriEncode(full_prefix, false);
    if (!token.empty()) query += "&continuation-token=" + auth::UriEncode(token, false);
    Result<HttpResponse> r = Send("ListObjectsV2", prefix, "GET", std::nullopt, query, "", "");
    if (!r.ok()) return r.status();
    if (r->status != 200)
      return s3::ErrorStatus(r->status, r->body, Context("ListObjectsV2", prefix));
    std::optional<s3::ListPage> page = s3::ParseListObjectsV2(r->body);
    if (!page)
      return Status::IoError(Context("ListObjectsV2", prefix) +
                             ": the answer is not a ListBucketResult: " + r->body.substr(0, 200));
    for (std::string& k : page->keys) {
      // A server that ignores the prefix would hand us other keys; never return them.
      if (k.starts_with(full_prefix)) keys.push_back(k.substr(config_.prefix.size()));
    }
    if (!page->truncated) break;
    if (page->next_token.empty() || page->next_token == token)
      return Status::IoError(Context("ListObjectsV2", prefix) +
                             ": a truncated page without a new NextContinuationToken");
    token = std::move(page->next_token);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status S3Store::Delete(const std::string& key) {
  MILLRACE_RETURN_IF_ERROR(CheckKey(key, describe_));
  Result<HttpResponse> r = Send("DeleteObject", key, "DELETE", config_.prefix + key, "", "", "");
  if (!r.ok()) return r.status();
  if (r->status == 204 || r->status == 200) return Status::Ok();
  if (r->status == 404) {  // S3 answers 204 for a missing key; some servers answer NoSuchKey
    std::optional<s3::ErrorBody> e = s3::ParseError(r->body);
    if (!e || e->code != "NoSuchBucket") return Status::Ok();
  }
  return s3::ErrorStatus(r->status, r->body, Context("DeleteObject", key));
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> NewS3Store(const S3Config& config) {
  Result<Endpoint> endpoint = ParseEndpoint(config.endpoint_url);
  if (!endpoint.ok()) return endpoint.status();
  auto invalid = [](const std::string& why) { return Status::InvalidArgument("S3 store: " + why); };
  if (config.bucket.empty() || config.bucket.find('/') != std::string::npos)
    return invalid("bucket '" + config.bucket + "' is empty or contains '/'");
  if (!config.prefix.empty() && (config.prefix.back() != '/' || config.prefix.front() == '/'))
    return invalid("prefix '" + config.prefix + "' must be empty or end (and not start) with '/'");
  if (config.region.empty()) return invalid("region is empty");
  if (config.access_key_id.empty() || config.secret_access_key.empty())
    return invalid("access_key_id and secret_access_key are required");
  if (config.part_size < kMinPartSize)
    return invalid("part_size " + std::to_string(config.part_size) +
                   " is below S3's minimum of 5 MiB");
  if (config.timeout_ms <= 0) return invalid("timeout_ms must be positive");
  return std::unique_ptr<ObjectStore>(std::make_unique<S3Store>(config, std::move(*endpoint)));
}

}  // namespace millrace::objstore
