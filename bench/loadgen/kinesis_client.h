// The load generator's side of the Kinesis wire: where to connect, whose credentials,
// how each request is signed and framed, and a blocking client for control-plane calls.
//
// Requests are AWS JSON 1.1 over HTTP/1.1 keep-alive, exactly as the AWS SDKs send them:
//   POST / HTTP/1.1
//   Host, Content-Type: application/x-amz-json-1.1, X-Amz-Target: Kinesis_20131202.<Action>,
//   X-Amz-Date, Authorization: AWS4-HMAC-SHA256 ... (those four headers signed)
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "auth/sigv4.h"
#include "common/status.h"
#include "loadgen/response_parser.h"

namespace millrace::bench {

// A server on this machine. Only loopback addresses are accepted: the benchmarks never
// send load anywhere else.
struct Endpoint {
  std::string host;  // "127.0.0.1"
  uint16_t port = 0;
  std::string host_header;  // "127.0.0.1:4580"
  sockaddr_in addr{};
};

// "http://127.0.0.1:4580", "127.0.0.1:4580" or "localhost:4580".
Result<Endpoint> ParseEndpoint(std::string_view url);

// Reads aws_access_key_id, aws_secret_access_key and aws_session_token from the first
// profile of an AWS-style INI file (Millrace writes DIR/credentials so). `path` may name
// the data directory instead of the file.
Result<auth::Credentials> ReadCredentialsFile(const std::string& path);

// Opens a TCP connection to `ep` with TCP_NODELAY; non-blocking if asked (the connect is
// then in progress). Returns the fd, or a Status naming the failure.
Result<int> Connect(const Endpoint& ep, bool non_blocking);

// Signs and frames Kinesis JSON 1.1 requests. Thread-compatible (caches the signing key
// of the current day and the X-Amz-Date of the current second): one per thread.
//
// The signature is computed per request with the building blocks of auth/sigv4.h
// (CanonicalRequest, StringToSign, Signature) over a header set fixed in advance, which
// saves the signing-key derivation and the header sorting of auth::Signer::Sign; SelfCheck
// proves the result is byte for byte what auth::Signer::Sign produces. With
// `use_full_signer` every request goes through auth::Signer::Sign instead.
class RequestSigner {
 public:
  RequestSigner(auth::Credentials credentials, std::string region, std::string host_header,
                bool use_full_signer = false);

  // Appends the whole request (head and body) for X-Amz-Target Kinesis_20131202.<action>,
  // signed at `now_ms` (wall clock, ms since the epoch), to *out.
  void AppendRequest(std::string_view action, std::string_view body, int64_t now_ms,
                     std::string* out);

  // Appends a query-protocol request (POST / with a form-encoded body, as STS and IAM take
  // it) signed for `service` with the full signer, to *out.
  void AppendFormRequest(std::string_view service, std::string_view body, int64_t now_ms,
                         std::string* out);

  // Signs a sample request both ways and compares the Authorization headers.
  Status SelfCheck();

 private:
  void Refresh(int64_t now_ms);

  auth::Signer signer_;
  std::string host_header_;
  bool use_full_signer_;
  int64_t second_ = -1;   // the second amz_date_ is for
  std::string amz_date_;  // "20150830T123600Z"
  std::string day_;       // "20150830"
  std::string scope_;     // "20150830/us-east-1/kinesis/aws4_request"
  std::string signing_key_;
  std::string credential_prefix_;  // "AWS4-HMAC-SHA256 Credential=AKID/"
};

// The error an answer names, without namespace or suffix: "ResourceNotFoundException".
// From X-Amzn-ErrorType, else the body's "__type"; empty if neither.
std::string ErrorTypeOf(const ResponseParser& parser);

// One answer of BlockingClient::Call.
struct Reply {
  int status = 0;
  std::string error_type;  // empty for 2xx
  std::string_view body;   // valid until the next Call; body_capacity() bytes readable
  size_t body_capacity = 0;
  int64_t latency_ns = 0;
};

// One keep-alive connection, one call at a time, for control-plane calls, filling and the
// GetRecords consumer. Reconnects (and resends once) when the server closed an idle
// connection. Not thread-safe.
class BlockingClient {
 public:
  BlockingClient(const Endpoint& ep, RequestSigner* signer) : ep_(ep), signer_(signer) {}
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Any HTTP answer is OK with `reply` filled in; a Status is a connection failure.
  Status Call(std::string_view action, std::string_view body, Reply* reply);

 private:
  Status Attempt(bool* retryable);
  void Close();

  Endpoint ep_;
  RequestSigner* signer_;
  int fd_ = -1;
  std::string out_;
  ResponseParser parser_;
};

}  // namespace millrace::bench
