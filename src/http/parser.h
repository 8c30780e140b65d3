// RequestParser: an incremental HTTP/1.1 request parser (RFC 9112), one request at a time.
//
// The connection feeds bytes as they arrive, split anywhere. The parser keeps only what it
// must between calls (a partial line, the request being built), so an idle connection
// costs no buffer. It never throws and never reads outside the bytes it is given, whatever
// they hold (tests/fuzz/http_parser_fuzz.cc).
//
//   RequestParser p(limits);
//   size_t used = 0;
//   switch (p.Feed(bytes, &used)) {
//     case ParseStatus::kNeedMore: ...   // all of `bytes` was used; feed more
//     case ParseStatus::kComplete: ...   // p.TakeRequest(); bytes after `used` are the next
//                                        // request: Reset(), then feed them
//     case ParseStatus::kError: ...      // answer p.error_status(), then close
//   }
//
// What it accepts: a request line `METHOD SP target SP HTTP/1.x`, header lines
// `name: value` (names are tokens; values lose surrounding spaces and tabs), lines ended by
// CRLF or a bare LF, empty lines before the request line. What it refuses, with the status:
//   400  a malformed request line or header, obs-fold (a line starting with a space), a bare
//        CR or NUL, an invalid Content-Length or two that disagree, Content-Length together
//        with Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a malformed chunk
//   413  a body (Content-Length, or the sum of the chunks) over max_body_bytes
//   431  a request line plus headers (or the chunked trailers) over max_header_bytes
//   501  a Transfer-Encoding other than plain "chunked"
//   505  an HTTP version other than 1.0 and 1.1
// A missing Host is not refused: the handlers (SigV4) check the headers they need.
//
// Thread-compatible: one parser per connection, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/message.h"

namespace millrace::http {

struct ParserLimits {
  size_t max_header_bytes = 64 * 1024;       // request line + headers, CRLFs included
  size_t max_body_bytes = 16 * 1024 * 1024;  // decoded body, held in the request
  // A body diverted to a sink (DivertBody) may be this large; a Content-Length over
  // max_body_bytes is then refused only if the body is not diverted. 0: no diversion.
  uint64_t max_diverted_body_bytes = 0;
  // Feed stops with kHeadComplete at the end of a head that a body follows, so that the
  // caller can check the head and divert the body before any of it is taken.
  bool pause_after_head = false;
};

// kHeadComplete only with ParserLimits::pause_after_head.
enum class ParseStatus { kNeedMore, kComplete, kError, kHeadComplete };

class RequestParser {
 public:
  explicit RequestParser(ParserLimits limits) : limits_(limits) {}
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes a prefix of `data` and sets *consumed to its length. kNeedMore: all of
  // `data` was consumed. kComplete: the request ends at *consumed; the rest is not
  // consumed. kError: the stream cannot be parsed further; after kComplete or kError,
  // Feed consumes nothing and returns the same status until Reset().
  ParseStatus Feed(std::string_view data, size_t* consumed);

  // From now on the body goes to `sink` (the bytes already taken first; it becomes the
  // request's diverted_body) instead of into the request, and may be up to
  // max_diverted_body_bytes. Once head_complete(), before the request is complete.
  void DivertBody(std::shared_ptr<BodyConsumer> sink);
  bool diverted() const { return request_.diverted_body != nullptr; }

  // Ready for the next request on the same connection. Frees buffers grown past a few KB.
  void Reset();

  // True once any byte of the current request (other than leading empty lines) arrived.
  bool started() const { return state_ != State::kRequestLine || !line_.empty(); }
  // True once the request line and headers are complete (the body may still be coming).
  bool head_complete() const { return state_ > State::kHeaders; }
  // The head asked for "Expect: 100-continue" (HTTP/1.1 only) and a body is announced:
  // the connection should send "HTTP/1.1 100 Continue" before the body will come.
  bool expects_continue() const { return expects_continue_; }
  // Whether the connection may carry another request after this one: HTTP/1.1 unless
  // "Connection: close"; HTTP/1.0 only with "Connection: keep-alive". Valid once
  // head_complete().
  bool keep_alive() const { return keep_alive_; }
  // The request line said HTTP/1.0 (valid once the request line is parsed).
  bool http10() const { return http10_; }

  // The finished request; valid once after kComplete.
  Request TakeRequest() { return std::move(request_); }
  // The request being parsed: method, target, path, query and headers are final once
  // head_complete(); the body is what arrived so far.
  const Request& head() const { return request_; }
  // The body length the head announced (Content-Length), or 0 (chunked bodies announce
  // none). Valid once head_complete().
  uint64_t announced_body_bytes() const { return content_length_; }
  // Body bytes received so far for the current request (diverted or not).
  uint64_t body_bytes() const { return body_received_; }
  // Memory this parser holds for the current request (head and body buffers), for the
  // server's bound on what unauthenticated clients may hold.
  size_t buffered_bytes() const { return head_bytes_ + trailer_bytes_ + request_.body.capacity(); }
  // The method of the request being parsed (HEAD responses carry no body).
  const std::string& method() const { return request_.method; }

  int error_status() const { return error_status_; }          // after kError
  const std::string& error_reason() const { return error_; }  // after kError

 private:
  enum class State {
    kRequestLine,
    kHeaders,
    kBody,          // Content-Length bytes
    kChunkSize,     // "1a;ext=..." line
    kChunkData,     // chunk_left_ bytes
    kChunkDataEnd,  // the CRLF after a chunk's data
    kTrailers,      // header lines after the last chunk, ignored
    kComplete,
    kError,
  };

  // A complete line (without its LF or CR) in the line states; false means an error was set.
  bool OnLine(std::string_view line);
  bool ParseRequestLine(std::string_view line);
  bool ParseHeaderLine(std::string_view line);
  bool FinishHead();
  bool OnChunkSize(std::string_view line);
  bool Fail(int status, std::string reason);
  // How many more bytes the current line may take in this line state.
  size_t LineBudget() const;

  ParserLimits limits_;
  State state_ = State::kRequestLine;
  std::string line_;       // a line split across Feed calls
  size_t head_bytes_ = 0;  // bytes of the request line and headers consumed so far
  size_t trailer_bytes_ = 0;
  uint64_t body_left_ = 0;   // kBody
  uint64_t chunk_left_ = 0;  // kChunkData
  bool http10_ = false;
  bool keep_alive_ = true;
  bool expects_continue_ = false;
  bool expect_continue_header_ = false;  // "Expect: 100-continue" seen
  bool connection_close_ = false;        // "Connection: close" seen
  bool connection_keep_alive_ = false;   // "Connection: keep-alive" seen
  bool has_content_length_ = false;
  bool chunked_ = false;
  uint64_t content_length_ = 0;
  uint64_t body_received_ = 0;
  Request request_;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace millrace::http
