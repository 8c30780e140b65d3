// HttpClient: the blocking HTTP/1.1 client under the S3 store, over libcurl.
//
// One request at a time per libcurl easy handle; handles are pooled, so connections (and
// TLS sessions) are reused across calls and threads. Redirects are not followed (S3 answers
// a wrong region with one; following it would send the signed request elsewhere). TLS peers
// and host names are always verified against the system's CA store. Proxies come from the
// usual environment variables (http_proxy, https_proxy, no_proxy), as with curl(1).
//
// Timeouts: connecting may take `timeout_ms`, and a request fails once no byte has moved
// either way for `timeout_ms` (checked about once a second while idle), so a large part on
// a slow link is not cut off while a dead or silent server is.
//
// Thread-safe: any number of threads may call Send at once.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/thread_annotations.h"
#include "http/message.h"

namespace millrace::objstore {

struct HttpRequest {
  std::string method;                 // "GET", "PUT", "POST", "DELETE"
  std::string url;                    // scheme://host[:port]/path?query, already encoded
  std::vector<http::Header> headers;  // sent as given (Host included); no Expect
  std::string_view body;              // sent with PUT and POST; must outlive Send
};

struct HttpResponse {
  int status = 0;
  std::vector<http::Header> headers;  // of the final response
  std::string body;

  const std::string* FindHeader(std::string_view name) const;
};

class HttpClient {
 public:
  explicit HttpClient(int timeout_ms);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The response, whatever its status. When none arrived: kUnavailable for what a retry
  // may fix (refused or reset connections, name resolution, timeouts, TLS handshakes),
  // kIoError otherwise (a certificate that does not verify, a malformed URL). The message
  // is libcurl's description.
  Result<HttpResponse> Send(const HttpRequest& request);

 private:
  void* Acquire();             // a CURL* easy handle, reset
  void Release(void* handle);  // back to the pool (or freed if the pool is full)

  const int timeout_ms_;
  std::mutex mu_;
  std::vector<void*> idle_ GUARDED_BY(mu_);
};

}  // namespace millrace::objstore
