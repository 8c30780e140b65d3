// HttpServer::Impl: binds the listening sockets, one per event loop, and runs each loop on
// its own thread (http/event_loop.h does the serving).
#include "http/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "http/event_loop.h"

namespace millrace::http {

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, Handler handler) {
    shared_.options = std::move(options);
    shared_.handler = std::move(handler);
  }
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }

 private:
  Status Bind(const addrinfo& ai, bool reuse_port, int* fd);

  LoopShared shared_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool running_ = false;
};

Status HttpServer::Impl::Bind(const addrinfo& ai, bool reuse_port, int* out) {
  int fd = ::socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    Status s = Status::FromErrno(errno, "setsockopt(SO_REUSEPORT)");
    ::close(fd);
    return s;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, ai.ai_addr, ai.ai_addrlen);
  if (addr.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(port_);
  } else {
    reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port = htons(port_);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), ai.ai_addrlen) != 0) {
    Status s =
        Status::FromErrno(errno, "bind " + shared_.options.host + ":" + std::to_string(port_));
    ::close(fd);
    return s;
  }
  if (port_ == 0) {
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&addr)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  *out = fd;
  return Status::Ok();
}

Status HttpServer::Impl::Start() {
  if (running_) return Status::FailedPrecondition("the HTTP server is already running");
  const ServerOptions& o = shared_.options;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(o.host.empty() ? nullptr : o.host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr)
    return Status::InvalidArgument("cannot resolve listen host '" + o.host +
                                   "': " + gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, freeaddrinfo);

  // SO_REUSEPORT lets any process of the same user join the port and silently take a share
  // of the connections. Bind once without it first, so a port in use fails as it should.
  port_ = o.port;
  int probe = -1;
  MILLRACE_RETURN_IF_ERROR(Bind(*res, /*reuse_port=*/false, &probe));
  ::close(probe);

  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  for (int i = 0; i < threads; ++i) {
    int fd = -1;
    Status s = Bind(*res, /*reuse_port=*/true, &fd);
    if (s.ok() && ::listen(fd, SOMAXCONN) != 0) {
      s = Status::FromErrno(errno, "listen");
      ::close(fd);
    }
    if (s.ok()) {
      loops_.push_back(std::make_unique<EventLoop>(&shared_, fd));
      s = loops_.back()->Init();
    }
    if (!s.ok()) {
      loops_.clear();
      return s;
    }
  }
  for (auto& loop : loops_) threads_.emplace_back([l = loop.get()] { l->Run(); });
  running_ = true;
  LOG(kInfo) << "http: listening on " << o.host << ":" << port_ << " with " << threads
             << " event loop" << (threads == 1 ? "" : "s");
  return Status::Ok();
}

void HttpServer::Impl::Stop() {
  if (!running_) return;
  for (auto& loop : loops_) loop->RequestStop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  loops_.clear();  // closes the connections and drops queued answers
  running_ = false;
}

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::port() const { return impl_->port(); }

}  // namespace millrace::http
