#include "loadgen/response_parser.h"

#include <algorithm>
#include <cstring>

#include "http/message.h"

namespace millrace::bench {
namespace {

constexpr size_t kKeepCapacity = 1 << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ContainsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (http::EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

char* ResponseParser::Prepare(size_t n) {
  if (size_ + n + kPadding > cap_) {
    size_t cap = std::max(size_ + n + kPadding, cap_ * 2);
    auto fresh = std::make_unique<char[]>(cap);
    if (size_) std::memcpy(fresh.get(), buf_.get(), size_);
    buf_ = std::move(fresh);
    cap_ = cap;
  }
  return buf_.get() + size_;
}

ResponseParser::State ResponseParser::Commit(size_t n) {
  if (state_ != State::kNeedMore) return state_;
  size_ += n;
  if (!head_done_) {
    if (n == 0)
      return Fail(size_ ? "connection closed inside the response head"
                        : "connection closed before a response");
    State s = ParseHead();
    if (s != State::kNeedMore || !head_done_) return s;
  }
  return ParseBody(n == 0);
}

void ResponseParser::Reset() {
  if (cap_ > kKeepCapacity) {
    buf_.reset();
    cap_ = 0;
  }
  size_ = 0;
  state_ = State::kNeedMore;
  head_done_ = false;
  status_ = 0;
  keep_alive_ = true;
  chunked_ = false;
  content_length_ = -1;
  error_type_.clear();
  error_message_.clear();
  body_start_ = body_len_ = 0;
  chunk_pos_ = 0;
  chunk_left_ = 0;
  in_chunk_data_ = false;
}

ResponseParser::State ResponseParser::Fail(std::string message) {
  error_message_ = std::move(message);
  return state_ = State::kError;
}

ResponseParser::State ResponseParser::ParseHead() {
  std::string_view all(buf_.get(), size_);
  size_t end = all.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (size_ > 64 * 1024) return Fail("response head over 64 KiB");
    return State::kNeedMore;
  }
  std::string_view head = all.substr(0, end);
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  // "HTTP/1.1 200 OK"
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ')
    return Fail("malformed status line");
  bool http10 = line[7] == '0';
  keep_alive_ = !http10;
  status_ = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return Fail("malformed status code");
    status_ = status_ * 10 + (line[i] - '0');
  }
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view h = rest.substr(0, e);
    rest = e == std::string_view::npos ? std::string_view() : rest.substr(e + 2);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = h.substr(0, colon);
    std::string_view value = Trim(h.substr(colon + 1));
    if (http::EqualsIgnoreCase(name, "content-length")) {
      int64_t v = 0;
      if (value.empty()) return Fail("empty Content-Length");
      for (char c : value) {
        if (c < '0' || c > '9' || v > (int64_t{1} << 40)) return Fail("bad Content-Length");
        v = v * 10 + (c - '0');
      }
      content_length_ = v;
    } else if (http::EqualsIgnoreCase(name, "transfer-encoding")) {
      chunked_ = ContainsToken(value, "chunked");
    } else if (http::EqualsIgnoreCase(name, "connection")) {
      if (ContainsToken(value, "close")) keep_alive_ = false;
      if (ContainsToken(value, "keep-alive")) keep_alive_ = true;
    } else if (http::EqualsIgnoreCase(name, "x-amzn-errortype")) {
      error_type_ = std::string(value);
    }
  }
  head_done_ = true;
  body_start_ = end + 4;
  chunk_pos_ = body_start_;
  if (chunked_) content_length_ = -1;
  if (status_ == 204 || status_ == 304 || (status_ >= 100 && status_ < 200)) content_length_ = 0;
  if (!chunked_ && content_length_ < 0) keep_alive_ = false;  // delimited by close
  return State::kNeedMore;
}

ResponseParser::State ResponseParser::ParseBody(bool eof) {
  if (chunked_) {
    State s = ParseChunks();
    if (s == State::kNeedMore && eof) return Fail("connection closed inside a chunked body");
    return s;
  }
  size_t have = size_ - body_start_;
  if (content_length_ >= 0) {
    if (have > static_cast<uint64_t>(content_length_)) return Fail("bytes after the response");
    if (have == static_cast<uint64_t>(content_length_)) {
      body_len_ = have;
      return state_ = State::kComplete;
    }
    if (eof) return Fail("connection closed inside the body");
    return State::kNeedMore;
  }
  if (!eof) return State::kNeedMore;
  body_len_ = have;
  return state_ = State::kComplete;
}

// Decodes chunks in place: the data of each chunk is moved down to follow the data of the
// previous ones, so body() is contiguous at body_start_.
ResponseParser::State ResponseParser::ParseChunks() {
  char* b = buf_.get();
  while (true) {
    if (in_chunk_data_) {
      size_t avail = std::min<uint64_t>(chunk_left_, size_ - chunk_pos_);
      if (avail) std::memmove(b + body_start_ + body_len_, b + chunk_pos_, avail);
      body_len_ += avail;
      chunk_pos_ += avail;
      chunk_left_ -= avail;
      if (chunk_left_) return State::kNeedMore;
      if (size_ - chunk_pos_ < 2) return State::kNeedMore;
      if (b[chunk_pos_] != '\r' || b[chunk_pos_ + 1] != '\n') return Fail("bad chunk end");
      chunk_pos_ += 2;
      in_chunk_data_ = false;
    }
    std::string_view rest(b + chunk_pos_, size_ - chunk_pos_);
    size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) return State::kNeedMore;
    std::string_view line = rest.substr(0, eol);
    uint64_t n = 0;
    size_t i = 0;
    for (; i < line.size(); ++i) {
      char c = line[i];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) break;
      if (n > (uint64_t{1} << 40)) return Fail("chunk too large");
      n = n * 16 + d;
    }
    if (i == 0) return Fail("bad chunk size");
    if (n == 0) {
      // The last chunk: optional trailers, then an empty line; searching from the size
      // line's own CRLF finds "\r\n\r\n" both with and without trailers.
      size_t end = rest.find("\r\n\r\n", eol);
      if (end == std::string_view::npos) return State::kNeedMore;
      if (chunk_pos_ + end + 4 != size_) return Fail("bytes after the response");
      return state_ = State::kComplete;
    }
    chunk_pos_ += eol + 2;
    chunk_left_ = n;
    in_chunk_data_ = true;
  }
}

}  // namespace millrace::bench
