// libFuzzer target for RequestParser: arbitrary bytes, fed in arbitrary pieces.
//
// Besides "no crash, no sanitizer report", it checks that parsing does not depend on where
// the stream was split: the requests and the error status must be the same as when the
// whole input is fed at once. And the limits hold: no body over max_body_bytes.
//
//   build-fuzz/bin/http_parser_fuzz -max_total_time=60
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/parser.h"

namespace {

using millrace::http::ParserLimits;
using millrace::http::ParseStatus;
using millrace::http::Request;
using millrace::http::RequestParser;

// What a stream parsed into: one line per request, then the error status or "more".
std::vector<std::string> Parse(const std::string& input, const std::vector<size_t>& pieces,
                               const ParserLimits& limits) {
  std::vector<std::string> out;
  RequestParser parser(limits);
  size_t pos = 0;
  size_t piece = 0;
  while (true) {
    // The next piece: the given sizes in turn, then the rest at once.
    size_t n = piece < pieces.size() ? pieces[piece++] : input.size() - pos;
    n = std::min(n, input.size() - pos);
    std::string_view data(input.data() + pos, n);
    // Feed until the piece is used up (a completed request leaves the rest of it).
    while (true) {
      size_t used = 0;
      ParseStatus st = parser.Feed(data, &used);
      if (used > data.size()) std::abort();
      pos += used;
      data.remove_prefix(used);
      if (st == ParseStatus::kError) {
        int s = parser.error_status();
        if (s != 400 && s != 413 && s != 431 && s != 501 && s != 505) std::abort();
        if (parser.error_reason().empty()) std::abort();
        out.push_back("error " + std::to_string(s));
        return out;
      }
      if (st == ParseStatus::kNeedMore) {
        if (!data.empty()) std::abort();  // kNeedMore consumes everything
        break;
      }
      bool keep_alive = parser.keep_alive();
      Request r = parser.TakeRequest();
      if (r.body.size() > limits.max_body_bytes) std::abort();
      if (r.method.empty() || r.target.empty()) std::abort();
      std::string line = r.method + " " + r.target + " " + r.path + " " + r.query + " " +
                         std::to_string(r.headers.size()) + " " + std::to_string(keep_alive);
      for (const auto& h : r.headers) line += "|" + h.name + ":" + h.value;
      line += "|" + r.body;
      out.push_back(std::move(line));
      parser.Reset();
    }
    if (pos == input.size()) break;
  }
  out.push_back(parser.started() ? "partial" : "idle");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  ParserLimits limits;
  // Small limits, so that the fuzzer reaches them.
  limits.max_header_bytes = fdp.ConsumeIntegralInRange<size_t>(1, 512);
  limits.max_body_bytes = fdp.ConsumeIntegralInRange<size_t>(0, 256);
  std::vector<size_t> pieces(fdp.ConsumeIntegralInRange<size_t>(0, 16));
  for (size_t& p : pieces) p = fdp.ConsumeIntegralInRange<size_t>(0, 64);
  std::string input = fdp.ConsumeRemainingBytesAsString();

  std::vector<std::string> whole = Parse(input, {}, limits);
  std::vector<std::string> split = Parse(input, pieces, limits);
  if (whole != split) std::abort();
  std::vector<size_t> bytes(input.size(), 1);
  if (Parse(input, bytes, limits) != whole) std::abort();
  return 0;
}
