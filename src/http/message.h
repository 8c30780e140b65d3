// HTTP request and response values, independent of the wire protocol that carried them
// (HTTP/1.1: parser.h, serializer.h; HTTP/2: h2.h; either in TLS: tls.h).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace millrace::http {

struct Header {
  std::string name;   // as received (case preserved); compare case-insensitively
  std::string value;  // leading and trailing whitespace removed
};

// Takes a request's body as it arrives instead of the request holding it (a diverted body:
// ServerOptions::body_diversion), a piece at a time, in order, chunked framing removed. It
// cannot refuse: one that fails keeps its error and drops the rest, for its handler to
// answer.
class BodyConsumer {
 public:
  virtual ~BodyConsumer() = default;
  virtual void Consume(std::string_view piece) = 0;
};

struct Request {
  std::string method;           // "GET", "POST", ...
  std::string target;           // the request-target as received: path plus "?query"
  std::string path;             // target before '?', still percent-encoded
  std::string query;            // target after '?', without the '?', still percent-encoded
  std::vector<Header> headers;  // in arrival order, duplicates kept
  std::string body;
  std::string remote_address;  // "ip:port" of the peer
  bool tls = false;            // it came over TLS (aws:SecureTransport)
  bool http2 = false;          // it came as an HTTP/2 stream
  // Set: the body went here as it arrived, and `body` is empty.
  std::shared_ptr<BodyConsumer> diverted_body;

  // The first header with this name (case-insensitive), or nullptr.
  const std::string* FindHeader(std::string_view name) const;
  std::string_view HeaderOr(std::string_view name, std::string_view fallback) const {
    const std::string* v = FindHeader(name);
    return v ? std::string_view(*v) : fallback;
  }
};

// A response body sent from a file (sendfile(2)), without reading it into memory: `length`
// bytes from `offset`. Owns the descriptor, closed when the last holder lets go.
struct FileBody {
  FileBody(int fd, uint64_t offset, uint64_t length) : fd(fd), offset(offset), length(length) {}
  ~FileBody();
  FileBody(const FileBody&) = delete;
  FileBody& operator=(const FileBody&) = delete;
  const int fd;
  const uint64_t offset, length;
};

// A response body written while it is sent (an event stream): the handler's side writes
// pieces from any thread and finishes it; the connection sends them as they come (HTTP/1.1:
// chunked; HTTP/2: DATA frames). Thread-safe.
class BodyStream {
 public:
  // Queues bytes; false once the client is gone (the connection closed, the stream was
  // reset): the writer stops.
  bool Write(std::string_view bytes);
  // Ends the body after what is queued.
  void Finish();
  // Bytes queued and not yet taken by the connection (the writer's backpressure).
  size_t queued() const;
  bool cancelled() const;

  // The connection's side: `wake` is called (from any thread, at most once per Take) when
  // bytes or the end are queued; Take moves what is queued to *out, and *finished is set
  // once the end is reached; Cancel says the client is gone.
  void SetWake(std::function<void()> wake);
  void Take(std::string* out, bool* finished);
  void Cancel();

 private:
  void WakeLocked(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mu_;
  std::string queued_;
  bool finished_ = false;
  bool cancelled_ = false;
  bool woken_ = false;  // a wake is pending: the connection will Take
  std::function<void()> wake_;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Length and Connection are added by the server
  std::string body;
  bool close_connection = false;  // close after sending
  // For an answer to HEAD (sent without a body): the Content-Length the GET would have,
  // when it is not body.size() (HeadObject does not read the object).
  std::optional<uint64_t> head_content_length;
  // Set: the body is these bytes of a file (and `body` is empty).
  std::shared_ptr<FileBody> file;
  // Set: the body is written while it is sent (and `body` is empty); no Content-Length.
  std::shared_ptr<BodyStream> stream;

  void SetHeader(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
  }
};

// The one way to answer a request. Thread-safe and callable from any thread; must be
// called exactly once per request (a Responder destroyed without Send answers 500, so a
// forgotten path cannot hang a client). Cheap to move; not copyable.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Deliver(Response response) = 0;
  };

  Responder() = default;
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) = default;
  Responder& operator=(Responder&&) = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void Send(Response response);
  bool valid() const { return sink_ != nullptr; }

 private:
  std::shared_ptr<Sink> sink_;
};

// Called on an event-loop thread for each complete request. It must not block on I/O:
// long work is handed elsewhere and answered later through the Responder.
using Handler = std::function<void(Request&& request, Responder responder)>;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Whether a header field's text holds a CR or LF (or, with `colon`, a ':'): such a field is
// not written (it would split the answer's head). One pass; find_first_of made a memchr
// call per character, 3,000 instructions of every answer.
inline bool BreaksHeader(std::string_view s, bool colon = false) {
  for (char c : s)
    if (c == '\r' || c == '\n' || (colon && c == ':')) return true;
  return false;
}

}  // namespace millrace::http
