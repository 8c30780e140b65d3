// HttpServer: the listener. HTTP/1.1 with keep-alive and HTTP/2 (h2.h), in cleartext or
// TLS (tls.h), on epoll event loops, one loop per thread. HTTP/1.1 requests on one
// connection are answered in order, one at a time (a pipelined request waits until the
// previous response is sent); HTTP/2 streams are answered as their handlers finish. Both
// codecs sit below the same Handler interface.
//
// Thread-safety: Start and Stop are called from one thread. The Handler runs on loop
// threads and may answer later, from any thread, through its Responder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "http/message.h"
#include "http/parser.h"
#include "http/tls.h"

namespace millrace::http {

// Answers a request whose head is complete and whose body is not read yet: a refusal
// (sent at once, and the connection closed without reading the body), or nullopt to read
// on. Runs on a loop thread; must not block. See ServerOptions::head_check_bytes.
using HeadCheck = std::function<std::optional<Response>(const Request& head)>;

// Every bound below is what one client, authenticated or not, can make the server hold;
// docs/security.md lists them with their tests.
struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4580;  // 0 picks a free port (see HttpServer::port())
  int threads = 0;       // event-loop threads; 0 = number of cores
  size_t max_header_bytes = 64 * 1024;
  // Larger bodies get 413 and the connection closes. 16 MiB holds a 10 MiB record (or a
  // 10 MiB PutRecords) in base64 JSON.
  size_t max_body_bytes = 16 * 1024 * 1024;
  int header_timeout_ms = 30000;  // a request's head must arrive within this (slowloris)
  int idle_timeout_ms = 120000;   // keep-alive connections idle longer are closed
  // The whole request (head and body) must arrive within this of its first byte.
  int request_timeout_ms = 120000;
  // While a body arrives, every body_check_ms it must have brought min_body_bytes_per_s on
  // average since the last check (a client trickling a byte at a time is cut off).
  int body_check_ms = 10000;
  size_t min_body_bytes_per_s = 16 * 1024;
  // Bytes held over all connections for requests not yet handed to a handler (heads and
  // bodies: none is authenticated yet). A request that would pass it gets 503 with
  // Retry-After and the connection closes.
  size_t max_unauthenticated_bytes = 32 * 1024 * 1024;
  int max_connections = 4096;  // further connections are accepted and closed at once
  // Bodies larger than this are read only after `head_check` let the head through.
  size_t head_check_bytes = 64 * 1024;
  HeadCheck head_check;  // unset: no check
  // For a large body (as above) whose head passed the check: a sink to take the body as it
  // arrives (an S3 upload, to disk), or an empty one to buffer it as usual. A diverted body
  // may be up to max_diverted_body_bytes, has no overall deadline (the minimum rate holds)
  // and arrives with an empty Request::body; the sink is the handler's business.
  std::function<std::shared_ptr<BodyConsumer>(const Request& head)> body_diversion;
  uint64_t max_diverted_body_bytes = 0;
  // Set: every connection is TLS (ALPN offers h2 and http/1.1). Unset: cleartext HTTP/1.1,
  // and HTTP/2 for a client that opens with its preface (prior knowledge).
  std::shared_ptr<TlsContext> tls;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();  // stops the server if running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the loop threads. Returns once the server accepts connections.
  Status Start();
  // Stops accepting, closes every connection and joins the threads. Idempotent.
  void Stop();
  // The bound port (useful with port 0).
  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace millrace::http
