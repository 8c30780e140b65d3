#include "http/parser.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace millrace::http {
namespace {

// A chunk-size line with its extensions; nobody needs more.
constexpr size_t kMaxChunkLineBytes = 4096;
// Buffers kept across requests are freed past this size, so idle connections stay small.
constexpr size_t kKeepCapacityBytes = 4096;
// A Content-Length body is reserved up to this much at once; the rest grows as it arrives,
// so a client announcing 12 MB and sending nothing does not cost 12 MB.
constexpr size_t kMaxReserveBytes = 64 * 1024;

bool IsTokenChar(unsigned char c) {
  // RFC 9110 5.6.2 tchar.
  static constexpr auto kTable = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  return kTable[c];
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  return true;
}

// Field values may hold visible ASCII, spaces, tabs and obs-text; no other controls.
bool IsFieldValue(std::string_view s) {
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each non-empty, trimmed element of a comma-separated list.
template <typename Fn>
void ForEachListElement(std::string_view list, Fn&& fn) {
  while (true) {
    size_t comma = list.find(',');
    std::string_view element = TrimOws(list.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ParseStatus RequestParser::Feed(std::string_view data, size_t* consumed) {
  const char* p = data.data();
  const size_t n = data.size();
  size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::kComplete:
        *consumed = pos;
        return ParseStatus::kComplete;
      case State::kError:
        *consumed = pos;
        return ParseStatus::kError;
      case State::kBody:
      case State::kChunkData: {
        if (pos == n) {
          *consumed = n;
          return ParseStatus::kNeedMore;
        }
        BodyConsumer* sink = request_.diverted_body.get();
        if (!sink && content_length_ > limits_.max_body_bytes) {
          Fail(413, "request body too large");
          break;
        }
        uint64_t& left = state_ == State::kBody ? body_left_ : chunk_left_;
        size_t take = static_cast<size_t>(std::min<uint64_t>(left, n - pos));
        if (sink) {
          sink->Consume(std::string_view(p + pos, take));
        } else {
          request_.body.append(p + pos, take);
        }
        body_received_ += take;
        pos += take;
        left -= take;
        if (left == 0) state_ = state_ == State::kBody ? State::kComplete : State::kChunkDataEnd;
        break;
      }
      default: {  // the line states
        if (pos == n) {
          *consumed = n;
          return ParseStatus::kNeedMore;
        }
        const char* nl = static_cast<const char*>(std::memchr(p + pos, '\n', n - pos));
        size_t take = nl ? static_cast<size_t>(nl - (p + pos)) + 1 : n - pos;
        if (take > LineBudget()) {
          if (state_ == State::kChunkSize) {
            Fail(400, "chunk size line too long");
          } else if (state_ == State::kChunkDataEnd) {
            Fail(400, "chunk data not followed by CRLF");
          } else {
            Fail(431, "request header fields too large");
          }
          break;
        }
        if (state_ == State::kTrailers) {
          trailer_bytes_ += take;
        } else if (state_ == State::kRequestLine || state_ == State::kHeaders) {
          head_bytes_ += take;
        }
        if (!nl) {  // a partial line: keep it for the next Feed
          line_.append(p + pos, take);
          pos = n;
          break;
        }
        std::string_view line;
        if (line_.empty()) {
          line = std::string_view(p + pos, take - 1);
        } else {
          line_.append(p + pos, take - 1);
          line = line_;
        }
        pos += take;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const bool in_head = state_ == State::kHeaders;
        OnLine(line);
        line_.clear();
        if (in_head && limits_.pause_after_head &&
            (state_ == State::kBody || state_ == State::kChunkSize)) {
          *consumed = pos;
          return ParseStatus::kHeadComplete;
        }
        break;
      }
    }
  }
}

size_t RequestParser::LineBudget() const {
  // head_bytes_ and trailer_bytes_ already count the partial line in line_.
  auto left = [](size_t limit, size_t used) { return limit - std::min(used, limit); };
  switch (state_) {
    case State::kRequestLine:
    case State::kHeaders:
      return left(limits_.max_header_bytes, head_bytes_);
    case State::kTrailers:
      return left(limits_.max_header_bytes, trailer_bytes_);
    case State::kChunkSize:
      return left(kMaxChunkLineBytes, line_.size());
    case State::kChunkDataEnd:
      return left(2, line_.size());  // "\r\n"
    default:
      return 0;
  }
}

bool RequestParser::OnLine(std::string_view line) {
  switch (state_) {
    case State::kRequestLine:
      if (line.empty()) return true;  // RFC 9112 2.2: ignore empty lines before a request
      if (!ParseRequestLine(line)) return false;
      state_ = State::kHeaders;
      return true;
    case State::kHeaders:
      if (line.empty()) return FinishHead();
      return ParseHeaderLine(line);
    case State::kChunkSize:
      return OnChunkSize(line);
    case State::kChunkDataEnd:
      if (!line.empty()) return Fail(400, "chunk data not followed by CRLF");
      state_ = State::kChunkSize;
      return true;
    case State::kTrailers:
      // Trailer fields are checked for shape and dropped: nothing here needs them.
      if (line.empty()) {
        state_ = State::kComplete;
        return true;
      }
      if (line.front() == ' ' || line.front() == '\t') return Fail(400, "obsolete line folding");
      {
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !IsToken(line.substr(0, colon)) ||
            !IsFieldValue(line.substr(colon + 1)))
          return Fail(400, "malformed trailer field");
      }
      return true;
    default:
      return Fail(500, "parser in an unexpected state");
  }
}

bool RequestParser::ParseRequestLine(std::string_view line) {
  // method SP request-target SP HTTP-version, single spaces (RFC 9112 3).
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Fail(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Fail(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Fail(400, "malformed request method");
  if (target.empty()) return Fail(400, "empty request target");
  for (char ch : target) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return Fail(400, "invalid character in request target");
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[5] < '0' ||
      version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9')
    return Fail(400, "malformed HTTP version");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return Fail(505, "HTTP version not supported");
  http10_ = version[7] == '0';

  request_.headers.reserve(8);  // typical SDK requests: one allocation, not four
  request_.method.assign(method);
  request_.target.assign(target);
  // The absolute form ("http://host/path", RFC 9112 3.2.2) routes like its path.
  std::string_view path = target;
  if (path.front() != '/') {
    size_t scheme_end = path.find("://");
    if (scheme_end != std::string_view::npos) {
      size_t slash = path.find('/', scheme_end + 3);
      path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
    }
  }
  size_t question = path.find('?');
  if (question == std::string_view::npos) {
    request_.path.assign(path);
    request_.query.clear();
  } else {
    request_.path.assign(path.substr(0, question));
    request_.query.assign(path.substr(question + 1));
  }
  return true;
}

bool RequestParser::ParseHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') return Fail(400, "obsolete line folding");
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Fail(400, "header line without a colon");
  std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) return Fail(400, "malformed header name");
  std::string_view value = TrimOws(line.substr(colon + 1));
  if (!IsFieldValue(value)) return Fail(400, "invalid character in header value");

  // The headers that decide framing and connection reuse; dispatched on length first so
  // the others cost one comparison.
  switch (name.size()) {
    case 14:
      if (EqualsIgnoreCase(name, "content-length")) {
        bool valid = true;
        bool any = false;
        ForEachListElement(value, [&](std::string_view element) {
          uint64_t v = 0;
          for (char c : element) {
            if (c < '0' || c > '9') {
              valid = false;
              return;
            }
            // Saturate: a number past any limit is as good as infinite (413, not 400).
            v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + static_cast<uint64_t>(c - '0');
          }
          if (has_content_length_ && v != content_length_) valid = false;
          has_content_length_ = true;
          content_length_ = v;
          any = true;
        });
        if (!valid || !any) return Fail(400, "invalid Content-Length");
      }
      break;
    case 17:
      if (EqualsIgnoreCase(name, "transfer-encoding")) {
        bool empty = true;
        int status = 0;
        ForEachListElement(value, [&](std::string_view coding) {
          empty = false;
          if (status != 0) return;
          if (chunked_) {
            status = 400;  // anything after "chunked", including a second one
          } else if (EqualsIgnoreCase(coding, "chunked")) {
            chunked_ = true;
          } else {
            status = 501;
          }
        });
        if (empty) return Fail(400, "empty Transfer-Encoding");
        if (status == 400) return Fail(400, "chunked must be the last transfer coding");
        if (status == 501) return Fail(501, "unsupported transfer coding");
      }
      break;
    case 10:
      if (EqualsIgnoreCase(name, "connection")) {
        ForEachListElement(value, [&](std::string_view option) {
          if (EqualsIgnoreCase(option, "close")) connection_close_ = true;
          if (EqualsIgnoreCase(option, "keep-alive")) connection_keep_alive_ = true;
        });
      }
      break;
    case 6:
      if (EqualsIgnoreCase(name, "expect") && EqualsIgnoreCase(value, "100-continue"))
        expect_continue_header_ = true;
      break;
    default:
      break;
  }
  request_.headers.push_back(Header{std::string(name), std::string(value)});
  return true;
}

bool RequestParser::FinishHead() {
  keep_alive_ = http10_ ? connection_keep_alive_ && !connection_close_ : !connection_close_;
  if (chunked_) {
    // RFC 9112 6.1: HTTP/1.0 has no chunked framing, and a message with both is a
    // smuggling attempt or a broken proxy.
    if (http10_) return Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (has_content_length_) return Fail(400, "both Content-Length and Transfer-Encoding");
    state_ = State::kChunkSize;
  } else if (has_content_length_) {
    // Over max_body_bytes: refused when the body starts, unless it was diverted by then.
    if (content_length_ >
        std::max<uint64_t>(limits_.max_body_bytes, limits_.max_diverted_body_bytes))
      return Fail(413, "request body too large");
    if (content_length_ == 0) {
      state_ = State::kComplete;
      return true;
    }
    if (content_length_ <= limits_.max_body_bytes)
      request_.body.reserve(std::min<size_t>(content_length_, kMaxReserveBytes));
    body_left_ = content_length_;
    state_ = State::kBody;
  } else {
    state_ = State::kComplete;  // no body
    return true;
  }
  // RFC 9110 10.1.1: ignore the expectation in HTTP/1.0.
  expects_continue_ = expect_continue_header_ && !http10_;
  return true;
}

bool RequestParser::OnChunkSize(std::string_view line) {
  // chunk-size [ chunk-ext ]; the extensions are ignored.
  size_t i = 0;
  uint64_t size = 0;
  const uint64_t max_body =
      request_.diverted_body ? limits_.max_diverted_body_bytes : limits_.max_body_bytes;
  while (i < line.size() && HexValue(line[i]) >= 0) {
    size = size * 16 + static_cast<uint64_t>(HexValue(line[i]));
    if (size > max_body) return Fail(413, "request body too large");
    ++i;
  }
  if (i == 0) return Fail(400, "malformed chunk size");
  std::string_view rest = TrimOws(line.substr(i));
  if (!rest.empty() && (rest.front() != ';' || !IsFieldValue(rest)))
    return Fail(400, "malformed chunk extension");
  if (size > max_body - body_received_) return Fail(413, "request body too large");
  if (size == 0) {
    state_ = State::kTrailers;
    return true;
  }
  if (!request_.diverted_body && request_.body.capacity() < kMaxReserveBytes)
    request_.body.reserve(std::min<size_t>(request_.body.size() + size, kMaxReserveBytes));
  chunk_left_ = size;
  state_ = State::kChunkData;
  return true;
}

void RequestParser::DivertBody(std::shared_ptr<BodyConsumer> sink) {
  if (!request_.body.empty()) sink->Consume(request_.body);
  std::string().swap(request_.body);
  request_.diverted_body = std::move(sink);
}

bool RequestParser::Fail(int status, std::string reason) {
  state_ = State::kError;
  error_status_ = status;
  error_ = std::move(reason);
  keep_alive_ = false;
  return false;
}

void RequestParser::Reset() {
  state_ = State::kRequestLine;
  if (line_.capacity() > kKeepCapacityBytes) {
    std::string().swap(line_);
  } else {
    line_.clear();
  }
  head_bytes_ = 0;
  trailer_bytes_ = 0;
  body_left_ = 0;
  chunk_left_ = 0;
  http10_ = false;
  keep_alive_ = true;
  expects_continue_ = false;
  expect_continue_header_ = false;
  connection_close_ = false;
  connection_keep_alive_ = false;
  has_content_length_ = false;
  chunked_ = false;
  content_length_ = 0;
  body_received_ = 0;
  // Move-assigning a fresh Request would keep the body's buffer: libstdc++'s string move
  // assignment from a short (inline) string copies into the existing allocation. So the
  // body is released explicitly, or a lingering connection keeps its refused 16 MiB.
  std::string().swap(request_.body);
  request_ = Request();
  error_status_ = 0;
  error_.clear();
}

}  // namespace millrace::http
