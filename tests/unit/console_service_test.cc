// The console's file server (src/console/service.h): which requests it takes, redirects,
// the page and its bundles with ETag, gzip and caching, and 404 for anything else.
#include <gtest/gtest.h>

#include "console/assets.h"
#include "console/service.h"

namespace millrace::console {
namespace {

http::Request Get(std::string path, std::vector<http::Header> headers = {}) {
  http::Request r;
  r.method = "GET";
  r.path = std::move(path);
  r.target = r.path;
  r.headers = std::move(headers);
  return r;
}

std::string HeaderOf(const http::Response& r, std::string_view name) {
  for (const http::Header& h : r.headers)
    if (http::EqualsIgnoreCase(h.name, name)) return h.value;
  return "";
}

const Asset& Script() {
  for (const Asset& a : Assets())
    if (a.name.ends_with(".js")) return a;
  ADD_FAILURE() << "no script among the console's assets";
  return Assets()[0];
}

TEST(ConsoleService, TakesOnlyGetAndHeadOfItsFolder) {
  EXPECT_TRUE(Handles(Get("/console")));
  EXPECT_TRUE(Handles(Get("/console/")));
  EXPECT_TRUE(Handles(Get("/console/app.js")));
  EXPECT_FALSE(Handles(Get("/consoles")));
  EXPECT_FALSE(Handles(Get("/")));
  http::Request post = Get("/console/");
  post.method = "POST";
  EXPECT_FALSE(Handles(post));
}

TEST(ConsoleService, RedirectsTheFolderWithoutItsSlash) {
  http::Response r = Serve(Get("/console"));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(HeaderOf(r, "Location"), "/console/");
}

TEST(ConsoleService, ServesThePageRevalidatedAndHardened) {
  http::Response r = Serve(Get("/console/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderOf(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
  EXPECT_NE(r.body.find(std::string(Script().name)), std::string::npos) << r.body;
  EXPECT_NE(HeaderOf(r, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string::npos);
  EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
}

TEST(ConsoleService, ServesHashedBundlesForAYearGzippedWhenAccepted) {
  const Asset& js = Script();
  std::string path = "/console/" + std::string(js.name);
  http::Response plain = Serve(Get(path));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, js.bytes);
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(plain, "Cache-Control"), "public, max-age=31536000, immutable");
  http::Response gz = Serve(Get(path, {{"Accept-Encoding", "br, gzip;q=0.8"}}));
  EXPECT_EQ(HeaderOf(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz.body, js.gzipped);
  EXPECT_LT(gz.body.size(), plain.body.size());
  http::Response refused = Serve(Get(path, {{"Accept-Encoding", "gzip;q=0, identity"}}));
  EXPECT_EQ(HeaderOf(refused, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(gz, "Vary"), "Accept-Encoding");
}

TEST(ConsoleService, AnswersNotModifiedForItsETag) {
  const Asset& js = Script();
  http::Response r =
      Serve(Get("/console/" + std::string(js.name), {{"If-None-Match", std::string(js.etag)}}));
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  http::Response other =
      Serve(Get("/console/" + std::string(js.name), {{"If-None-Match", "\"0000\""}}));
  EXPECT_EQ(other.status, 200);
}

TEST(ConsoleService, AnythingElseIsNotFound) {
  for (const char* path :
       {"/console/nope.js", "/console/../data/credentials", "/console/%2e%2e/credentials",
        "/console/index.html/x", "/console//index.html"})
    EXPECT_EQ(Serve(Get(path)).status, 404) << path;
}

}  // namespace
}  // namespace millrace::console
