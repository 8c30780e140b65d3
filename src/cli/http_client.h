// HttpClient: the CLI's side of the control API: one HTTP request at a time over libcurl,
// signed with SigV4 (service "millrace") when there are credentials, unsigned otherwise
// (a server run with `--auth none` accepts that).
//
// Exactly the headers that are signed go on the wire, plus those curl adds and nobody
// signs (Content-Length); "Expect: 100-continue" is turned off. Not thread-safe: one client
// per thread (the CLI has one).
#pragma once

#include <optional>
#include <string>

#include "auth/sigv4.h"
#include "common/status.h"

namespace millrace::cli {

struct HttpAnswer {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `endpoint`: "http://127.0.0.1:4580" (a path after the authority, as behind a proxy,
  // prefixes every request's path).
  HttpClient(std::string endpoint, std::optional<auth::Credentials> credentials,
             std::string region);

  // Sends `method` to `path` (each segment already percent-encoded) with `query` (without
  // '?', may be empty) and `body` (sent as application/json when not empty, or when the
  // method is POST, PUT or PATCH). Any HTTP status is an answer; kUnavailable when the
  // server cannot be reached or does not answer (the message names the endpoint and why),
  // kInvalidArgument for an endpoint that is not http(s)://host[:port][/path].
  Result<HttpAnswer> Send(const std::string& method, const std::string& path,
                          const std::string& query, const std::string& body) const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  std::optional<auth::Credentials> credentials_;
  std::string region_;
};

// The keys of `profile` in an AWS shared-credentials file ("[default]\naws_access_key_id =
// ...\naws_secret_access_key = ...", as the server writes to <data-dir>/credentials).
// NotFound if the file cannot be read or has no such profile; InvalidArgument if the
// profile lacks a key id or secret.
Result<auth::Credentials> ReadCredentialsFile(const std::string& path, const std::string& profile);

}  // namespace millrace::cli
