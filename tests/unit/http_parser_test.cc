#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/parser.h"
#include "http/serializer.h"

namespace millrace::http {
namespace {

using namespace std::string_view_literals;

struct Outcome {
  ParseStatus status;
  size_t consumed;  // total over all feeds
};

// Feeds `data` in pieces of `step` bytes (0 = all at once) until the parser stops needing
// more.
Outcome FeedInSteps(RequestParser* p, std::string_view data, size_t step = 0) {
  size_t total = 0;
  ParseStatus st = ParseStatus::kNeedMore;
  while (true) {
    size_t n = step == 0 ? data.size() - total : std::min(step, data.size() - total);
    size_t used = 0;
    st = p->Feed(data.substr(total, n), &used);
    total += used;
    if (st != ParseStatus::kNeedMore || total == data.size()) break;
  }
  return {st, total};
}

ParserLimits SmallLimits() {
  ParserLimits l;
  l.max_header_bytes = 256;
  l.max_body_bytes = 64;
  return l;
}

// The status of parsing `data` in one piece; 0 when the request completed.
int ErrorOf(std::string_view data, ParserLimits limits = ParserLimits()) {
  RequestParser p(limits);
  Outcome o = FeedInSteps(&p, data);
  if (o.status == ParseStatus::kComplete) return 0;
  if (o.status == ParseStatus::kNeedMore) return -1;
  return p.error_status();
}

TEST(HttpParserTest, SimpleGet) {
  RequestParser p{ParserLimits()};
  std::string req = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-Thing:  v a l \t\r\n\r\n";
  Outcome o = FeedInSteps(&p, req);
  ASSERT_EQ(o.status, ParseStatus::kComplete);
  EXPECT_EQ(o.consumed, req.size());
  EXPECT_TRUE(p.keep_alive());
  EXPECT_FALSE(p.http10());
  Request r = p.TakeRequest();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a/b?x=1&y=2");
  EXPECT_EQ(r.path, "/a/b");
  EXPECT_EQ(r.query, "x=1&y=2");
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[1].name, "X-Thing");
  EXPECT_EQ(r.headers[1].value, "v a l");
  EXPECT_EQ(r.HeaderOr("x-THING", ""), "v a l");
  EXPECT_EQ(r.FindHeader("host")->compare("example"), 0);
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpParserTest, PostWithBodyAtEverySplitPoint) {
  std::string req =
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "Content-Length: 11\r\n\r\nhello world";
  for (size_t split = 0; split <= req.size(); ++split) {
    RequestParser p{ParserLimits()};
    size_t used1 = 0, used2 = 0;
    ParseStatus st = p.Feed(std::string_view(req).substr(0, split), &used1);
    if (split < req.size()) {
      ASSERT_EQ(st, ParseStatus::kNeedMore) << split;
      ASSERT_EQ(used1, split);
      st = p.Feed(std::string_view(req).substr(split), &used2);
    }
    ASSERT_EQ(st, ParseStatus::kComplete) << split;
    EXPECT_EQ(used1 + used2, req.size());
    Request r = p.TakeRequest();
    EXPECT_EQ(r.body, "hello world");
    EXPECT_EQ(r.HeaderOr("content-type", ""), "application/x-amz-json-1.1");
  }
}

TEST(HttpParserTest, ByteByByte) {
  RequestParser p{ParserLimits()};
  std::string req = "PUT /x HTTP/1.1\r\nA: 1\r\nB: 2\r\nContent-Length: 3\r\n\r\nabc";
  Outcome o = FeedInSteps(&p, req, 1);
  ASSERT_EQ(o.status, ParseStatus::kComplete);
  Request r = p.TakeRequest();
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.body, "abc");
}

TEST(HttpParserTest, BareLfAndLeadingEmptyLines) {
  RequestParser p{ParserLimits()};
  EXPECT_FALSE(p.started());
  size_t used = 0;
  ASSERT_EQ(p.Feed("\r\n\n", &used), ParseStatus::kNeedMore);
  EXPECT_FALSE(p.started());
  Outcome o = FeedInSteps(&p, "GET / HTTP/1.1\nHost: h\n\n");
  ASSERT_EQ(o.status, ParseStatus::kComplete);
  EXPECT_EQ(p.TakeRequest().HeaderOr("host", ""), "h");
}

TEST(HttpParserTest, Pipelined) {
  std::string two = "GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
  RequestParser p{ParserLimits()};
  size_t used = 0;
  ASSERT_EQ(p.Feed(two, &used), ParseStatus::kComplete);
  EXPECT_EQ(used, std::string("GET /1 HTTP/1.1\r\n\r\n").size());
  EXPECT_EQ(p.TakeRequest().path, "/1");
  // Nothing more is consumed until Reset.
  size_t again = 99;
  EXPECT_EQ(p.Feed(std::string_view(two).substr(used), &again), ParseStatus::kComplete);
  EXPECT_EQ(again, 0u);
  p.Reset();
  size_t used2 = 0;
  ASSERT_EQ(p.Feed(std::string_view(two).substr(used), &used2), ParseStatus::kComplete);
  EXPECT_EQ(used + used2, two.size());
  Request r = p.TakeRequest();
  EXPECT_EQ(r.path, "/2");
  EXPECT_EQ(r.body, "ok");
}

TEST(HttpParserTest, AbsoluteFormTarget) {
  RequestParser p{ParserLimits()};
  ASSERT_EQ(FeedInSteps(&p, "GET http://h:1/p/q?z HTTP/1.1\r\n\r\n").status,
            ParseStatus::kComplete);
  Request r = p.TakeRequest();
  EXPECT_EQ(r.target, "http://h:1/p/q?z");
  EXPECT_EQ(r.path, "/p/q");
  EXPECT_EQ(r.query, "z");
}

TEST(HttpParserTest, MalformedRequestLines) {
  EXPECT_EQ(ErrorOf("GARBAGE\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1 \r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf(" GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("G(T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET /\x01 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET /\r HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTX/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/11\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.2\r\n\r\n"), 505);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.0\r\n\r\n"), 0);
}

TEST(HttpParserTest, MalformedHeaders) {
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n"), 400);  // obs-fold
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: 1\r\n\tfolded\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA : 1\r\n\r\n"), 400);  // space before colon
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\n: empty name\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: x\0y\r\n\r\n"sv), 400);
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: x\ry\r\n\r\n"), 400);       // bare CR
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nA: caf\xc3\xa9\r\n\r\n"), 0);  // obs-text is fine
  EXPECT_EQ(ErrorOf("GET / HTTP/1.1\r\nEmpty:\r\n\r\n"), 0);
}

TEST(HttpParserTest, HeaderLimit) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n";
  EXPECT_EQ(ErrorOf(big, SmallLimits()), 431);
  // Refused before the line ends, so a never-ending line is not buffered.
  RequestParser p(SmallLimits());
  size_t used = 0;
  EXPECT_EQ(p.Feed("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), &used), ParseStatus::kError);
  EXPECT_EQ(p.error_status(), 431);
  // A long request line counts too.
  EXPECT_EQ(ErrorOf("GET /" + std::string(300, 'a') + " HTTP/1.1\r\n\r\n", SmallLimits()), 431);
  // Many small headers add up.
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 40; ++i) many += "H: v\r\n";
  EXPECT_EQ(ErrorOf(many + "\r\n", SmallLimits()), 431);
  // Exactly at the limit is fine.
  std::string head = "GET / HTTP/1.1\r\nX: ";
  std::string exact = head + std::string(256 - head.size() - 4, 'b') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 256u);
  EXPECT_EQ(ErrorOf(exact, SmallLimits()), 0);
  // Regression (found by the fuzzer): a partial line was counted twice against the limit,
  // so a head at the limit failed when it arrived in small pieces.
  for (size_t step : {size_t{1}, size_t{2}, size_t{5}}) {
    RequestParser p(SmallLimits());
    EXPECT_EQ(FeedInSteps(&p, exact, step).status, ParseStatus::kComplete) << step;
  }
  EXPECT_EQ(ErrorOf(head + std::string(256 - head.size() - 3, 'b') + "\r\n\r\n", SmallLimits()),
            431);
}

TEST(HttpParserTest, ContentLength) {
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\nabc"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc"), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc"), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 003\r\n\r\nabc"), 0);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", SmallLimits()), 413);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'x'),
                    SmallLimits()),
            0);
  // Incomplete body: still waiting.
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"), -1);
}

TEST(HttpParserTest, Chunked) {
  std::string req =
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n1;ext=1;q=\"x\"\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}, size_t{7}}) {
    RequestParser p{ParserLimits()};
    Outcome o = FeedInSteps(&p, req, step);
    ASSERT_EQ(o.status, ParseStatus::kComplete) << step;
    EXPECT_EQ(req.substr(o.consumed), "GET /next HTTP/1.1\r\n\r\n");
    Request r = p.TakeRequest();
    EXPECT_EQ(r.body, "hello 0123456789");
    EXPECT_EQ(r.FindHeader("trailer"), nullptr);  // trailers are dropped
  }
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n"), 0);
}

TEST(HttpParserTest, ChunkedErrors) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(ErrorOf(head + "x\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "5 5\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "3\r\nabcX\r\n"), 400);  // no CRLF after the data
  EXPECT_EQ(ErrorOf(head + "3\r\nabc\r\n0\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "3\r\nabc\r\n0\r\nbad trailer\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "ffffffffffffffffffffffff\r\n"), 413);
  EXPECT_EQ(ErrorOf(head + "41\r\n", SmallLimits()), 413);
  EXPECT_EQ(ErrorOf(head + "20\r\n" + std::string(32, 'a') + "\r\n21\r\n", SmallLimits()), 413);
  EXPECT_EQ(ErrorOf(head + "1;" + std::string(5000, 'e') + "\r\n"), 400);
  EXPECT_EQ(ErrorOf(head + "0\r\nT: " + std::string(300, 't') + "\r\n\r\n", SmallLimits()), 431);
}

TEST(HttpParserTest, TransferEncodingRules) {
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"),
            400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n"), 400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 3\r\n\r\n0\r\n\r\n"),
            400);
  EXPECT_EQ(ErrorOf("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

TEST(HttpParserTest, ExpectContinue) {
  RequestParser p{ParserLimits()};
  size_t used = 0;
  ASSERT_EQ(p.Feed("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", &used),
            ParseStatus::kNeedMore);
  EXPECT_TRUE(p.head_complete());
  EXPECT_TRUE(p.expects_continue());
  ASSERT_EQ(p.Feed("abc", &used), ParseStatus::kComplete);
  EXPECT_EQ(p.TakeRequest().body, "abc");

  // Not in HTTP/1.0, and not without a body.
  RequestParser p10{ParserLimits()};
  ASSERT_EQ(p10.Feed("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", &used),
            ParseStatus::kNeedMore);
  EXPECT_FALSE(p10.expects_continue());
  RequestParser p0{ParserLimits()};
  ASSERT_EQ(p0.Feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &used),
            ParseStatus::kComplete);
  EXPECT_FALSE(p0.expects_continue());
  // Too large: refused before the client sends the body.
  EXPECT_EQ(ErrorOf("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 65\r\n\r\n",
                    SmallLimits()),
            413);
}

TEST(HttpParserTest, KeepAlive) {
  auto keep_alive = [](std::string_view head) {
    RequestParser p{ParserLimits()};
    size_t used = 0;
    EXPECT_EQ(p.Feed(head, &used), ParseStatus::kComplete) << head;
    return p.keep_alive();
  };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
}

TEST(HttpParserTest, ErrorIsSticky) {
  RequestParser p{ParserLimits()};
  size_t used = 0;
  ASSERT_EQ(p.Feed("BAD\r\n", &used), ParseStatus::kError);
  EXPECT_EQ(p.error_status(), 400);
  EXPECT_FALSE(p.error_reason().empty());
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(p.Feed("GET / HTTP/1.1\r\n\r\n", &used), ParseStatus::kError);
  EXPECT_EQ(used, 0u);
  p.Reset();
  EXPECT_EQ(p.Feed("GET / HTTP/1.1\r\n\r\n", &used), ParseStatus::kComplete);
}

TEST(HttpParserTest, StartedAndHeadComplete) {
  RequestParser p{ParserLimits()};
  size_t used = 0;
  EXPECT_FALSE(p.started());
  ASSERT_EQ(p.Feed("PO", &used), ParseStatus::kNeedMore);
  EXPECT_TRUE(p.started());
  EXPECT_FALSE(p.head_complete());
  ASSERT_EQ(p.Feed("ST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", &used), ParseStatus::kNeedMore);
  EXPECT_TRUE(p.head_complete());
  EXPECT_EQ(p.method(), "POST");
}

// Header names compare without regard to ASCII case, and only ASCII case.
TEST(HttpMessage, HeaderNamesCompareIgnoringAsciiCase) {
  EXPECT_TRUE(EqualsIgnoreCase("X-Amz-Target", "x-amz-target"));
  EXPECT_TRUE(EqualsIgnoreCase("CONTENT-LENGTH", "content-length"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("host", "hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("x-amz-date", "x-amz-datf"));
  EXPECT_FALSE(EqualsIgnoreCase("a[", "A{"));  // '[' and '{' are 0x20 apart, not letters
  EXPECT_FALSE(EqualsIgnoreCase("@", "`"));
  EXPECT_FALSE(EqualsIgnoreCase("\xc9", "\xe9"));  // not ASCII: not folded
  Request r;
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Date", "20261207T050000Z"}};
  ASSERT_NE(r.FindHeader("x-amz-date"), nullptr);
  EXPECT_EQ(*r.FindHeader("x-amz-date"), "20261207T050000Z");
  EXPECT_EQ(r.FindHeader("x-amz-target"), nullptr);
}

// A header field that would split the answer's head (CR or LF anywhere, ':' in a name) is
// not written; the others are, as given.
TEST(HttpSerializer, FieldsThatWouldSplitTheHeadAreNotWritten) {
  Response r;
  r.status = 200;
  r.headers = {{"X-Good", "value: with colon"},
               {"X-Bad-Value", "a\r\nSet-Cookie: x=1"},
               {"X-Bad-Lf", "a\nb"},
               {"X-Bad:Name", "v"},
               {"X-Bad\rName", "v"},
               {"X-Also-Good", "v"}};
  std::string head;
  AppendResponseHead(r, ResponseFraming{}, &head);
  EXPECT_NE(head.find("X-Good: value: with colon\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Also-Good: v\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("X-Bad"), std::string::npos) << head;
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos) << head;
}

}  // namespace
// Regression (issue #10): Reset of a request whose body was partly read kept the body's
// buffer (a libstdc++ string move-assignment keeps the allocation), so a refused or
// lingering connection held up to its body's size.
TEST(HttpParserTest, ResetReleasesAPartialBody) {
  RequestParser p{ParserLimits()};
  std::string head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n";
  size_t used = 0;
  ASSERT_EQ(p.Feed(head + std::string(1 << 20, 'x'), &used), ParseStatus::kNeedMore);
  EXPECT_TRUE(p.head_complete());
  EXPECT_EQ(p.announced_body_bytes(), 4000000u);
  EXPECT_EQ(p.body_bytes(), 1u << 20);
  EXPECT_GE(p.buffered_bytes(), 1u << 20);
  p.Reset();
  EXPECT_LT(p.buffered_bytes(), 4096u);
}

// A body diverted at the end of its head goes to the sink, may pass max_body_bytes up to
// max_diverted_body_bytes, and is never held in the request (the S3 upload path).
class CollectingSink : public BodyConsumer {
 public:
  void Consume(std::string_view piece) override { got += piece; }
  std::string got;
};

TEST(HttpParserTest, DivertedBodiesGoToTheirSinkAndMayBeLarger) {
  for (bool chunked : {false, true}) {
    ParserLimits l;
    l.max_body_bytes = 16;
    l.max_diverted_body_bytes = 1000;
    l.pause_after_head = true;
    RequestParser p(l);
    const std::string body(100, 'x');
    std::string wire = "PUT /b/k HTTP/1.1\r\nHost: h\r\n";
    if (chunked) {
      wire += "Transfer-Encoding: chunked\r\n\r\n64\r\n" + body + "\r\n0\r\n\r\n";
    } else {
      wire += "Content-Length: 100\r\n\r\n" + body;
    }
    size_t used = 0;
    ASSERT_EQ(p.Feed(wire, &used), ParseStatus::kHeadComplete);
    ASSERT_TRUE(p.head_complete());
    auto sink = std::make_shared<CollectingSink>();
    p.DivertBody(sink);
    size_t more = 0;
    ASSERT_EQ(p.Feed(std::string_view(wire).substr(used), &more), ParseStatus::kComplete);
    EXPECT_EQ(used + more, wire.size());
    Request r = p.TakeRequest();
    EXPECT_EQ(sink->got, body);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.diverted_body, sink);
    EXPECT_LT(p.buffered_bytes(), 1024u);
  }
  // Not diverted: the same body is too large.
  ParserLimits l;
  l.max_body_bytes = 16;
  l.max_diverted_body_bytes = 1000;
  l.pause_after_head = true;
  RequestParser p(l);
  const std::string wire =
      "PUT /b/k HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
  size_t used = 0;
  ASSERT_EQ(p.Feed(wire, &used), ParseStatus::kHeadComplete);
  size_t more = 0;
  EXPECT_EQ(p.Feed(std::string_view(wire).substr(used), &more), ParseStatus::kError);
  EXPECT_EQ(p.error_status(), 413);
  // Past the diverted limit: refused at the head.
  RequestParser q(l);
  EXPECT_EQ(q.Feed("PUT /b/k HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", &used),
            ParseStatus::kError);
  EXPECT_EQ(q.error_status(), 413);
}

}  // namespace millrace::http
