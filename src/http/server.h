// HttpServer: the listener. HTTP/1.1 with keep-alive on epoll event loops, one loop per
// thread. Requests on one connection are answered in order, one at a time (a pipelined
// request waits until the previous response is sent). The protocol codec is separate from
// the connection (http/parser.h), so HTTP/2 can be added below the same Handler interface.
//
// Thread-safety: Start and Stop are called from one thread. The Handler runs on loop
// threads and may answer later, from any thread, through its Responder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace millrace::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4580;  // 0 picks a free port (see HttpServer::port())
  int threads = 0;       // event-loop threads; 0 = number of cores
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = 12 * 1024 * 1024;  // larger bodies get 413 and the connection closes
  int header_timeout_ms = 30000;             // a request's head must arrive within this (slowloris)
  int idle_timeout_ms = 120000;              // keep-alive connections idle longer are closed
  int max_connections = 20000;               // further connections are accepted and closed at once
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
