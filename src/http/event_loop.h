// EventLoop: one thread's share of the HTTP server. An epoll set, a listening socket
// (SO_REUSEPORT: the kernel spreads new connections over the loops, so no connection is
// handed between threads), the connections it accepted, which never move, and a mailbox
// through which answers from other threads come back.
//
// Thread-safety: Init, then Run on the loop's own thread; RequestStop from any thread;
// the destructor after Run returned (it closes every connection and drops queued answers).
// Everything else belongs to the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/message.h"
#include "http/parser.h"
#include "http/server.h"

namespace millrace::http {

// What the loops of one server share. Outlives them.
struct LoopShared {
  ServerOptions options;
  Handler handler;
  std::atomic<int> connections{0};  // open connections over all loops (max_connections)
  // Bytes held for requests not yet dispatched, over all loops (max_unauthenticated_bytes).
  std::atomic<size_t> unauthenticated_bytes{0};
  // Set when a large buffer was freed: the next loop to look returns free memory to the
  // system (malloc_trim), at most once a second, so a burst does not leave RSS behind.
  std::atomic<bool> trim_wanted{false};
  std::atomic<int64_t> last_trim_ms{0};
};

class Connection;
class ConnSink;
class Mailbox;

// Connections waiting for the same kind of timeout. Every member got the same duration,
// so appending keeps the list sorted by deadline: arm, disarm and expiry are O(1).
struct TimerList {
  int64_t duration_ms = 0;
  Connection* head = nullptr;
  Connection* tail = nullptr;
};

class EventLoop {
 public:
  // Takes ownership of `listen_fd`, a listening non-blocking socket.
  EventLoop(LoopShared* shared, int listen_fd);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Init();
  // Serves until RequestStop.
  void Run();
  void RequestStop();

 private:
  friend class ConnSink;
  friend class H2Bridge;

  // Loop thread: an answer for `sink`'s connection (its HTTP/2 stream `stream_id`).
  void DeliverLocal(ConnSink* sink, int32_t stream_id, Response response);
  // Loop thread: a streamed body of `sink`'s connection has more to send.
  void KickLocal(ConnSink* sink, int32_t stream_id);

  void OnAccept();
  void OnMailbox();
  void OnConnEvent(Connection* c, uint32_t events);
  void Drive(Connection* c);
  bool ReadRequest(Connection* c);
  bool OnParsed(Connection* c, ParseStatus status);
  void Dispatch(Connection* c);
  void StartResponse(Connection* c, Response& r);
  void StartError(Connection* c, int status, const std::string& reason);
  bool Flush(Connection* c);
  // Moves what a streamed body's writer queued into the output (chunked); false when there
  // was nothing and it has not ended.
  bool PullStream(Connection* c);
  void FinishResponse(Connection* c);
  void StartLinger(Connection* c);
  void Discard(Connection* c);
  void Close(Connection* c);
  void Bury();

  // HTTP/2 (h2.h): the connection becomes a session, fed `first_bytes` (the preface).
  void StartH2(Connection* c, std::string_view first_bytes);
  void DriveH2(Connection* c);
  void DispatchH2(Connection* c, int32_t stream_id, Request&& request);
  std::optional<Response> CheckH2Head(const Request& head, std::shared_ptr<BodyConsumer>* sink);

  // Brings the shared count of unauthenticated bytes up to date with what c's parser
  // holds now; false (and the connection is answered 503) when that passes the bound.
  bool Account(Connection* c);
  void Release(Connection* c);  // c holds nothing unauthenticated any more
  void MaybeTrim();
  // Runs the head check once per request, when its head is complete; true if it refused.
  bool CheckHead(Connection* c);

  void Arm(Connection* c, TimerList* list);    // no-op when already in `list`
  void Rearm(Connection* c, TimerList* list);  // restarts the deadline
  void Disarm(Connection* c);
  int NextTimeoutMs() const;
  void ExpireTimers();
  void OnTimeout(Connection* c, TimerList* list);

  LoopShared* const shared_;
  ParserLimits limits_;
  const int listen_fd_;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  std::shared_ptr<Mailbox> mailbox_;
  std::atomic<bool> stop_{false};

  std::unique_ptr<char[]> scratch_;  // every read lands here first
  int64_t now_ms_ = 0;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<Connection*> graveyard_;  // closed this turn, deleted at its end
  std::vector<Connection*> ready_;      // answered on this thread outside their handler
  std::vector<Connection*> deferred_;   // still readable after their share of reads
  // header: a request's head is due; body: a body's rate is checked; idle: between
  // requests or while a client reads an answer; linger: after the last answer.
  TimerList header_timers_, body_timers_, idle_timers_, linger_timers_;
};

}  // namespace millrace::http
