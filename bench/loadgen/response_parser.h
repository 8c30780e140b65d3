// ResponseParser: an incremental HTTP/1.1 response parser for the load generator.
//
// It owns the receive buffer, so a connection reads straight into it (Prepare/Commit)
// and the body is never copied: a Content-Length body is a view into the buffer, a
// chunked one is decoded in place as it arrives. The buffer always keeps kPadding spare
// bytes after the data, so the body can be handed to simdjson without a copy.
//
//   char* p = parser.Prepare(64 * 1024);
//   ssize_t n = read(fd, p, 64 * 1024);
//   switch (parser.Commit(n)) { ... }   // n == 0 means EOF
//
// Framing understood: Content-Length, Transfer-Encoding: chunked, and a body delimited by
// the connection closing (HTTP/1.0 style). No pipelining: bytes after the response are an
// error. Thread-compatible: one parser per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace millrace::bench {

class ResponseParser {
 public:
  enum class State { kNeedMore, kComplete, kError };
  static constexpr size_t kPadding = 64;  // >= SIMDJSON_PADDING

  ResponseParser() = default;
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Space for at least `n` more bytes; valid until the next Prepare or Reset.
  char* Prepare(size_t n);
  // Adds `n` bytes written into the space from Prepare; n == 0 is the peer closing.
  State Commit(size_t n);
  // Ready for the next response; keeps the buffer's capacity (up to 1 MiB).
  void Reset();

  // Valid after kComplete.
  int status() const { return status_; }
  std::string_view body() const { return std::string_view(buf_.get() + body_start_, body_len_); }
  size_t body_capacity() const { return cap_ - body_start_; }  // for simdjson's padding
  bool keep_alive() const { return keep_alive_; }
  // The X-Amzn-ErrorType header, if any.
  std::string_view error_type_header() const { return error_type_; }
  // After kError.
  const std::string& error() const { return error_message_; }

 private:
  State ParseHead();
  State ParseBody(bool eof);
  State ParseChunks();
  State Fail(std::string message);

  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t size_ = 0;
  State state_ = State::kNeedMore;
  bool head_done_ = false;
  int status_ = 0;
  bool keep_alive_ = true;
  bool chunked_ = false;
  int64_t content_length_ = -1;  // -1: delimited by close (or chunked)
  std::string error_type_;
  std::string error_message_;
  size_t body_start_ = 0;
  size_t body_len_ = 0;
  // Chunked decoding: the next unparsed byte, the bytes left in the current chunk.
  size_t chunk_pos_ = 0;
  uint64_t chunk_left_ = 0;
  bool in_chunk_data_ = false;
};

}  // namespace millrace::bench
