// The connection state machine and the event loop around it (see event_loop.h).
//
// A connection reads a request, hands it to the Handler and reads nothing more until the
// answer is written: requests are answered in order, and pipelined bytes wait in
// `pending`. Reads go into the loop's one 64 KiB scratch buffer; a connection keeps only
// what it must (a partial line inside the parser, pipelined bytes, unsent output), so an
// idle connection costs a few hundred bytes.
//
// Answers cross threads through the loop's Mailbox: Responder -> ConnSink::Deliver -> on
// the loop's own thread, straight to the connection; from any other thread, into the
// mailbox (a mutex-guarded vector) and an eventfd wakes the loop. A closed connection
// clears its sink's pointer (on the loop thread), so a late answer is dropped. The mailbox
// is shared by the sinks, so an answer after Stop() finds it closed rather than freed.
#include "http/event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "http/h2.h"
#include "http/serializer.h"
#include "http/tls.h"

namespace millrace::http {
namespace {

constexpr size_t kScratchBytes = 64 * 1024;  // one per loop; every read lands here first
constexpr int kMaxReadsPerTurn = 16;         // then other connections get a turn
constexpr int kMaxAcceptsPerTurn = 64;
constexpr int kMaxEvents = 256;
constexpr int kLingerMs = 2000;               // reading and dropping input after the last response
constexpr size_t kKeepCapacityBytes = 4096;   // larger idle buffers are freed
constexpr size_t kTrimAfterBytes = 64 << 10;  // freeing a buffer this large asks for a trim
constexpr int64_t kTrimIntervalMs = 1000;
constexpr size_t kH2OutBytes = 256 << 10;
constexpr size_t kTlsCoalesceBytes =
    16 << 10;  // one TLS record's worth  // HTTP/2 frames produced before they are written

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void FreeIfLarge(std::string* s) {
  if (s->capacity() > kKeepCapacityBytes) {
    std::string().swap(*s);
  } else {
    s->clear();
  }
}

// "ip:port", or "[ip6]:port".
std::string FormatAddress(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  bool v6 = ss.ss_family == AF_INET6;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (v6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  char port_text[8];
  auto [end, ec] = std::to_chars(port_text, port_text + sizeof(port_text), port);
  std::string out;
  out.reserve(sizeof(host) + sizeof(port_text) + 3);
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  out.push_back(':');
  out.append(port_text, end);
  return out;
}

}  // namespace

// Responses waiting for their loop. Shared by the loop and every sink of its connections,
// so it outlives the loop; it owns the eventfd for the same reason (a late Post may still
// write to it). Thread-safe.
class Mailbox {
 public:
  struct Item {
    std::shared_ptr<ConnSink> sink;
    Response response;
    int32_t stream_id = 0;  // the HTTP/2 stream answered; 0 over HTTP/1.1
    bool kick = false;      // not an answer: a streamed body has more to send
  };

  explicit Mailbox(int event_fd) : event_fd_(event_fd) {}
  ~Mailbox() { ::close(event_fd_); }
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  int fd() const { return event_fd_; }

  // Queues a response for the loop and wakes it; dropped once the mailbox is closed.
  void Post(std::shared_ptr<ConnSink> sink, Response response, int32_t stream_id, bool kick) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;  // the response is destroyed after the unlock
      items_.push_back(Item{std::move(sink), std::move(response), stream_id, kick});
      wake = !signaled_;
      signaled_ = true;
    }
    if (wake) Wake();
  }

  // Loop thread: every queued item. The caller consumes and clears the vector before the
  // next Take (the two vectors trade places, so neither is reallocated in steady state).
  std::vector<Item>& Take() {
    uint64_t value;
    ssize_t n = ::read(event_fd_, &value, sizeof(value));  // resets the eventfd
    (void)n;
    std::lock_guard<std::mutex> lock(mu_);
    taken_.swap(items_);
    signaled_ = false;
    return taken_;
  }

  // Refuses further posts and drops what is queued.
  void Close() {
    std::vector<Item> dropped;
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    dropped.swap(items_);
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t n = ::write(event_fd_, &one, sizeof(one));
    (void)n;  // EAGAIN only when the counter is already huge: the loop is awake anyway
  }

 private:
  const int event_fd_;
  std::mutex mu_;
  std::vector<Item> items_;  // guarded by mu_
  bool closed_ = false;      // guarded by mu_
  bool signaled_ = false;    // guarded by mu_: a wake-up is pending, no need to write again
  std::vector<Item> taken_;  // loop thread only
};

namespace {
// The loop thread's mailbox, so Deliver can tell whether it already runs on that loop.
thread_local const Mailbox* t_loop_mailbox = nullptr;
// Distinct addresses that tag the non-connection descriptors in epoll_event.data.ptr.
char kListenTag;
char kMailboxTag;
}  // namespace

// One per connection, shared by the Responders of its requests (one at a time).
class ConnSink final : public Responder::Sink, public std::enable_shared_from_this<ConnSink> {
 public:
  ConnSink(std::shared_ptr<Mailbox> mailbox, EventLoop* loop, Connection* conn)
      : conn(conn), mailbox_(std::move(mailbox)), loop_(loop) {}
  void Deliver(Response response) override { DeliverStream(0, std::move(response)); }
  // The answer to HTTP/2 stream `stream_id` (0: the connection's one HTTP/1.1 request).
  void DeliverStream(int32_t stream_id, Response response);
  // A streamed body (Response::stream) of that request has more to send.
  void Kick(int32_t stream_id);

  Connection* conn;  // loop thread only; nullptr once the connection closed

 private:
  std::shared_ptr<Mailbox> mailbox_;
  EventLoop* loop_;  // dereferenced only on the loop's own thread, where it is alive
};

// The Responder of one HTTP/2 request: its stream's answer, through the connection's sink.
class StreamSink final : public Responder::Sink {
 public:
  StreamSink(std::shared_ptr<ConnSink> conn, int32_t stream_id)
      : conn_(std::move(conn)), stream_id_(stream_id) {}
  void Deliver(Response response) override {
    conn_->DeliverStream(stream_id_, std::move(response));
  }

 private:
  const std::shared_ptr<ConnSink> conn_;
  const int32_t stream_id_;
};

// An HTTP/2 connection's session calls back into its loop through this.
class H2Bridge final : public H2Host {
 public:
  H2Bridge(EventLoop* loop, Connection* c) : loop_(loop), c_(c) {}
  void OnRequest(int32_t stream_id, Request&& request) override {
    loop_->DispatchH2(c_, stream_id, std::move(request));
  }
  std::optional<Response> OnHead(const Request& head,
                                 std::shared_ptr<BodyConsumer>* sink) override {
    return loop_->CheckH2Head(head, sink);
  }
  std::function<void()> WakeFor(int32_t stream_id) override;

 private:
  EventLoop* const loop_;
  Connection* const c_;
};

// One accepted socket and the request it is serving. Loop thread only.
class Connection {
 public:
  enum class State {
    kReading,    // parsing a request (or idle between requests)
    kWaiting,    // the handler has the request; nothing is read
    kWriting,    // sending the answer
    kLingering,  // answered and shut down for writing; input is read and dropped
    kH2,         // an HTTP/2 connection: the session (h2) has the streams
  };

  Connection(int fd, std::string remote, const ParserLimits& limits)
      : fd(fd), remote(std::move(remote)), parser(limits) {}
  ~Connection() {
    if (ssl) SSL_free(ssl);
  }

  int fd;
  SSL* ssl = nullptr;            // set: the connection is TLS
  bool protocol_chosen = false;  // its first bytes were read (HTTP/1.1 or HTTP/2 decided)
  std::unique_ptr<H2Bridge> h2_bridge;
  std::unique_ptr<H2Session> h2;  // set in state kH2
  std::string file_chunk;         // TLS: the piece of a file body being written
  size_t file_chunk_off = 0;
  std::shared_ptr<BodyStream> stream;  // HTTP/1.1: the answer's body still being written
  State state = State::kReading;
  std::string remote;  // "ip:port"
  RequestParser parser;
  std::shared_ptr<ConnSink> sink;

  std::string pending;  // bytes read past the current request (pipelining)
  size_t pending_off = 0;
  std::string out;  // status line and headers (or "100 Continue") not yet sent
  size_t out_off = 0;
  std::string body;  // the response body, sent after `out`
  size_t body_off = 0;
  std::shared_ptr<FileBody> file;  // or the body from a file, after `out` (sendfile)
  uint64_t file_sent = 0;

  Response response;  // an answer that arrived while its handler was still running
  bool has_response = false;
  bool in_dispatch = false;  // the handler is running (answers are stashed, not driven)
  bool keep_alive = true;
  bool http10 = false;
  bool head_request = false;
  bool close_after_write = false;
  bool continue_sent = false;
  bool readable = false;  // the socket may hold unread bytes (edge-triggered)
  bool peer_eof = false;  // the peer shut down its side; read until the end
  bool closed = false;

  // The current request, while it arrives (none of it is authenticated yet).
  size_t accounted = 0;          // bytes counted in LoopShared::unauthenticated_bytes
  int64_t request_start_ms = 0;  // its first byte; 0 between requests
  size_t body_mark = 0;          // body bytes at the last rate check
  bool head_checked = false;     // the head check ran for it
  bool diverted = false;         // its body goes to a sink (ServerOptions::body_diversion)

  size_t index = 0;  // in EventLoop::conns_
  TimerList* timer = nullptr;
  Connection* timer_prev = nullptr;
  Connection* timer_next = nullptr;
  int64_t deadline_ms = 0;
};

void ConnSink::DeliverStream(int32_t stream_id, Response response) {
  if (t_loop_mailbox == mailbox_.get()) {
    loop_->DeliverLocal(this, stream_id, std::move(response));
  } else {
    mailbox_->Post(shared_from_this(), std::move(response), stream_id, false);
  }
}

void ConnSink::Kick(int32_t stream_id) {
  if (t_loop_mailbox == mailbox_.get()) {
    loop_->KickLocal(this, stream_id);
  } else {
    mailbox_->Post(shared_from_this(), Response(), stream_id, true);
  }
}

std::function<void()> H2Bridge::WakeFor(int32_t stream_id) {
  return [sink = c_->sink, stream_id] { sink->Kick(stream_id); };
}

namespace {

// Reads from the socket, or through TLS: what read(2) would return (errno EAGAIN when
// nothing is there yet, 0 at the end of the stream).
ssize_t ReadSome(Connection* c, char* buf, size_t len) {
  if (c->ssl == nullptr) return ::read(c->fd, buf, len);
  ERR_clear_error();
  int n = SSL_read(c->ssl, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX)));
  if (n > 0) return n;
  switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return 0;  // the peer closed without close_notify
      return -1;
    default:
      LOG(kDebug) << "tls: " << c->remote << ": " << ERR_reason_error_string(ERR_peek_last_error());
      errno = EPROTO;
      return -1;
  }
}

// Whether a read of n bytes into the scratch buffer left the socket with nothing more to
// read until its next event (a short read; through TLS, what the socket BIO saw).
bool Drained(Connection* c, ssize_t n) {
  if (c->peer_eof) return false;
  if (c->ssl) return TlsDrained(c->ssl);
  return static_cast<size_t>(n) < kScratchBytes;
}

// Writes the first of `iov` (TLS) or all of them (plain), as sendmsg(2) would answer.
ssize_t WriteSome(Connection* c, iovec* iov, int count) {
  if (c->ssl == nullptr) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    return ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
  }
  ERR_clear_error();
  int n = SSL_write(c->ssl, iov[0].iov_base,
                    static_cast<int>(std::min<size_t>(iov[0].iov_len, 1 << 20)));
  if (n > 0) return n;
  int e = SSL_get_error(c->ssl, n);
  errno = (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) ? EAGAIN : EPIPE;
  return -1;
}

}  // namespace

EventLoop::EventLoop(LoopShared* shared, int listen_fd) : shared_(shared), listen_fd_(listen_fd) {
  const ServerOptions& o = shared->options;
  limits_.max_header_bytes = o.max_header_bytes;
  limits_.max_body_bytes = o.max_body_bytes;
  limits_.max_diverted_body_bytes = o.body_diversion ? o.max_diverted_body_bytes : 0;
  limits_.pause_after_head = static_cast<bool>(o.head_check);
  header_timers_.duration_ms = o.header_timeout_ms;
  body_timers_.duration_ms = std::max(1, o.body_check_ms);
  idle_timers_.duration_ms = o.idle_timeout_ms;
  linger_timers_.duration_ms = std::min(kLingerMs, std::max(1, o.idle_timeout_ms));
}

EventLoop::~EventLoop() {
  for (auto& c : conns_) {
    if (c->closed) continue;
    ::close(c->fd);
    c->sink->conn = nullptr;
    shared_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  if (mailbox_) mailbox_->Close();
  ::close(listen_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void EventLoop::RequestStop() {
  stop_.store(true, std::memory_order_relaxed);
  mailbox_->Wake();
}

Status EventLoop::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::FromErrno(errno, "epoll_create1");
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return Status::FromErrno(errno, "eventfd");
  mailbox_ = std::make_shared<Mailbox>(efd);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  scratch_ = std::make_unique<char[]>(kScratchBytes);

  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: a turn may leave connections in the backlog
  ev.data.ptr = &kListenTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0)
    return Status::FromErrno(errno, "epoll_ctl(listen)");
  ev.events = EPOLLIN;
  ev.data.ptr = &kMailboxTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, mailbox_->fd(), &ev) != 0)
    return Status::FromErrno(errno, "epoll_ctl(eventfd)");
  return Status::Ok();
}

void EventLoop::Run() {
  t_loop_mailbox = mailbox_.get();
  epoll_event events[kMaxEvents];
  now_ms_ = NowMs();
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, NextTimeoutMs());
    if (n < 0 && errno != EINTR) {
      LOG(kError) << "epoll_wait: " << std::strerror(errno);
      break;
    }
    now_ms_ = NowMs();
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &kListenTag) {
        OnAccept();
      } else if (tag == &kMailboxTag) {
        OnMailbox();
      } else {
        OnConnEvent(static_cast<Connection*>(tag), events[i].events);
      }
    }
    if (!deferred_.empty()) {
      std::vector<Connection*> again;
      again.swap(deferred_);
      for (Connection* c : again)
        if (!c->closed) Drive(c);
    }
    // Drive may answer other connections of this loop, which land in ready_ again.
    for (size_t i = 0; i < ready_.size(); ++i)
      if (!ready_[i]->closed) Drive(ready_[i]);
    ready_.clear();
    ExpireTimers();
    Bury();
    MaybeTrim();
  }
  t_loop_mailbox = nullptr;
}

void EventLoop::OnAccept() {
  for (int i = 0; i < kMaxAcceptsPerTurn; ++i) {
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: the pending connection would keep the listener readable
        // forever. Use the spare descriptor to accept it and close it at once.
        LOG(kWarn) << "out of file descriptors; refusing a connection";
        if (spare_fd_ >= 0) {
          ::close(spare_fd_);
          int victim = ::accept(listen_fd_, nullptr, nullptr);
          if (victim >= 0) ::close(victim);
          spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          continue;
        }
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        LOG(kWarn) << "accept: " << std::strerror(errno);
      }
      return;
    }
    if (shared_->connections.fetch_add(1, std::memory_order_relaxed) >=
        shared_->options.max_connections) {
      shared_->connections.fetch_sub(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto owned = std::make_unique<Connection>(fd, FormatAddress(ss), limits_);
    Connection* c = owned.get();
    if (shared_->options.tls) {
      c->ssl = shared_->options.tls->NewSsl(fd);
      if (c->ssl == nullptr) {
        LOG(kWarn) << "tls: cannot start a session for " << c->remote;
        shared_->connections.fetch_sub(1, std::memory_order_relaxed);
        ::close(fd);
        continue;
      }
    }
    c->sink = std::make_shared<ConnSink>(mailbox_, this, c);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      LOG(kWarn) << "epoll_ctl(add): " << std::strerror(errno);
      shared_->connections.fetch_sub(1, std::memory_order_relaxed);
      ::close(fd);
      continue;
    }
    c->index = conns_.size();
    conns_.push_back(std::move(owned));
    Arm(c, &header_timers_);  // the first request's head is due from the connect
  }
}

void EventLoop::OnMailbox() {
  std::vector<Mailbox::Item>& items = mailbox_->Take();
  // A closed connection's sink has no connection: DeliverLocal drops the answer.
  for (Mailbox::Item& item : items) {
    if (item.kick) {
      KickLocal(item.sink.get(), item.stream_id);
    } else {
      DeliverLocal(item.sink.get(), item.stream_id, std::move(item.response));
    }
  }
  items.clear();
}

void EventLoop::DeliverLocal(ConnSink* sink, int32_t stream_id, Response response) {
  Connection* c = sink->conn;
  if (c == nullptr) return;
  if (c->h2) {
    c->h2->Respond(stream_id, std::move(response));
    if (!c->in_dispatch) ready_.push_back(c);  // inside it, DriveH2 sends it next
    return;
  }
  if (c->state != Connection::State::kWaiting || c->has_response) {
    LOG(kError) << "http: an answer for a request that is not waiting; dropped";
    return;
  }
  c->response = std::move(response);
  c->has_response = true;
  // Inside the handler, Dispatch picks it up when the handler returns; otherwise it is
  // driven at the end of this turn, not here, so connections never drive each other
  // recursively.
  if (!c->in_dispatch) ready_.push_back(c);
}

void EventLoop::KickLocal(ConnSink* sink, int32_t stream_id) {
  Connection* c = sink->conn;
  if (c == nullptr) return;
  if (c->h2) {
    c->h2->Resume(stream_id);
  } else if (!c->stream) {
    return;  // the body already ended
  }
  if (!c->in_dispatch) ready_.push_back(c);
}

void EventLoop::OnConnEvent(Connection* c, uint32_t events) {
  if (c->closed) return;                 // closed earlier in this turn
  if (events & (EPOLLERR | EPOLLHUP)) {  // reset, or both directions shut: nothing to save
    Close(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP)) c->readable = true;
  if (events & EPOLLRDHUP) c->peer_eof = true;
  Drive(c);
}

void EventLoop::Drive(Connection* c) {
  while (!c->closed) {
    switch (c->state) {
      case Connection::State::kReading:
        if (c->out_off < c->out.size()) Flush(c);  // a "100 Continue" still queued
        if (c->closed || !ReadRequest(c)) return;
        break;
      case Connection::State::kWaiting:
        if (!c->has_response) return;
        c->has_response = false;
        StartResponse(c, c->response);
        break;
      case Connection::State::kWriting:
        if (!Flush(c)) return;
        if (c->stream) {      // a streamed body: what its writer queued since, as chunks
          if (c->peer_eof) {  // the client stopped listening: the writer stops too
            Close(c);
            return;
          }
          if (!PullStream(c)) return;  // nothing yet: its writer kicks us
          break;
        }
        FinishResponse(c);
        break;
      case Connection::State::kLingering:
        Discard(c);
        return;
      case Connection::State::kH2:
        DriveH2(c);
        return;
    }
  }
}

// Feeds the parser from the pipelined bytes, then from the socket. True when the state
// changed (a request went to the handler, or an error answer is queued).
bool EventLoop::ReadRequest(Connection* c) {
  if (c->pending_off < c->pending.size()) {
    size_t used = 0;
    std::string_view rest(c->pending.data() + c->pending_off, c->pending.size() - c->pending_off);
    ParseStatus status = c->parser.Feed(rest, &used);
    c->pending_off += used;
    if (c->pending_off == c->pending.size()) {
      c->pending.clear();
      c->pending_off = 0;
    }
    if (status == ParseStatus::kHeadComplete) {
      if (!Account(c)) return true;
      if (CheckHead(c)) return true;
      return ReadRequest(c);  // the body, from what is left of `pending`, then the socket
    }
    if (status != ParseStatus::kError && !Account(c)) return true;
    if (status != ParseStatus::kNeedMore) return OnParsed(c, status);
    if (CheckHead(c)) return true;
  }
  for (int reads = 0; c->readable; ++reads) {
    if (reads == kMaxReadsPerTurn) {
      deferred_.push_back(c);
      break;
    }
    ssize_t n = ReadSome(c, scratch_.get(), kScratchBytes);
    if (n > 0) {
      // A short read drained the socket; more bytes will raise a new edge. After the
      // peer's FIN no edge comes, so then read on until read() says the stream ended.
      // (TLS reads a record at a time: read on until it says it has nothing.)
      if (Drained(c, n)) c->readable = false;
      if (!c->protocol_chosen) {
        // HTTP/2: chosen by ALPN in TLS, or by the client's preface in cleartext (prior
        // knowledge, as the AWS SDK for JavaScript v3 connects to an http:// endpoint).
        c->protocol_chosen = true;
        std::string_view first(scratch_.get(), static_cast<size_t>(n));
        const bool h2 = c->ssl ? AlpnProtocol(c->ssl) == "h2" : first.starts_with("PRI ");
        if (h2) {
          StartH2(c, first);
          return true;
        }
      }
      size_t used = 0;
      ParseStatus status = c->parser.Feed(std::string_view(scratch_.get(), n), &used);
      if (status == ParseStatus::kHeadComplete) {
        // The rest of this read is body (or more): checked and diverted first, then fed.
        if (!Account(c)) return true;
        if (CheckHead(c)) return true;
        size_t more = 0;
        status = c->parser.Feed(std::string_view(scratch_.get() + used, n - used), &more);
        used += more;
        if (status == ParseStatus::kHeadComplete) status = ParseStatus::kNeedMore;  // cannot be
      }
      if (status == ParseStatus::kComplete && used < static_cast<size_t>(n))
        c->pending.append(scratch_.get() + used, n - used);
      if (status != ParseStatus::kError && !Account(c)) return true;
      if (status != ParseStatus::kNeedMore) return OnParsed(c, status);
      if (CheckHead(c)) return true;
    } else if (n == 0) {
      Close(c);  // the peer is gone; a partial request cannot be answered
      return false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->readable = false;
    } else if (errno != EINTR) {
      Close(c);
      return false;
    }
  }
  if (c->parser.started()) {
    if (c->request_start_ms == 0) c->request_start_ms = now_ms_;
    if (!c->parser.head_complete()) {
      Arm(c, &header_timers_);
    } else {
      // The body must keep coming at the minimum rate: checked every body_check_ms, not
      // restarted by each byte (a byte every few seconds would hold the request forever).
      if (c->timer != &body_timers_) {
        c->body_mark = c->parser.body_bytes();
        Rearm(c, &body_timers_);
      }
      if (c->parser.expects_continue() && !c->continue_sent) {
        c->continue_sent = true;
        c->out.append("HTTP/1.1 100 Continue\r\n\r\n");
        Flush(c);
      }
    }
  }
  return false;
}

bool EventLoop::OnParsed(Connection* c, ParseStatus status) {
  if (status == ParseStatus::kComplete) {
    Dispatch(c);
  } else {
    LOG(kDebug) << "http: " << c->remote << ": " << c->parser.error_status() << " "
                << c->parser.error_reason();
    StartError(c, c->parser.error_status(), c->parser.error_reason());
  }
  return true;
}

void EventLoop::Dispatch(Connection* c) {
  c->keep_alive = c->parser.keep_alive();
  c->http10 = c->parser.http10();
  c->head_request = c->parser.method() == "HEAD";
  Request request = c->parser.TakeRequest();
  request.remote_address = c->remote;
  request.tls = c->ssl != nullptr;
  Release(c);  // the handler holds the request now, and authenticates it first
  c->request_start_ms = 0;
  c->head_checked = false;
  c->diverted = false;
  c->state = Connection::State::kWaiting;
  Disarm(c);  // the handler has no deadline here; its Responder guarantees an answer
  c->in_dispatch = true;
  try {
    shared_->handler(std::move(request), Responder(c->sink));
  } catch (const std::exception& e) {
    LOG(kError) << "http: handler threw: " << e.what();
  } catch (...) {
    LOG(kError) << "http: handler threw";
  }
  c->in_dispatch = false;
}

void EventLoop::StartResponse(Connection* c, Response& r) {
  ResponseFraming framing;
  // A peer that half-closed its side may still have pipelined requests in `pending`: they
  // are answered first; the answer to its last request closes the connection.
  const bool more_pipelined = c->pending_off < c->pending.size();
  framing.close = r.close_connection || !c->keep_alive || (c->peer_eof && !more_pipelined);
  framing.http10_keep_alive = c->http10;
  framing.send_body = !c->head_request;
  const bool streamed = r.stream && StatusHasBody(FinalStatus(r.status)) && !c->head_request;
  if (streamed) {
    framing.chunked = !c->http10;
    if (c->http10) framing.close = true;  // HTTP/1.0: the body ends with the connection
  }
  AppendResponseHead(r, framing, &c->out);
  if (streamed) {
    c->stream = std::move(r.stream);
    c->stream->SetWake([sink = c->sink] { sink->Kick(0); });
  } else if (r.stream) {
    r.stream->Cancel();
  }
  if (StatusHasBody(FinalStatus(r.status)) && !c->head_request) {
    c->body = std::move(r.body);
    c->file = std::move(r.file);
    c->file_sent = 0;
  }
  r = Response();
  c->close_after_write = framing.close;
  c->state = Connection::State::kWriting;
}

void EventLoop::StartError(Connection* c, int status, const std::string& reason) {
  Release(c);
  Response r = ErrorResponse(status, reason);
  if (status == 503) r.SetHeader("Retry-After", "1");
  c->keep_alive = false;
  c->head_request = false;
  StartResponse(c, r);
}

// Writes what is queued. True when all of it is out; false on EAGAIN (EPOLLOUT resumes)
// or when the connection was closed for an error.
bool EventLoop::Flush(Connection* c) {
  // Through TLS, a head and a small body go in one record (one write, not two): the body
  // joins the head (a write retried after EAGAIN may be longer than the one refused).
  if (c->ssl && c->body_off < c->body.size() && c->out_off < c->out.size() &&
      c->body.size() - c->body_off <= kTlsCoalesceBytes) {
    c->out.append(c->body, c->body_off);
    c->body.clear();
    c->body_off = 0;
  }
  while (c->out_off < c->out.size() || c->body_off < c->body.size()) {
    iovec iov[2];
    int count = 0;
    if (c->out_off < c->out.size()) {
      iov[count].iov_base = c->out.data() + c->out_off;
      iov[count++].iov_len = c->out.size() - c->out_off;
    }
    if (c->body_off < c->body.size()) {
      iov[count].iov_base = c->body.data() + c->body_off;
      iov[count++].iov_len = c->body.size() - c->body_off;
    }
    ssize_t n = WriteSome(c, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        Rearm(c, &idle_timers_);  // the peer must keep reading
        return false;
      }
      Close(c);
      return false;
    }
    size_t written = static_cast<size_t>(n);
    size_t from_out = std::min(written, c->out.size() - c->out_off);
    c->out_off += from_out;
    c->body_off += written - from_out;
  }
  // A file body: sendfile(2) from the page cache, a MiB at a time (other connections of
  // the loop get their turn between writes that would block).
  // Through TLS: a 64 KiB piece at a time, read into file_chunk (a write that would block
  // must be retried with the same bytes).
  while (c->ssl && c->file && (c->file_sent < c->file->length || !c->file_chunk.empty())) {
    if (c->file_chunk.empty()) {
      size_t want =
          static_cast<size_t>(std::min<uint64_t>(c->file->length - c->file_sent, 64 << 10));
      c->file_chunk.resize(want);
      ssize_t n;
      do {
        n = ::pread(c->file->fd, c->file_chunk.data(), want,
                    static_cast<off_t>(c->file->offset + c->file_sent));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {  // unreadable, or the file shrank: the promised length cannot be sent
        Close(c);
        return false;
      }
      c->file_chunk.resize(static_cast<size_t>(n));
      c->file_sent += static_cast<uint64_t>(n);
      c->file_chunk_off = 0;
    }
    iovec iov{c->file_chunk.data() + c->file_chunk_off, c->file_chunk.size() - c->file_chunk_off};
    ssize_t n = WriteSome(c, &iov, 1);
    if (n < 0) {
      if (errno == EAGAIN) {
        Rearm(c, &idle_timers_);
        return false;
      }
      Close(c);
      return false;
    }
    c->file_chunk_off += static_cast<size_t>(n);
    if (c->file_chunk_off == c->file_chunk.size()) {
      c->file_chunk.clear();
      c->file_chunk_off = 0;
    }
  }
  std::string().swap(c->file_chunk);
  while (c->file && c->file_sent < c->file->length) {
    off_t off = static_cast<off_t>(c->file->offset + c->file_sent);
    size_t want = static_cast<size_t>(std::min<uint64_t>(c->file->length - c->file_sent, 1u << 20));
    ssize_t n = ::sendfile(c->fd, c->file->fd, &off, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        Rearm(c, &idle_timers_);
        return false;
      }
      Close(c);
      return false;
    }
    if (n == 0) {  // the file shrank under us: the promised length cannot be sent
      Close(c);
      return false;
    }
    c->file_sent += static_cast<uint64_t>(n);
  }
  c->file.reset();
  c->file_sent = 0;
  c->out.clear();
  c->out_off = 0;
  FreeIfLarge(&c->out);
  if (!c->body.empty()) std::string().swap(c->body);
  c->body_off = 0;
  return true;
}

bool EventLoop::PullStream(Connection* c) {
  std::string piece;
  bool finished = false;
  c->stream->Take(&piece, &finished);
  if (!piece.empty()) {
    if (c->http10) {
      c->out.append(piece);
    } else {
      char size[20];
      int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      c->out.append(size, static_cast<size_t>(n));
      c->out.append(piece);
      c->out.append("\r\n");
    }
  }
  if (finished) {
    if (!c->http10) c->out.append("0\r\n\r\n");
    c->stream.reset();
    return true;
  }
  if (piece.empty()) {
    Disarm(c);  // the writer has the deadline (its own lifetime), and kicks us
    return false;
  }
  return true;
}

void EventLoop::FinishResponse(Connection* c) {
  if (c->close_after_write) {
    StartLinger(c);
    return;
  }
  c->state = Connection::State::kReading;
  c->parser.Reset();
  c->continue_sent = false;
  c->request_start_ms = 0;
  c->head_checked = false;
  c->diverted = false;
  if (c->pending.empty()) {
    FreeIfLarge(&c->pending);
    Rearm(c, &idle_timers_);
  } else {
    Rearm(c, &header_timers_);  // the next request has started arriving
  }
}

// Closing right after the last answer would make the kernel send a reset if unread input
// remains, and the reset can destroy the answer before the client reads it. So: shut down
// our side, read and drop input until the peer closes or kLingerMs pass.
void EventLoop::StartLinger(Connection* c) {
  if (c->ssl) {
    ERR_clear_error();
    SSL_shutdown(c->ssl);  // close_notify, best effort
  }
  ::shutdown(c->fd, SHUT_WR);
  c->state = Connection::State::kLingering;
  c->parser.Reset();
  std::string().swap(c->pending);
  c->pending_off = 0;
  Rearm(c, &linger_timers_);
}

void EventLoop::Discard(Connection* c) {
  for (int reads = 0; c->readable; ++reads) {
    if (reads == kMaxReadsPerTurn) {
      deferred_.push_back(c);
      return;
    }
    ssize_t n = ReadSome(c, scratch_.get(), kScratchBytes);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
      Close(c);
      return;
    }
    if (n < 0 && errno != EINTR) c->readable = false;
  }
}

void EventLoop::Close(Connection* c) {
  if (c->closed) return;
  c->closed = true;
  if (c->stream) c->stream->Cancel();  // its writer stops
  c->stream.reset();
  Disarm(c);
  Release(c);
  ::close(c->fd);  // also removes it from the epoll set
  c->sink->conn = nullptr;
  shared_->connections.fetch_sub(1, std::memory_order_relaxed);
  graveyard_.push_back(c);
}

// Deletes the connections closed this turn; no pointer to them survives the turn.
void EventLoop::Bury() {
  if (graveyard_.empty()) return;
  std::erase_if(deferred_, [](Connection* c) { return c->closed; });
  for (Connection* c : graveyard_) {
    size_t i = c->index;
    if (i != conns_.size() - 1) {
      conns_[i] = std::move(conns_.back());
      conns_[i]->index = i;
    }
    conns_.pop_back();
  }
  graveyard_.clear();
}

bool EventLoop::Account(Connection* c) {
  const size_t now_holds = c->h2 ? c->h2->buffered_request_bytes() : c->parser.buffered_bytes();
  if (now_holds <= c->accounted) {
    shared_->unauthenticated_bytes.fetch_sub(c->accounted - now_holds, std::memory_order_relaxed);
    c->accounted = now_holds;
    return true;
  }
  const size_t more = now_holds - c->accounted;
  const size_t total =
      shared_->unauthenticated_bytes.fetch_add(more, std::memory_order_relaxed) + more;
  c->accounted = now_holds;
  if (total <= shared_->options.max_unauthenticated_bytes) return true;
  LOG(kDebug) << "http: " << c->remote << ": 503, " << total
              << " bytes held for unauthenticated requests";
  if (c->h2) {  // its streams still arriving are answered 503; the others go on
    c->h2->RefuseIncomplete(503, "server busy: too many request bytes held before authentication");
    Account(c);
    return true;
  }
  StartError(c, 503, "server busy: too many request bytes held before authentication");
  return false;
}

void EventLoop::Release(Connection* c) {
  if (c->accounted == 0) return;
  shared_->unauthenticated_bytes.fetch_sub(c->accounted, std::memory_order_relaxed);
  if (c->accounted >= kTrimAfterBytes) shared_->trim_wanted.store(true, std::memory_order_relaxed);
  c->accounted = 0;
}

void EventLoop::MaybeTrim() {
  if (!shared_->trim_wanted.load(std::memory_order_relaxed)) return;
  int64_t last = shared_->last_trim_ms.load(std::memory_order_relaxed);
  if (now_ms_ - last < kTrimIntervalMs) return;
  if (!shared_->last_trim_ms.compare_exchange_strong(last, now_ms_)) return;  // another loop
  shared_->trim_wanted.store(false, std::memory_order_relaxed);
  ::malloc_trim(0);  // every arena: gives freed request buffers back to the system
}

bool EventLoop::CheckHead(Connection* c) {
  if (c->head_checked || !c->parser.head_complete()) return false;
  c->head_checked = true;
  const ServerOptions& o = shared_->options;
  if (!o.head_check) return false;
  const bool large = c->parser.announced_body_bytes() > o.head_check_bytes ||
                     c->parser.head().FindHeader("transfer-encoding") != nullptr;
  if (!large) return false;
  std::optional<Response> refusal = o.head_check(c->parser.head());
  if (!refusal) {
    // Let through: its handler may take the body as it comes (to disk), rather than whole.
    if (o.body_diversion)
      if (std::shared_ptr<BodyConsumer> sink = o.body_diversion(c->parser.head())) {
        c->parser.DivertBody(std::move(sink));
        c->diverted = true;
        Account(c);  // what was buffered went to the sink
      }
    return false;
  }
  Release(c);
  c->keep_alive = false;
  c->head_request = false;
  refusal->close_connection = true;  // the body is never read
  StartResponse(c, *refusal);
  return true;
}

void EventLoop::StartH2(Connection* c, std::string_view first_bytes) {
  H2Limits limits;
  const ServerOptions& o = shared_->options;
  limits.max_header_bytes = o.max_header_bytes;
  limits.max_body_bytes = o.max_body_bytes;
  limits.max_diverted_body_bytes = o.body_diversion ? o.max_diverted_body_bytes : 0;
  limits.head_check_bytes = o.head_check ? o.head_check_bytes : SIZE_MAX;
  c->h2_bridge = std::make_unique<H2Bridge>(this, c);
  c->h2 = std::make_unique<H2Session>(c->h2_bridge.get(), limits, c->remote, c->ssl != nullptr);
  c->state = Connection::State::kH2;
  if (!c->h2->ok()) {
    Close(c);
    return;
  }
  c->h2->set_now_ms(now_ms_);
  if (!c->h2->Receive(first_bytes)) {
    c->h2->Produce(&c->out, kH2OutBytes);  // the GOAWAY
    Flush(c);
    if (!c->closed) Close(c);
    return;
  }
  Account(c);
}

// Writes what is queued, lets the session produce more, reads more; until the socket
// blocks either way or the loop's share of reads is used.
void EventLoop::DriveH2(Connection* c) {
  H2Session* h2 = c->h2.get();
  for (int reads = 0; !c->closed;) {
    if (!c->out.empty() && !Flush(c)) return;  // EPOLLOUT resumes (or it closed)
    if (c->closed) return;
    if (!h2->Produce(&c->out, kH2OutBytes)) {
      Close(c);
      return;
    }
    if (!c->out.empty()) continue;
    if (!h2->alive()) {
      Close(c);
      return;
    }
    if (!c->readable) break;
    if (reads++ == kMaxReadsPerTurn) {
      deferred_.push_back(c);
      break;
    }
    ssize_t n = ReadSome(c, scratch_.get(), kScratchBytes);
    if (n > 0) {
      if (Drained(c, n)) c->readable = false;
      h2->set_now_ms(now_ms_);
      if (!h2->Receive(std::string_view(scratch_.get(), static_cast<size_t>(n)))) {
        h2->Produce(&c->out, kH2OutBytes);  // the GOAWAY, best effort
        Flush(c);
        if (!c->closed) Close(c);
        return;
      }
      Account(c);
    } else if (n == 0) {
      Close(c);
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->readable = false;
    } else if (errno != EINTR) {
      Close(c);
      return;
    }
  }
  if (c->closed) return;
  // Requests arriving are checked against their deadline; a connection with nothing open
  // is idle; one whose streams all wait for their handlers has no deadline here.
  if (h2->incomplete_streams() > 0) {
    Arm(c, &body_timers_);
  } else if (h2->open_streams() == 0) {
    Rearm(c, &idle_timers_);
  } else {
    Disarm(c);
  }
}

void EventLoop::DispatchH2(Connection* c, int32_t stream_id, Request&& request) {
  c->in_dispatch = true;
  try {
    shared_->handler(std::move(request),
                     Responder(std::make_shared<StreamSink>(c->sink, stream_id)));
  } catch (const std::exception& e) {
    LOG(kError) << "http: handler threw: " << e.what();
  } catch (...) {
    LOG(kError) << "http: handler threw";
  }
  c->in_dispatch = false;
}

std::optional<Response> EventLoop::CheckH2Head(const Request& head,
                                               std::shared_ptr<BodyConsumer>* sink) {
  const ServerOptions& o = shared_->options;
  if (!o.head_check) return std::nullopt;
  std::optional<Response> refusal = o.head_check(head);
  if (!refusal && o.body_diversion) *sink = o.body_diversion(head);
  return refusal;
}

void EventLoop::Arm(Connection* c, TimerList* list) {
  if (c->timer != list) Rearm(c, list);
}

void EventLoop::Rearm(Connection* c, TimerList* list) {
  Disarm(c);
  c->timer = list;
  c->deadline_ms = now_ms_ + list->duration_ms;
  c->timer_prev = list->tail;
  c->timer_next = nullptr;
  if (list->tail) {
    list->tail->timer_next = c;
  } else {
    list->head = c;
  }
  list->tail = c;
}

void EventLoop::Disarm(Connection* c) {
  TimerList* list = c->timer;
  if (!list) return;
  if (c->timer_prev) {
    c->timer_prev->timer_next = c->timer_next;
  } else {
    list->head = c->timer_next;
  }
  if (c->timer_next) {
    c->timer_next->timer_prev = c->timer_prev;
  } else {
    list->tail = c->timer_prev;
  }
  c->timer = nullptr;
  c->timer_prev = c->timer_next = nullptr;
}

int EventLoop::NextTimeoutMs() const {
  if (!deferred_.empty()) return 0;
  int64_t next = -1;
  for (const TimerList* list : {&header_timers_, &body_timers_, &idle_timers_, &linger_timers_}) {
    if (list->head && (next < 0 || list->head->deadline_ms < next)) next = list->head->deadline_ms;
  }
  if (shared_->trim_wanted.load(std::memory_order_relaxed)) {  // wake up for MaybeTrim
    int64_t at = shared_->last_trim_ms.load(std::memory_order_relaxed) + kTrimIntervalMs;
    if (next < 0 || at < next) next = at;
  }
  if (next < 0) return -1;
  return static_cast<int>(std::clamp<int64_t>(next - now_ms_ + 1, 0, 60000));
}

void EventLoop::ExpireTimers() {
  for (TimerList* list : {&header_timers_, &body_timers_, &idle_timers_, &linger_timers_}) {
    while (list->head && list->head->deadline_ms <= now_ms_) {
      Connection* c = list->head;
      Disarm(c);
      OnTimeout(c, list);
    }
  }
}

void EventLoop::OnTimeout(Connection* c, TimerList* list) {
  if (c->h2) {
    if (list == &body_timers_) {
      // Requests still arriving past their deadline are answered 408.
      c->h2->ExpireStreams(now_ms_, shared_->options.request_timeout_ms);
      DriveH2(c);
      return;
    }
    if (list == &idle_timers_ && c->h2->open_streams() == 0 && c->out.empty()) {
      c->h2->Shutdown();  // GOAWAY, then closed
      DriveH2(c);
      return;
    }
    Close(c);  // idle with a client that stopped reading, or lingering
    return;
  }
  if (list == &body_timers_ && c->state == Connection::State::kReading &&
      c->parser.head_complete()) {
    const ServerOptions& o = shared_->options;
    const size_t got = c->parser.body_bytes();
    const uint64_t announced = c->parser.announced_body_bytes();
    size_t need = o.min_body_bytes_per_s * static_cast<size_t>(o.body_check_ms) / 1000;
    if (announced > got) need = std::min<uint64_t>(need, announced - got);
    const bool too_slow = got - c->body_mark < need;
    // A diverted body (an object upload of up to gigabytes) has no overall deadline; the
    // minimum rate still holds.
    const bool too_long = !c->diverted && now_ms_ - c->request_start_ms > o.request_timeout_ms;
    if (!too_slow && !too_long) {
      c->body_mark = got;
      Rearm(c, &body_timers_);
      return;
    }
    LOG(kDebug) << "http: " << c->remote << ": request body "
                << (too_long ? "past the request deadline" : "below the minimum rate");
    StartError(c, 408, too_long ? "request timeout" : "request body too slow");
    Drive(c);
    if (!c->closed && c->state == Connection::State::kWriting) Arm(c, &linger_timers_);
    return;
  }
  // A client that started a request and stalled (slowloris) is told so; one that sent
  // nothing, stopped reading or lingered is just closed.
  if (list != &linger_timers_ && c->state == Connection::State::kReading && c->parser.started()) {
    LOG(kDebug) << "http: " << c->remote << ": request timed out";
    StartError(c, 408, list == &header_timers_ ? "request header timeout" : "request timeout");
    Drive(c);
    if (!c->closed && c->state == Connection::State::kWriting) Arm(c, &linger_timers_);
    return;
  }
  Close(c);
}

}  // namespace millrace::http
