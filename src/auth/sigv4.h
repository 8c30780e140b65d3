// AWS Signature Version 4: verifying signed requests (server) and signing them (our CLI,
// load generator and tests).
//
// A request carries its signature either in the Authorization header
//   Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/kinesis/aws4_request,
//                  SignedHeaders=host;x-amz-date, Signature=<64 hex>
// with the time in X-Amz-Date (or, as AWS accepts, in Date), or in a presigned query
// (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature,
// optional X-Amz-Expires and X-Amz-Security-Token).
//
// The signature is HMAC-SHA256 over a "string to sign" that hashes a canonical form of the
// request (method, path, query, the signed headers, the payload hash), keyed by a key
// derived from the secret and the credential scope (date/region/service/aws4_request).
// The canonical form is what both sides must agree on byte for byte; the builders below
// are exposed so tests can pin them to the AWS test suite
// (shared/testdata/aws-sigv4, tests/unit/auth_sigv4_test.cc).
//
// Paths: every service except S3 normalizes the path (removes "." and ".." segments and
// empty segments, as botocore does) and URI-encodes the path as it arrived on the wire a
// second time ("double encoding": %20 becomes %2520). S3 does neither; it only puts the
// single encoding into canonical form (each byte decoded, then encoded the one SigV4 way).
// Query strings: each name and value is percent-decoded, then encoded the SigV4 way
// (unreserved characters A-Z a-z 0-9 - _ . ~ kept, everything else %XX with upper-case hex;
// '+' is a literal plus, as RFC 3986 says), and the pairs are sorted by name, then value.
//
// All functions here are pure and thread-safe. Nothing throws on bad input: malformed
// authentication is an AuthError value.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/message.h"

namespace millrace::auth {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

// ---- Time ------------------------------------------------------------------------------

// 1440938160 -> "20150830T123600Z" (ISO 8601 basic format, UTC, whole seconds).
std::string FormatAmzDate(int64_t unix_seconds);
// "20150830T123600Z" -> seconds since the epoch; nullopt unless exactly that shape and a
// real calendar time.
std::optional<int64_t> ParseAmzDate(std::string_view s);
// An HTTP Date header: IMF-fixdate ("Sun, 30 Aug 2015 12:36:00 GMT") or, as AWS also
// accepts there, the ISO 8601 basic format.
std::optional<int64_t> ParseHttpDate(std::string_view s);

// ---- Canonical request builders ----------------------------------------------------------

// How a service canonicalizes; see the file comment.
struct CanonicalOptions {
  bool normalize_path = true;
  bool double_encode_path = true;
  // A presigned request without an X-Amz-Content-Sha256 parameter or header signs the
  // literal UNSIGNED-PAYLOAD (S3) instead of the SHA-256 of the body (everything else).
  bool unsigned_presigned_payload = false;

  // S3 (any service name starting with "s3") gets {false, false, true}; every other
  // service the defaults.
  static CanonicalOptions ForService(std::string_view service);
};

// Percent-encodes every byte except A-Z a-z 0-9 - _ . ~ (and '/', when keep_slash).
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes; a '%' not followed by two hex digits is kept literally.
std::string UriDecode(std::string_view s);
// The value of `name` in a query string ("a=1&list-type=2"), percent-decoded (the name
// too); an empty string for "a" or "a="; nullopt if absent.
std::optional<std::string> QueryValue(std::string_view query, std::string_view name);

// The canonical URI (line 2) for `path` as received (still percent-encoded). An empty
// path is "/".
std::string CanonicalUri(std::string_view path, const CanonicalOptions& options);

// The canonical query string (line 3) for `query` as received (without '?'). Parameters
// whose decoded name is in `exclude` are left out (X-Amz-Signature when verifying).
std::string CanonicalQuery(std::string_view query, std::span<const std::string_view> exclude = {});

// The canonical header block (line 4 onwards): "name:value\n" for each name in
// `signed_headers` (lower-case, in the order given), the value being every header of that
// name (case-insensitive) in arrival order, each trimmed with inner runs of spaces and tabs
// collapsed to one space, joined by ','. A signed header that is absent has an empty value.
std::string CanonicalHeaders(std::span<const http::Header> headers,
                             std::span<const std::string> signed_headers);

// "host;x-amz-date" from {"host", "x-amz-date"}.
std::string JoinSignedHeaders(std::span<const std::string> signed_headers);

// The six parts joined into the canonical request:
//   method \n uri \n query \n headers-block \n signed-headers \n payload-hash
// (headers-block already ends with '\n', hence the blank line AWS shows).
std::string CanonicalRequest(std::string_view method, std::string_view canonical_uri,
                             std::string_view canonical_query, std::string_view canonical_headers,
                             std::string_view signed_headers, std::string_view payload_hash);

// "20150830/us-east-1/service/aws4_request".
std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// The 32 raw bytes of the signing key for `secret` and the scope (date is YYYYMMDD).
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

// Lower-case hex HMAC-SHA256 of `string_to_sign` under `signing_key`.
std::string Signature(std::string_view signing_key, std::string_view string_to_sign);

// The intermediate results of one signature computation, for tests and for debugging
// (S3 returns the canonical request and string to sign in SignatureDoesNotMatch).
struct SigningTrace {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// ---- Signing (clients) -------------------------------------------------------------------

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty when the credentials are long-term
};

struct SignOptions {
  // Unset: CanonicalOptions::ForService(service).
  std::optional<CanonicalOptions> canonical;
  // Header signing only: add (and sign) an x-amz-content-sha256 header with the payload
  // hash. S3 requires it; the JSON services do not.
  bool add_content_sha256_header = false;
  // Add X-Amz-Security-Token after signing instead of signing it (some services, and the
  // AWS test suite's "omit_session_token" cases, want it so).
  bool omit_session_token = false;
  // The payload hash to sign, used literally (UNSIGNED-PAYLOAD, STREAMING-...). Empty: an
  // x-amz-content-sha256 header already on the request, else the presign default of the
  // canonical options, else the SHA-256 of the body.
  std::string payload_hash;
  // Presigning only: X-Amz-Expires in seconds (AWS allows 1 to 604800).
  int64_t expires_seconds = 3600;
};

// Signs requests with one set of credentials for one region and service. Immutable after
// construction, so one Signer may be shared by any number of threads.
class Signer {
 public:
  Signer(Credentials credentials, std::string region, std::string service);

  // Adds X-Amz-Security-Token (if there is a token), X-Amz-Date, x-amz-content-sha256 (if
  // asked) and Authorization to `request`, replacing any earlier ones, so a retry may be
  // signed again. Every header already on the request is signed except hop-by-hop ones,
  // User-Agent and X-Amzn-Trace-Id, which proxies and SDKs rewrite; the caller sets Host
  // first. `request->path` and `query` are used as they will go on the wire.
  SigningTrace Sign(http::Request* request, int64_t now_ms, const SignOptions& options = {}) const;

  // Presigns: appends X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders,
  // X-Amz-Expires, X-Amz-Security-Token (if there is a token) and X-Amz-Signature to the
  // query (updating `request->target`). Headers are signed as by Sign(), none are added.
  SigningTrace Presign(http::Request* request, int64_t now_ms,
                       const SignOptions& options = {}) const;

  const Credentials& credentials() const { return credentials_; }
  const std::string& region() const { return region_; }
  const std::string& service() const { return service_; }

 private:
  Credentials credentials_;
  std::string region_;
  std::string service_;
};

// ---- Verifying (server) ------------------------------------------------------------------

// Why a request was refused. The names and messages are those AWS's JSON services
// (Kinesis) answer; the caller maps a kind to its wire (HTTP status, __type or S3 code).
// The texts were checked against responses quoted in public issue threads: the combined
// "Authorization header requires ..." (aws/chalice#828), "Signature expired: ..."
// (aws/aws-sdk-js#254), "Signature not yet current: ..." (serverless/enterprise#11), the
// region and service scope messages (aws/aws-sdk-ruby#508, JuliaCloud/AWS.jl#334), the
// five-element credential message (yet-another-cloudwatch-exporter#169), the scope date
// message (disneystreaming/smithy4s#387, from Kinesis), "The security token included in
// the request is invalid." and S3's "Request has expired" (aws/aws-sdk-js#2306). The
// others (presigned-query, terminator, ISO-8601 date, X-Amz-Expires, both-schemes and
// x-amz-content-sha256 messages) follow AWS's wording from memory, unconfirmed.
enum class AuthErrorKind {
  kMissingAuthenticationToken,  // no Authorization header and no presigned query at all
  kIncompleteSignature,         // the header or query is malformed or lacks a part
  kUnrecognizedClient,          // the access key id is unknown
  kInvalidSignature,            // the signature does not match, the scope is wrong, or the time is
                                // more than the allowed skew away from now
  kRequestExpired,              // a presigned request past its X-Amz-Expires
  kContentSha256Mismatch,       // x-amz-content-sha256 is a hash and not the body's
  kInvalidToken,                // X-Amz-Security-Token is missing, malformed, not this key's,
                                // or sent with a long-term key
  kExpiredToken,                // temporary credentials past their expiration
};

// "MissingAuthenticationTokenException", "IncompleteSignatureException",
// "UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
// "XAmzContentSHA256Mismatch", "UnrecognizedClientException" (an invalid token, as Kinesis
// answers it), "ExpiredTokenException".
std::string_view AuthErrorName(AuthErrorKind kind);

struct AuthError {
  AuthErrorKind kind;
  std::string message;  // the exact text AWS sends
};

// Who signed an accepted request, and what a streaming-payload decoder needs to check the
// chunk signatures that follow (seed signature, time, scope, signing key).
struct VerifiedIdentity {
  std::string access_key_id;
  std::string region;
  std::string service;
  std::string session_token;  // X-Amz-Security-Token as sent (signed or not); not checked
  std::string amz_date;       // the request time, "20150830T123600Z"
  std::string scope;          // "20150830/us-east-1/kinesis/aws4_request"
  std::string signature;      // the seed signature
  std::string signing_key;    // 32 raw bytes; secret material, never log it
  std::string payload_hash;   // as signed: a hex hash, UNSIGNED-PAYLOAD or STREAMING-...
  bool presigned = false;
};

class [[nodiscard]] VerifyResult {
 public:
  VerifyResult(VerifiedIdentity identity) : v_(std::move(identity)) {}  // NOLINT: implicit
  VerifyResult(AuthError error) : v_(std::move(error)) {}               // NOLINT: implicit
  bool ok() const { return v_.index() == 0; }
  const VerifiedIdentity& identity() const { return std::get<0>(v_); }  // requires ok()
  const AuthError& error() const { return std::get<1>(v_); }            // requires !ok()

 private:
  std::variant<VerifiedIdentity, AuthError> v_;
};

// The secret of an access key id, or nullopt when the key is unknown (or disabled). Called
// at most once per Verify, on the calling thread.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key_id)>;

struct VerifyOptions {
  std::string region;   // non-empty: the credential scope must name this region
  std::string service;  // non-empty: the credential scope must name this service
  // Unset: CanonicalOptions::ForService(the service in the credential scope).
  std::optional<CanonicalOptions> canonical;
  // How far the request time may be from now, both ways (AWS: 15 minutes).
  int64_t max_skew_ms = 15 * 60 * 1000;
  // Refuse a request whose x-amz-content-sha256 header is a hex hash other than the
  // SHA-256 of the body (the signature covers the header, not the body).
  bool check_content_sha256 = true;
  // Whether a payload hash of UNSIGNED-PAYLOAD or STREAMING-* (declared in
  // x-amz-content-sha256) is taken as signed. Unset: only for S3 (a scope service that
  // starts with "s3"), as AWS; every other service signs the body's SHA-256 whatever the
  // header says, so such a request fails there as a signature mismatch.
  std::optional<bool> allow_unsigned_payload;
  // Whether an X-Amz-Security-Token header may be left out of SignedHeaders. AWS's own
  // test suite has such a request (post-sts-header-after), and some services take it;
  // Millrace does not, by default: every x-amz-* header must be signed.
  bool allow_unsigned_security_token = false;
};

// Verifies the SigV4 signature of `request` at time `now_ms` (ms since the epoch).
//
// Checks, in order: presence of a scheme (not both), well-formedness, that `host` and every
// x-amz-* header present are among the signed headers (so that no signed request can be
// replayed with another X-Amz-Target, token or payload hash), the credential scope
// (five parts, terminator, date equal to the request's, region and service if asked), the
// time (skew, or X-Amz-Expires for presigned requests), the access key, the signature
// (compared in constant time), then the payload hash. A presigned X-Amz-Security-Token is
// accepted both signed and appended after signing. `trace`, if given, receives the last
// canonical request, string to sign and computed signature (left empty if verification
// stopped before computing them).
VerifyResult Verify(const http::Request& request, const SecretLookup& lookup, int64_t now_ms,
                    const VerifyOptions& options = {}, SigningTrace* trace = nullptr);

// The checks of Verify that need no body (every one up to and including the key look-up),
// for a request whose body has not been read yet: a refusal here saves reading it. Verify
// must still run on the whole request.
std::optional<AuthError> VerifyHead(const http::Request& head, const SecretLookup& lookup,
                                    int64_t now_ms, const VerifyOptions& options = {});

}  // namespace millrace::auth
