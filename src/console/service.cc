#include "console/service.h"

#include <string>

#include "console/assets.h"

namespace millrace::console {
namespace {

constexpr std::string_view kRoot = "/console";

// Whether an Accept-Encoding value allows gzip (a token "gzip" without q=0).
bool AcceptsGzip(std::string_view accept) {
  size_t pos = 0;
  while (pos <= accept.size()) {
    size_t end = accept.find(',', pos);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    std::string_view token = item.substr(0, item.find(';'));
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (http::EqualsIgnoreCase(token, "gzip") || token == "*") {
      size_t q = item.find("q=");
      if (q == std::string_view::npos) return true;
      std::string_view v = item.substr(q + 2);
      return !(v.starts_with("0") && v.find_first_of("123456789") == std::string_view::npos);
    }
    pos = end + 1;
  }
  return false;
}

// Whether an If-None-Match value names `etag` (or is "*").
bool Matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match == "*") return true;
  return if_none_match.find(etag) != std::string_view::npos;
}

// Headers every console answer carries: the page may load only its own files and talk only
// to this origin, may not be framed, and sends no referrer.
void Harden(http::Response& r) {
  r.SetHeader("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
              "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'");
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("X-Frame-Options", "DENY");
  r.SetHeader("Referrer-Policy", "no-referrer");
}

http::Response NotFound() {
  http::Response r;
  r.status = 404;
  r.body = "Not found: the console's page is /console/\n";
  r.SetHeader("Content-Type", "text/plain; charset=utf-8");
  Harden(r);
  return r;
}

}  // namespace

bool Handles(const http::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  std::string_view p = req.path;
  return p == kRoot || (p.starts_with(kRoot) && p[kRoot.size()] == '/');
}

http::Response Serve(const http::Request& req) {
  std::string_view p = req.path;
  if (p == kRoot) {
    http::Response r;
    r.status = 301;
    r.SetHeader("Location", "/console/");
    Harden(r);
    return r;
  }
  std::string_view name = p.substr(kRoot.size() + 1);
  if (name.empty()) name = "index.html";
  const Asset* asset = nullptr;
  for (const Asset& a : Assets())
    if (a.name == name) asset = &a;
  if (asset == nullptr) return NotFound();

  http::Response r;
  Harden(r);
  r.SetHeader("ETag", std::string(asset->etag));
  r.SetHeader("Cache-Control",
              asset->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.SetHeader("Vary", "Accept-Encoding");
  if (const std::string* inm = req.FindHeader("if-none-match"); inm && Matches(*inm, asset->etag)) {
    r.status = 304;
    return r;
  }
  r.SetHeader("Content-Type", std::string(asset->content_type));
  bool gzip = AcceptsGzip(req.HeaderOr("accept-encoding", ""));
  std::string_view body = gzip ? asset->gzipped : asset->bytes;
  if (gzip) r.SetHeader("Content-Encoding", "gzip");
  r.body.assign(body);  // a HEAD's is counted, not sent (the connection knows it is a HEAD)
  return r;
}

}  // namespace millrace::console
