// HttpServer over real loopback sockets (port 0): framing, keep-alive, pipelining, answers
// from other threads, limits and timeouts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"

namespace millrace::http {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return "";
  }
  bool HasHeader(const std::string& name) const {
    for (const auto& [n, v] : headers)
      if (n == name) return true;
    return false;
  }
};

// A blocking loopback client that reads HTTP/1.1 responses framed by Content-Length.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One response, or nullopt on end of stream, error or timeout. `head_only`: a response
  // to HEAD, whose Content-Length announces a body that is not sent.
  std::optional<ClientResponse> Read(int timeout_ms = 5000, bool head_only = false) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!Fill(deadline)) return std::nullopt;
    ClientResponse r;
    std::string head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    size_t eol = head.find("\r\n");
    std::string status_line = head.substr(0, eol);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    r.status = std::atoi(status_line.c_str() + 9);
    size_t pos = eol + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      std::string line = head.substr(pos, next - pos);
      pos = next + 2;
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(name, value);
    }
    if (r.status >= 200 && !head_only && r.HasHeader("content-length")) {
      size_t length = std::stoul(r.Header("content-length"));
      while (buf_.size() < length)
        if (!Fill(deadline)) return std::nullopt;
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
    }
    return r;
  }

  // True when the server closes the connection within the timeout (nothing else arrives).
  bool WaitForClose(int timeout_ms = 5000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t before = buf_.size();
    while (true) {
      int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return false;
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return buf_.size() == before;
      if (n < 0) return false;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

  // Reads exactly `n` raw bytes.
  std::string ReadRaw(size_t n, int timeout_ms = 5000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (buf_.size() < n)
      if (!Fill(deadline)) break;
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }

 private:
  bool Fill(Clock::time_point deadline) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Runs tasks on one background thread, in order; joined by the destructor.
class Worker {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return done_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::thread thread_;
};

Response Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.SetHeader("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

// Answers "<method> <path> <body>" at once.
void Echo(Request&& req, Responder responder) {
  responder.Send(Text(200, req.method + " " + req.path + " " + req.body));
}

std::unique_ptr<HttpServer> StartServer(Handler handler, ServerOptions options = {}) {
  options.port = 0;
  if (options.threads == 0) options.threads = 2;
  auto server = std::make_unique<HttpServer>(options, std::move(handler));
  Status s = server->Start();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return server;
}

std::string Post(std::string_view path, std::string_view body) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

TEST(HttpServerTest, KeepAliveSeveralRequests) {
  auto server = StartServer(Echo);
  Client c(server->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Send(Post("/p" + std::to_string(i), "body" + std::to_string(i))));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /p" + std::to_string(i) + " body" + std::to_string(i));
    EXPECT_EQ(r->Header("content-length"), std::to_string(r->body.size()));
    EXPECT_EQ(r->Header("content-type"), "text/plain");
    EXPECT_FALSE(r->HasHeader("connection"));
  }
  ASSERT_TRUE(c.Send("GET /q?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "GET /q ");
}

// A body from a file goes out with sendfile: a part of it, a large one (more than one
// write), keep-alive after it, and HEAD with the GET's length but no body.
TEST(HttpServerTest, FileBodiesAreSentFromTheFile) {
  char path[] = "/tmp/millrace-filebody-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content;
  for (int i = 0; content.size() < (3u << 20); ++i) content += std::to_string(i) + ",";
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);
  auto server = StartServer([&](Request&& req, Responder responder) {
    Response r;
    int f = ::open(path, O_RDONLY);
    bool part = req.path == "/part";
    uint64_t off = part ? 10 : 0, len = part ? 20 : content.size();
    r.file = std::make_shared<FileBody>(f, off, len);
    r.head_content_length = len;
    responder.Send(std::move(r));
  });
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET /part HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, content.substr(10, 20));
  ASSERT_TRUE(c.Send("GET /all HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.size(), content.size());
  EXPECT_TRUE(r->body == content);
  ASSERT_TRUE(c.Send("HEAD /all HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read(5000, /*head_only=*/true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("content-length"), std::to_string(content.size()));
  EXPECT_TRUE(r->body.empty());
  ::unlink(path);
}

TEST(HttpServerTest, RemoteAddressAndHeadersReachTheHandler) {
  std::string seen;
  auto server = StartServer([&](Request&& req, Responder responder) {
    seen =
        req.remote_address + "|" + std::string(req.HeaderOr("x-amz-target", "-")) + "|" + req.query;
    responder.Send(Text(200, "ok"));
  });
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET /?a=b HTTP/1.1\r\nHost: t\r\nX-Amz-Target: K.Put\r\n\r\n"));
  ASSERT_TRUE(c.Read().has_value());
  EXPECT_EQ(seen.rfind("127.0.0.1:", 0), 0u) << seen;
  EXPECT_NE(seen.find("|K.Put|a=b"), std::string::npos) << seen;
}

TEST(HttpServerTest, PipelinedRequestsAnsweredInOrderOneAtATime) {
  Worker worker;
  std::atomic<int> outstanding{0};
  std::atomic<int> max_outstanding{0};
  auto server = StartServer([&](Request&& req, Responder responder) {
    int now = ++outstanding;
    if (now > max_outstanding) max_outstanding = now;
    // Earlier requests take longer: out-of-order answers would show.
    int delay = req.path == "/1" ? 60 : req.path == "/2" ? 30 : 0;
    auto shared = std::make_shared<Responder>(std::move(responder));
    std::string path = req.path;
    worker.Post([&, shared, delay, path] {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      --outstanding;
      shared->Send(Text(200, path));
    });
  });
  Client c(server->port());
  ASSERT_TRUE(
      c.Send(Post("/1", "a") + Post("/2", "bb") + "GET /3 HTTP/1.1\r\n\r\n" + Post("/4", "")));
  for (const char* want : {"/1", "/2", "/3", "/4"}) {
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << want;
    EXPECT_EQ(r->body, want);
  }
  EXPECT_EQ(max_outstanding.load(), 1);
}

TEST(HttpServerTest, AnswerFromAnotherThreadAfterADelay) {
  Worker worker;
  auto server = StartServer([&](Request&& req, Responder responder) {
    auto shared = std::make_shared<Responder>(std::move(responder));
    std::string body = req.body;
    worker.Post([shared, body] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      shared->Send(Text(201, "late:" + body));
    });
  });
  Client c(server->port());
  auto start = Clock::now();
  ASSERT_TRUE(c.Send(Post("/", "x")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_GE(MillisSince(start), 90);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "late:x");
  // The connection is still usable.
  ASSERT_TRUE(c.Send(Post("/", "y")));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "late:y");
}

TEST(HttpServerTest, AnswerFromAnotherConnectionsHandler) {
  // One loop: "/release" answers the parked "/wait" from inside its own handler, on the
  // loop thread but outside the parked connection's dispatch.
  std::mutex mu;
  std::optional<Responder> parked;
  ServerOptions options;
  options.threads = 1;
  auto server = StartServer(
      [&](Request&& req, Responder responder) {
        std::lock_guard<std::mutex> lock(mu);
        if (req.path == "/wait") {
          parked.emplace(std::move(responder));
          return;
        }
        if (parked) {
          parked->Send(Text(200, "released"));
          parked.reset();
        }
        responder.Send(Text(200, "releaser"));
      },
      options);
  Client waiter(server->port());
  Client releaser(server->port());
  ASSERT_TRUE(waiter.Send("GET /wait HTTP/1.1\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(releaser.Send("GET /release HTTP/1.1\r\n\r\n"));
  auto r1 = releaser.Read();
  auto r2 = waiter.Read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "releaser");
  EXPECT_EQ(r2->body, "released");
}

TEST(HttpServerTest, ExpectContinue) {
  auto server = StartServer(Echo);
  Client c(server->port());
  ASSERT_TRUE(
      c.Send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /e hello");
  // A client that sends the body without waiting gets no 100 Continue.
  ASSERT_TRUE(
      c.Send("POST /f HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /f hi");
}

TEST(HttpServerTest, ExpectContinueTooLargeIsRefusedWithoutContinue) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(Echo, options);
  Client c(server->port());
  ASSERT_TRUE(
      c.Send("POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.WaitForClose());
}

TEST(HttpServerTest, ChunkedBody) {
  auto server = StartServer(Echo);
  Client c(server->port());
  ASSERT_TRUE(c.Send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki"));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.Send("\r\n5\r\npedia\r\n0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /c Wikipedia");
}

TEST(HttpServerTest, OversizedBodyGets413AndClose) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(Echo, options);
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send(Post("/", std::string(2000, 'x'))));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitForClose());
  }
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
                       std::string(1024, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.WaitForClose());
  }
  // Exactly at the limit is fine.
  Client c(server->port());
  ASSERT_TRUE(c.Send(Post("/", std::string(1024 - 8, 'x'))));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, LargeBodiesBothWays) {
  std::string big(5 * 1024 * 1024, 'z');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  auto server = StartServer([](Request&& req, Responder responder) {
    responder.Send(Text(200, req.body + req.body));  // 10 MiB back: partial writes
  });
  Client c(server->port());
  std::thread sender([&] { EXPECT_TRUE(c.Send(Post("/", big))); });
  auto r = c.Read(20000);
  sender.join();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.size(), 2 * big.size());
  EXPECT_TRUE(r->body == big + big);
}

TEST(HttpServerTest, MalformedRequestGets400JsonAndClose) {
  auto server = StartServer(Echo);
  Client c(server->port());
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(r->body.rfind("{\"message\":\"", 0), 0u) << r->body;
  EXPECT_TRUE(c.WaitForClose());

  Client c2(server->port());
  ASSERT_TRUE(c2.Send("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"));
  r = c2.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST(HttpServerTest, HeaderTooLargeGets431) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  auto server = StartServer(Echo, options);
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.WaitForClose());
}

TEST(HttpServerTest, HeaderTimeoutGets408AndCloses) {
  ServerOptions options;
  options.header_timeout_ms = 200;
  auto server = StartServer(Echo, options);
  Client slow(server->port());
  auto start = Clock::now();
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHost: t\r\n"));
  // Trickling bytes does not extend the deadline.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    slow.Send("X-A: b\r\n");
  }
  auto r = slow.Read(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_GE(MillisSince(start), 150);
  EXPECT_TRUE(slow.WaitForClose(3000));

  // A connection that sends nothing is closed without a word.
  Client silent(server->port());
  EXPECT_TRUE(silent.WaitForClose(3000));
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options;
  options.idle_timeout_ms = 200;
  auto server = StartServer(Echo, options);
  Client c(server->port());
  ASSERT_TRUE(c.Send(Post("/", "x")));
  ASSERT_TRUE(c.Read().has_value());
  auto start = Clock::now();
  EXPECT_TRUE(c.WaitForClose(3000));
  EXPECT_GE(MillisSince(start), 150);
}

TEST(HttpServerTest, ThousandsOfIdleConnections) {
  const int kIdle = 3000;
  ServerOptions options;
  auto server = StartServer(Echo, options);
  std::vector<std::unique_ptr<Client>> idle;
  idle.reserve(kIdle);
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(idle.back()->connected()) << i;
  }
  Client c(server->port());
  ASSERT_TRUE(c.Send(Post("/fresh", "1")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "POST /fresh 1");
  // The idle ones still work.
  for (int i : {0, kIdle / 2, kIdle - 1}) {
    ASSERT_TRUE(idle[i]->Send(Post("/old", "2")));
    r = idle[i]->Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->body, "POST /old 2");
  }
}

TEST(HttpServerTest, ClientGoneBeforeAsyncAnswer) {
  Worker worker;
  std::atomic<int> answered{0};
  std::mutex mu;
  std::condition_variable cv;
  bool got = false;
  auto server = StartServer([&](Request&& req, Responder responder) {
    if (req.path == "/now") {
      responder.Send(Text(200, "now"));
      return;
    }
    auto shared = std::make_shared<Responder>(std::move(responder));
    {
      std::lock_guard<std::mutex> lock(mu);
      got = true;
    }
    cv.notify_all();
    worker.Post([&, shared] {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      shared->Send(Text(200, "too late"));
      ++answered;
    });
  });
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send(Post("/slow", "x")));
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return got; }));
  }  // closed before the answer
  for (int i = 0; i < 300 && answered.load() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(answered.load(), 1);  // delivered to a closed connection: dropped
  Client after(server->port());
  ASSERT_TRUE(after.Send("GET /now HTTP/1.1\r\n\r\n"));
  auto r = after.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "now");
}

TEST(HttpServerTest, HalfClosedClientStillGetsItsAnswer) {
  Worker worker;
  auto server = StartServer([&](Request&& req, Responder responder) {
    auto shared = std::make_shared<Responder>(std::move(responder));
    worker.Post([shared] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      shared->Send(Text(200, "answer"));
    });
  });
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string req = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  ::shutdown(fd, SHUT_WR);
  std::string got;
  char buf[1024];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_NE(got.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("\r\n\r\nanswer"), std::string::npos) << got;
}

TEST(HttpServerTest, HandlerThatNeverAnswersGets500) {
  auto server = StartServer([](Request&&, Responder) {});
  Client c(server->port());
  ASSERT_TRUE(c.Send(Post("/", "x")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  ASSERT_TRUE(c.Send(Post("/", "y")));  // keep-alive continues
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServerTest, HandlerThatThrowsGets500) {
  auto server = StartServer([](Request&&, Responder) { throw std::runtime_error("boom"); });
  Client c(server->port());
  ASSERT_TRUE(c.Send(Post("/", "x")));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServerTest, Http10) {
  auto server = StartServer(Echo);
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.WaitForClose());
  }
  Client c(server->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("connection"), "keep-alive");
    EXPECT_EQ(r->body, "GET /ka ");
  }
}

TEST(HttpServerTest, ConnectionCloseFromClientAndFromHandler) {
  auto server = StartServer([](Request&& req, Responder responder) {
    Response r = Text(200, "bye");
    r.close_connection = req.path == "/close";
    r.SetHeader("Content-Length", "999");  // the server owns framing: ignored
    r.SetHeader("Connection", "keep-alive");
    responder.Send(std::move(r));
  });
  {
    Client c(server->port());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_EQ(r->Header("content-length"), "3");
    EXPECT_TRUE(c.WaitForClose());
  }
  Client c(server->port());
  ASSERT_TRUE(c.Send("GET /close HTTP/1.1\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(r->body, "bye");
  EXPECT_TRUE(c.WaitForClose());
}

TEST(HttpServerTest, HeadAndNoContent) {
  auto server = StartServer([](Request&& req, Responder responder) {
    responder.Send(Text(req.path == "/204" ? 204 : 200, "12345"));
  });
  Client c(server->port());
  ASSERT_TRUE(c.Send("HEAD / HTTP/1.1\r\n\r\n"));
  auto r = c.Read(5000, /*head_only=*/true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("content-length"), "5");
  ASSERT_TRUE(c.Send("GET /204 HTTP/1.1\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->HasHeader("content-length"));
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\n\r\n"));  // framing intact after both
  r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "12345");
}

TEST(HttpServerTest, MaxConnections) {
  ServerOptions options;
  options.max_connections = 2;
  options.threads = 1;
  auto server = StartServer(Echo, options);
  Client a(server->port()), b(server->port());
  ASSERT_TRUE(a.Send(Post("/", "a")));
  ASSERT_TRUE(a.Read().has_value());
  ASSERT_TRUE(b.Send(Post("/", "b")));
  ASSERT_TRUE(b.Read().has_value());
  Client excess(server->port());
  EXPECT_TRUE(excess.WaitForClose());
  a.Close();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Client d(server->port());
  ASSERT_TRUE(d.Send(Post("/", "d")));
  EXPECT_TRUE(d.Read().has_value());
}

TEST(HttpServerTest, PortInUseFailsToStart) {
  auto first = StartServer(Echo);
  ServerOptions options;
  options.port = first->port();
  HttpServer second(options, Echo);
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
}

TEST(HttpServerTest, StopWithAnswersInFlightAndAfter) {
  Worker worker;
  std::atomic<int> started{0};
  auto server = StartServer([&](Request&&, Responder responder) {
    auto shared = std::make_shared<Responder>(std::move(responder));
    ++started;
    worker.Post([shared] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      shared->Send(Text(200, "after stop"));
    });
  });
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->Send(Post("/", "x")));
  }
  for (int i = 0; i < 200 && started.load() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server->Stop();
  server->Stop();  // idempotent
  for (auto& c : clients) EXPECT_TRUE(c->WaitForClose());
  server.reset();  // the answers arrive after the server is gone: dropped
}

TEST(HttpServerTest, ManyConcurrentClients) {
  Worker worker;
  auto server = StartServer([&](Request&& req, Responder responder) {
    if (req.path == "/async") {
      auto shared = std::make_shared<Responder>(std::move(responder));
      std::string body = req.body;
      worker.Post([shared, body] { shared->Send(Text(200, body)); });
    } else {
      responder.Send(Text(200, req.body));
    }
  });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Client c(server->port());
      for (int i = 0; i < 200; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        if (!c.Send(Post(i % 2 ? "/async" : "/sync", body))) return;
        auto r = c.Read();
        if (!r || r->body != body) return;
        ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

}  // namespace
}  // namespace millrace::http
