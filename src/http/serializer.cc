#include "http/serializer.h"

#include <charconv>
#include <cstdint>
#include <ctime>

namespace millrace::http {
namespace {

void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(end - buf));
}

bool IsFramingHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "connection") ||
         EqualsIgnoreCase(name, "transfer-encoding");
}

}  // namespace

int FinalStatus(int status) { return status < 200 || status > 999 ? 500 : status; }

bool StatusHasBody(int status) { return status != 204 && status != 304; }

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

// "Sat, 21 Nov 2026 06:08:09 GMT" (IMF-fixdate), formatted once per second per thread.
std::string_view HttpDateNow() {
  thread_local time_t cached_second = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  time_t now = ::time(nullptr);
  if (now != cached_second) {
    struct tm tm;
    gmtime_r(&now, &tm);
    len = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return std::string_view(buf, len);
}

void AppendResponseHead(const Response& r, const ResponseFraming& framing, std::string* out) {
  int status = FinalStatus(r.status);
  out->append("HTTP/1.1 ");
  AppendNumber(out, static_cast<uint64_t>(status));
  out->push_back(' ');
  out->append(ReasonPhrase(status));
  out->append("\r\n");
  for (const Header& h : r.headers) {
    if (IsFramingHeader(h.name) || h.name.empty() || BreaksHeader(h.name, /*colon=*/true) ||
        BreaksHeader(h.value))
      continue;
    out->append(h.name);
    out->append(": ");
    out->append(h.value);
    out->append("\r\n");
  }
  out->append("Date: ");
  out->append(HttpDateNow());
  out->append("\r\n");
  if (StatusHasBody(status) && framing.chunked) {
    out->append("Transfer-Encoding: chunked\r\n");
  } else if (StatusHasBody(status)) {
    out->append("Content-Length: ");
    AppendNumber(out, !framing.send_body && r.head_content_length ? *r.head_content_length
                      : r.file                                    ? r.file->length
                                                                  : r.body.size());
    out->append("\r\n");
  }
  if (framing.close) {
    out->append("Connection: close\r\n");
  } else if (framing.http10_keep_alive) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
}

Response ErrorResponse(int status, std::string_view reason) {
  Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/json");
  r.body.reserve(reason.size() + 16);
  r.body.append("{\"message\":\"");
  for (char ch : reason) {  // the reasons are ours, but keep the JSON valid regardless
    if (ch == '"' || ch == '\\') r.body.push_back('\\');
    if (static_cast<unsigned char>(ch) >= 0x20) r.body.push_back(ch);
  }
  r.body.append("\"}");
  r.close_connection = true;
  return r;
}

}  // namespace millrace::http
