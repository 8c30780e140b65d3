// libFuzzer target for the SigV4 verifier (auth/sigv4.h): a request built from arbitrary
// bytes (method, target, headers, body), verified against one known key at a fixed time.
// Besides "no crash, no sanitizer report": VerifyHead never refuses what Verify accepts,
// and an accepted request always names the known key.
//
// Input: lines; the first is "METHOD TARGET", then "Name: value" headers until an empty
// line, then the body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace millrace;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Request r;
  size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  size_t sp = line.find(' ');
  r.method = std::string(line.substr(0, sp));
  std::string target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
  r.target = target;
  size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string::npos ? "" : target.substr(q + 1);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  while (!in.empty()) {
    nl = in.find('\n');
    line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  r.body = std::string(in);
  auth::SecretLookup lookup = [](std::string_view id) -> std::optional<std::string> {
    if (id != "AKIDEXAMPLE") return std::nullopt;
    return std::string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  };
  const int64_t now_ms = 1440938160000;  // 20150830T123600Z
  for (const char* service : {"", "kinesis", "s3"}) {
    auth::VerifyOptions o;
    o.service = service;
    auth::VerifyResult full = auth::Verify(r, lookup, now_ms, o);
    std::optional<auth::AuthError> head = auth::VerifyHead(r, lookup, now_ms, o);
    if (full.ok() && head) std::abort();
    if (full.ok() && full.identity().access_key_id != "AKIDEXAMPLE") std::abort();
    if (!full.ok() && full.error().message.size() > 4096) std::abort();  // echoes are bounded
  }
  return 0;
}
