// The response side of the HTTP/1.1 codec (the counterpart of parser.h): status lines,
// framing headers and the protocol-neutral error body.
#pragma once

#include <string>
#include <string_view>

#include "http/message.h"

namespace millrace::http {

// How the server frames one response; the handler decides the rest.
struct ResponseFraming {
  bool send_body = true;           // false for HEAD requests: Content-Length, but no body
  bool close = false;              // "Connection: close"
  bool http10_keep_alive = false;  // "Connection: keep-alive" (HTTP/1.0 closes otherwise)
  bool chunked = false;            // "Transfer-Encoding: chunked" instead of Content-Length
};

// The status actually sent for `status`: anything but 200..999 (1xx is not a final answer)
// becomes 500.
int FinalStatus(int status);

// Whether a response with this final status carries a body (not 204, 304).
bool StatusHasBody(int status);

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
const char* ReasonPhrase(int status);

// Appends the status line and headers of `r`, then Content-Length (from r.body) and
// Connection as `framing` says, then the empty line, to *out. The handler's own
// Content-Length, Connection and Transfer-Encoding headers are dropped (the server owns
// the framing), and so are headers whose name or value holds CR or LF.
void AppendResponseHead(const Response& r, const ResponseFraming& framing, std::string* out);

// "Sun, 06 Dec 2026 07:00:00 GMT": the Date header's value now (cached per second, per thread).
std::string_view HttpDateNow();

// The answer to a request that could not be parsed or timed out: `status`, content type
// application/json, body {"message":"<reason>"}, and the connection closes.
Response ErrorResponse(int status, std::string_view reason);

}  // namespace millrace::http
