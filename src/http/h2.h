// H2Session: the HTTP/2 side of one connection (RFC 9113), framing by libnghttp2. The
// event loop feeds it the bytes it reads and sends the bytes it produces; the session turns
// each complete stream into a Request for the same Handler as HTTP/1.1, and each Response
// into HEADERS and DATA frames. Streams are answered in any order, many at a time.
//
// Bounds (the same as HTTP/1.1's, per stream; docs/security.md): header block
// max_header_bytes (else the stream is reset), body max_body_bytes (else 413), at most
// kMaxConcurrentStreams open streams, every byte of a request not yet handed to its handler
// counted in buffered_request_bytes() for the server's unauthenticated bound, and a request
// that does not arrive whole within request_timeout_ms answered 408. libnghttp2 itself
// refuses malformed frames and headers, and floods of PING, SETTINGS and RST_STREAM.
//
// Thread-compatible: one per connection, used by its loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/message.h"

struct nghttp2_session;

namespace millrace::http {

struct H2Limits {
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;
  uint64_t max_diverted_body_bytes = 0;  // 0: no diversion
  size_t head_check_bytes = 64 * 1024;
};

// What the session asks of its connection.
class H2Host {
 public:
  virtual ~H2Host() = default;
  // A complete request on stream `stream_id`, to be answered with H2Session::Respond.
  virtual void OnRequest(int32_t stream_id, Request&& request) = 0;
  // The head of a request whose body is large or of unknown length, before any of the
  // body is taken: a refusal, or nullopt to read on (and *sink set: the body goes there).
  virtual std::optional<Response> OnHead(const Request& head,
                                         std::shared_ptr<BodyConsumer>* sink) = 0;
  // What a streamed answer's body (Response::stream) calls, from any thread, when it has
  // more: the connection then calls Resume(stream_id) on its loop thread.
  virtual std::function<void()> WakeFor(int32_t stream_id) = 0;
};

class H2Session {
 public:
  static constexpr uint32_t kMaxConcurrentStreams = 128;

  // The client's connection preface is the start of the first bytes given to Receive.
  H2Session(H2Host* host, const H2Limits& limits, std::string remote, bool tls);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // False when the session failed to start (out of memory).
  bool ok() const { return session_ != nullptr; }

  // Feeds bytes read from the peer. False on a connection error: a GOAWAY is queued, the
  // caller sends what Produce gives and closes.
  bool Receive(std::string_view bytes);
  // Answers stream `stream_id`; dropped if the stream is gone (the client reset it).
  void Respond(int32_t stream_id, Response response);
  // A streamed answer on `stream_id` has more to send.
  void Resume(int32_t stream_id);
  // Appends frames ready to go to *out, stopping past `max_bytes`. False on a fatal error.
  bool Produce(std::string* out, size_t max_bytes);
  // Whether the connection still has a use (neither side has ended it).
  bool alive() const;
  // Streams whose client has not ended its side (a request arriving, or the rest of a
  // refused one) / open streams of any kind.
  size_t incomplete_streams() const { return incomplete_; }
  size_t open_streams() const { return streams_open_; }
  // Bytes held for requests not yet handed to their handler (none is authenticated).
  size_t buffered_request_bytes() const { return buffered_; }
  // Answers every stream still arriving with `status` and drops what they hold.
  void RefuseIncomplete(int status, std::string_view reason);
  // Answers 408 to streams that started more than `timeout_ms` before `now_ms` and are
  // still arriving (resets one that was refused and still sends).
  void ExpireStreams(int64_t now_ms, int64_t timeout_ms);
  // Ends the connection gracefully (GOAWAY): streams in progress finish, none starts.
  void Shutdown();
  void set_now_ms(int64_t now_ms) { now_ms_ = now_ms; }

  struct Stream;  // one request and its answer (h2.cc)

 private:
  friend struct H2Callbacks;

  void Arrived(Stream* s);  // the client ended its side of s (or s closed)
  void Dispatch(Stream* s);
  void Refuse(Stream* s, int status, std::string_view reason);
  void Unbuffer(Stream* s);  // s no longer holds unauthenticated bytes
  Stream* Find(int32_t stream_id);

  H2Host* const host_;
  const H2Limits limits_;
  const std::string remote_;
  const bool tls_;
  nghttp2_session* session_ = nullptr;
  int64_t now_ms_ = 0;
  size_t buffered_ = 0;
  size_t incomplete_ = 0;
  size_t streams_open_ = 0;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
};

// The HTTP/2 client connection preface's first bytes ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace millrace::http
