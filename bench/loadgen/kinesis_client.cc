#include "loadgen/kinesis_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/crypto.h"
#include "loadgen/timing.h"

namespace millrace::bench {
namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";
constexpr std::string_view kTargetPrefix = "Kinesis_20131202.";
constexpr std::string_view kSignedHeaders = "content-type;host;x-amz-date;x-amz-target";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "com.amazonaws.kinesis.v20131202#ResourceNotFoundException" -> "ResourceNotFoundException";
// "ResourceNotFoundException:http://internal.amazon.com/..." -> the same.
std::string NormalizeErrorType(std::string_view t) {
  size_t colon = t.find(':');
  if (colon != std::string_view::npos) t = t.substr(0, colon);
  size_t hash = t.rfind('#');
  if (hash != std::string_view::npos) t = t.substr(hash + 1);
  return std::string(Trim(t));
}

}  // namespace

Result<Endpoint> ParseEndpoint(std::string_view url) {
  if (url.starts_with("http://")) url.remove_prefix(7);
  if (url.starts_with("https://"))
    return Status::InvalidArgument("--endpoint: the load generator speaks plain HTTP only");
  while (url.ends_with("/")) url.remove_suffix(1);
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos)
    return Status::InvalidArgument("--endpoint: expected host:port, got '" + std::string(url) +
                                   "'");
  Endpoint ep;
  ep.host = std::string(url.substr(0, colon));
  std::string port(url.substr(colon + 1));
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p <= 0 || p > 65535)
    return Status::InvalidArgument("--endpoint: bad port '" + port + "'");
  ep.port = static_cast<uint16_t>(p);
  std::string ip = ep.host == "localhost" ? "127.0.0.1" : ep.host;
  ep.addr.sin_family = AF_INET;
  ep.addr.sin_port = htons(ep.port);
  if (inet_pton(AF_INET, ip.c_str(), &ep.addr.sin_addr) != 1)
    return Status::InvalidArgument("--endpoint: '" + ep.host + "' is not an IPv4 address");
  if ((ntohl(ep.addr.sin_addr.s_addr) >> 24) != 127)
    return Status::InvalidArgument("--endpoint: " + ep.host +
                                   " is not a loopback address; the benchmarks load only this "
                                   "machine");
  ep.host_header = ep.host + ":" + port;
  return ep;
}

Result<auth::Credentials> ReadCredentialsFile(const std::string& given) {
  std::string path = given;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) path += "/credentials";
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, "open " + path);
  auth::Credentials c;
  std::string line;
  bool in_profile = false, done = false;
  while (!done && std::getline(in, line)) {
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      done = in_profile;  // only the first profile
      in_profile = true;
      continue;
    }
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = Trim(l.substr(0, eq)), v = Trim(l.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key_id = std::string(v);
    if (k == "aws_secret_access_key") c.secret_access_key = std::string(v);
    if (k == "aws_session_token") c.session_token = std::string(v);
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return Status::InvalidArgument(path + ": no aws_access_key_id and aws_secret_access_key");
  return c;
}

Result<int> Connect(const Endpoint& ep, bool non_blocking) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (non_blocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ep.addr), sizeof ep.addr) != 0 &&
      errno != EINPROGRESS) {
    int err = errno;
    ::close(fd);
    return Status(Code::kUnavailable, "connect " + ep.host_header + ": " + std::strerror(err));
  }
  return fd;
}

// ---- RequestSigner ----

RequestSigner::RequestSigner(auth::Credentials credentials, std::string region,
                             std::string host_header, bool use_full_signer)
    : signer_(std::move(credentials), std::move(region), "kinesis"),
      host_header_(std::move(host_header)),
      // A session token adds a signed header the fixed header set lacks.
      use_full_signer_(use_full_signer || !signer_.credentials().session_token.empty()) {
  credential_prefix_ =
      std::string(auth::kAlgorithm) + " Credential=" + signer_.credentials().access_key_id + "/";
}

void RequestSigner::Refresh(int64_t now_ms) {
  int64_t second = now_ms / 1000;
  if (second == second_) return;
  second_ = second;
  amz_date_ = auth::FormatAmzDate(second);
  std::string day = amz_date_.substr(0, 8);
  if (day != day_) {
    day_ = day;
    scope_ = auth::CredentialScope(day_, signer_.region(), signer_.service());
    signing_key_ = auth::SigningKey(signer_.credentials().secret_access_key, day_, signer_.region(),
                                    signer_.service());
  }
}

void RequestSigner::AppendRequest(std::string_view action, std::string_view body, int64_t now_ms,
                                  std::string* out) {
  out->append("POST / HTTP/1.1\r\nHost: ").append(host_header_);
  out->append("\r\nContent-Type: ").append(kContentType);
  out->append("\r\nX-Amz-Target: ").append(kTargetPrefix).append(action);
  if (use_full_signer_) {
    http::Request r;
    r.method = "POST";
    r.target = r.path = "/";
    r.headers = {{"Host", host_header_},
                 {"Content-Type", std::string(kContentType)},
                 {"X-Amz-Target", std::string(kTargetPrefix) + std::string(action)}};
    r.body = std::string(body);
    signer_.Sign(&r, now_ms);
    for (size_t i = 3; i < r.headers.size(); ++i)
      out->append("\r\n").append(r.headers[i].name).append(": ").append(r.headers[i].value);
  } else {
    Refresh(now_ms);
    std::string headers;
    headers.reserve(160 + host_header_.size());
    headers.append("content-type:").append(kContentType);
    headers.append("\nhost:").append(host_header_);
    headers.append("\nx-amz-date:").append(amz_date_);
    headers.append("\nx-amz-target:").append(kTargetPrefix).append(action).append("\n");
    std::string canonical =
        auth::CanonicalRequest("POST", "/", "", headers, kSignedHeaders, crypto::Sha256Hex(body));
    std::string signature =
        auth::Signature(signing_key_, auth::StringToSign(amz_date_, scope_, canonical));
    out->append("\r\nX-Amz-Date: ").append(amz_date_);
    out->append("\r\nAuthorization: ").append(credential_prefix_).append(scope_);
    out->append(", SignedHeaders=").append(kSignedHeaders);
    out->append(", Signature=").append(signature);
  }
  out->append("\r\nContent-Length: ").append(std::to_string(body.size()));
  out->append("\r\n\r\n").append(body);
}

void RequestSigner::AppendFormRequest(std::string_view service, std::string_view body,
                                      int64_t now_ms, std::string* out) {
  http::Request r;
  r.method = "POST";
  r.target = r.path = "/";
  r.headers = {{"Host", host_header_},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = std::string(body);
  auth::Signer(signer_.credentials(), signer_.region(), std::string(service)).Sign(&r, now_ms);
  out->append("POST / HTTP/1.1");
  for (const auto& h : r.headers) out->append("\r\n").append(h.name).append(": ").append(h.value);
  out->append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out->append(body);
}

Status RequestSigner::SelfCheck() {
  const int64_t now_ms = WallMillis();
  const std::string body = R"({"StreamName":"self-check","PartitionKey":"k","Data":"AA=="})";
  if (!signer_.credentials().session_token.empty()) return Status::Ok();  // full signer only
  std::string fast, full;
  bool saved = use_full_signer_;
  use_full_signer_ = false;
  AppendRequest("PutRecord", body, now_ms, &fast);
  use_full_signer_ = true;
  AppendRequest("PutRecord", body, now_ms, &full);
  use_full_signer_ = saved;
  auto authorization = [](const std::string& req) {
    size_t p = req.find("Authorization: ");
    return req.substr(p, req.find("\r\n", p) - p);
  };
  if (authorization(fast) != authorization(full))
    return Status::Internal("signer self-check failed:\n  fast: " + authorization(fast) +
                            "\n  full: " + authorization(full));
  return Status::Ok();
}

// ---- Errors ----

std::string ErrorTypeOf(const ResponseParser& p) {
  if (!p.error_type_header().empty()) return NormalizeErrorType(p.error_type_header());
  std::string_view b = p.body();
  size_t k = b.find("\"__type\"");
  if (k == std::string_view::npos) return "";
  size_t q1 = b.find('"', b.find(':', k + 8));
  if (q1 == std::string_view::npos) return "";
  size_t q2 = b.find('"', q1 + 1);
  if (q2 == std::string_view::npos) return "";
  return NormalizeErrorType(b.substr(q1 + 1, q2 - q1 - 1));
}

// ---- BlockingClient ----

BlockingClient::~BlockingClient() { Close(); }

void BlockingClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status BlockingClient::Call(std::string_view action, std::string_view body, Reply* reply) {
  out_.clear();
  signer_->AppendRequest(action, body, WallMillis(), &out_);
  int64_t start = MonoNanos();
  bool retryable = false;
  Status s = Attempt(&retryable);
  if (!s.ok() && retryable) {
    start = MonoNanos();
    s = Attempt(&retryable);
  }
  if (!s.ok()) return s;
  reply->latency_ns = MonoNanos() - start;
  reply->status = parser_.status();
  reply->error_type = parser_.status() / 100 == 2 ? "" : ErrorTypeOf(parser_);
  reply->body = parser_.body();
  reply->body_capacity = parser_.body_capacity();
  if (!parser_.keep_alive()) Close();
  return Status::Ok();
}

// One send and receive. *retryable: the connection was reused and the server closed it
// before answering anything (an idle keep-alive timeout), so resending is safe.
Status BlockingClient::Attempt(bool* retryable) {
  const bool reused = fd_ >= 0;
  *retryable = false;
  if (fd_ < 0) {
    Result<int> fd = Connect(ep_, /*non_blocking=*/false);
    if (!fd.ok()) return fd.status();
    fd_ = *fd;
  }
  parser_.Reset();
  for (size_t off = 0; off < out_.size();) {
    ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      Close();
      *retryable = reused && off == 0;
      return Status(Code::kUnavailable, std::string("send: ") + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  bool got_any = false;
  while (true) {
    constexpr size_t kChunk = 256 * 1024;
    char* p = parser_.Prepare(kChunk);
    ssize_t n = ::recv(fd_, p, kChunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      Close();
      *retryable = reused && !got_any;
      return Status(Code::kUnavailable, std::string("recv: ") + std::strerror(err));
    }
    ResponseParser::State st = parser_.Commit(static_cast<size_t>(n));
    if (n == 0 && !got_any) {
      Close();
      *retryable = reused;
      return Status(Code::kUnavailable, "connection closed before a response");
    }
    got_any = true;
    if (st == ResponseParser::State::kComplete) return Status::Ok();
    if (st == ResponseParser::State::kError) {
      Close();
      return Status(Code::kUnavailable, "bad response: " + parser_.error());
    }
  }
}

}  // namespace millrace::bench
