// The S3 ObjectStore against two independent S3 implementations on loopback, started by
// this test: moto's server (Python) and s3rver (Node.js, via shared/peers). Neither checks
// signatures, so a canned-answer fake server checks what we send (signed payload hash) and
// how failures map (5xx, SlowDown, 403, a 200 carrying an <Error>, a silent server), and
// the XML parsing is checked on its own.
//
// A server that cannot be started fails the test with the reason; only s3rver may be
// skipped, when its npm install is impossible (no network). Every process started here is
// stopped at the end, and by a watchdog process if this one dies first.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/sigv4.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "objstore/http_client.h"
#include "objstore/object_store.h"
#include "objstore/s3_xml.h"

namespace millrace::objstore {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

int64_t MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start).count();
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// ---- Processes ------------------------------------------------------------------------

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool PortOpen(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string FindExecutable(const std::string& name, const std::vector<std::string>& extra) {
  std::vector<std::string> candidates;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    for (size_t start = 0, end; start <= p.size(); start = end + 1) {
      end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      if (end > start) candidates.push_back(p.substr(start, end - start) + "/" + name);
    }
  }
  candidates.insert(candidates.end(), extra.begin(), extra.end());
  for (const std::string& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "";
}

// Runs argv to completion; its stdout and stderr go to *output. The exit status, or -1.
int RunProcess(const std::vector<std::string>& argv, std::string* output) {
  std::vector<char*> args;  // built before fork: the child may only make async-signal-safe calls
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) output->append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A process that, once this one is gone (crashed, killed), sends SIGTERM to `target` (a
// pid, or -pgid) and removes `leftovers` (the server's log and data), so no server and no
// files outlive a failed test. Only async-signal-safe calls run in the child.
pid_t StartWatchdog(pid_t target, const std::vector<std::string>& leftovers) {
  std::vector<const char*> rm = {"/bin/rm", "-rf", "--"};
  for (const std::string& path : leftovers) rm.push_back(path.c_str());
  rm.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    while (::getppid() == parent) ::nanosleep(&ts, nullptr);
    ::kill(target, SIGTERM);
    ::nanosleep(&ts, nullptr);  // let it exit before its files go
    ::execv(rm[0], const_cast<char* const*>(rm.data()));
    ::_exit(0);
  }
  return pid;
}

bool Gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = s.rfind(')');
  return paren != std::string::npos && paren + 2 < s.size() && s[paren + 2] == 'Z';
}

std::string Tail(const std::string& file) {
  std::ifstream in(file);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > 1500 ? s.substr(s.size() - 1500) : s;
}

// One S3 server on 127.0.0.1 with a bucket ready.
struct Peer {
  std::string name;
  uint16_t port = 0;
  std::string bucket, access_key, secret;
  std::string fail_reason;  // could not start: the tests fail with this
  std::string skip_reason;  // may not start here (s3rver without npm): the tests skip
  pid_t pid = -1;           // the server
  bool own_child = false;   // moto: our child and its process-group leader
  pid_t watchdog = -1;
  std::string log, data_dir;
  std::string python;  // moto: the python3 beside moto_server (it has boto3)

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port); }

  void Stop() {
    if (watchdog > 0) {
      ::kill(watchdog, SIGKILL);
      ::waitpid(watchdog, nullptr, 0);
    }
    if (pid > 0) {
      ::kill(own_child ? -pid : pid, SIGTERM);
      auto start = SteadyClock::now();
      bool gone = false;
      while (!gone && MillisSince(start) < 5000) {
        gone = own_child ? ::waitpid(pid, nullptr, WNOHANG) == pid : Gone(pid);
        if (!gone) SleepMs(50);
      }
      if (!gone) {
        ::kill(own_child ? -pid : pid, SIGKILL);
        if (own_child) ::waitpid(pid, nullptr, 0);
      }
    }
    std::error_code ec;
    if (!data_dir.empty()) fs::remove_all(data_dir, ec);
    if (!log.empty()) fs::remove(log, ec);
  }
};

bool WaitForPort(Peer* p, int ms) {
  auto start = SteadyClock::now();
  while (MillisSince(start) < ms) {
    if (PortOpen(p->port)) return true;
    if (p->own_child && ::waitpid(p->pid, nullptr, WNOHANG) == p->pid) {
      p->pid = -1;
      return false;
    }
    SleepMs(100);
  }
  return false;
}

// Sends one signed request outside the store (CreateBucket, for moto).
Result<HttpResponse> SignedRequest(const Peer& p, const std::string& method,
                                   const std::string& path) {
  http::Request r;
  r.method = method;
  r.path = r.target = path;
  r.headers.push_back({"Host", "127.0.0.1:" + std::to_string(p.port)});
  auth::Signer signer({p.access_key, p.secret, ""}, "us-east-1", "s3");
  auth::SignOptions o;
  o.add_content_sha256_header = true;
  signer.Sign(&r, SystemClock::Default()->NowMillis(), o);
  HttpClient client(5000);
  return client.Send({r.method, p.endpoint() + r.target, r.headers, ""});
}

void StartMoto(Peer* p) {
  p->name = "moto";
  p->bucket = "millrace-test";
  p->access_key = "testing";
  p->secret = "testing";
  const char* home = std::getenv("HOME");
  std::string bin = FindExecutable(
      "moto_server", {std::string(home ? home : "/root") + "/.pyenv/shims/moto_server"});
  if (bin.empty()) {
    p->fail_reason = "moto_server is not on PATH nor in ~/.pyenv/shims: install moto[server]";
    return;
  }
  std::string sibling = fs::path(bin).parent_path() / "python3";
  p->python = ::access(sibling.c_str(), X_OK) == 0 ? sibling : FindExecutable("python3", {});
  p->port = FreePort();
  p->log = "/tmp/millrace-objstore-moto-" + std::to_string(p->port) + ".log";
  std::string port = std::to_string(p->port);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so Stop reaches anything it forks
    int fd = ::open(p->log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(bin.c_str(), bin.c_str(), "-H", "127.0.0.1", "-p", port.c_str(), nullptr);
    ::_exit(127);
  }
  p->pid = pid;
  p->own_child = true;
  p->watchdog = StartWatchdog(-pid, {p->log});
}

void FinishMoto(Peer* p) {
  if (!p->fail_reason.empty()) return;
  if (!WaitForPort(p, 30000)) {
    p->fail_reason = "moto_server did not open port " + std::to_string(p->port) +
                     " in 30 s; its output:\n" + Tail(p->log);
    return;
  }
  Result<HttpResponse> r = SignedRequest(*p, "PUT", "/" + p->bucket);
  if (!r.ok() || r->status != 200)
    p->fail_reason = "CreateBucket on moto failed: " +
                     (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().ToString());
}

void StartS3rver(Peer* p) {
  p->name = "s3rver";
  p->bucket = "peer-bucket";
  p->access_key = p->secret = "S3RVER";
  const std::string peers = MILLRACE_SHARED_DIR "/peers";
  const char* env_dir = std::getenv("PEERS_DIR");
  const std::string dir = env_dir ? env_dir : "/tmp/peers";
  std::string out;
  if (!fs::exists(dir + "/node_modules/s3rver/bin/s3rver.js")) {
    if (RunProcess({"bash", peers + "/install.sh"}, &out) != 0) {
      p->skip_reason = "s3rver is not installed and `bash " + peers +
                       "/install.sh` failed (npm needs the network): " + out;
      return;
    }
  }
  p->port = FreePort();
  out.clear();
  if (RunProcess({"bash", peers + "/start.sh", "s3rver", std::to_string(p->port)}, &out) != 0) {
    p->fail_reason = "start.sh s3rver failed: " + out;
    return;
  }
  p->pid = std::atoi(out.c_str());
  p->log = dir + "/s3rver-" + std::to_string(p->port) + ".log";
  p->data_dir = dir + "/s3rver-" + std::to_string(p->port);
  p->watchdog = StartWatchdog(p->pid, {p->log, p->data_dir});
}

// The two servers, started together on first use (moto boots while s3rver starts) and
// stopped after the last test.
class Peers : public ::testing::Environment {
 public:
  static Peer* Get(const std::string& name) {
    std::call_once(once_, [] {
      StartMoto(&moto_);
      StartS3rver(&s3rver_);
      FinishMoto(&moto_);
    });
    return name == "moto" ? &moto_ : &s3rver_;
  }
  void TearDown() override {
    moto_.Stop();
    s3rver_.Stop();
  }

 private:
  static inline std::once_flag once_;
  static inline Peer moto_, s3rver_;
};

[[maybe_unused]] ::testing::Environment* const kPeers =
    ::testing::AddGlobalTestEnvironment(new Peers);

// ---- Against the real servers ---------------------------------------------------------

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class S3StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    peer_ = Peers::Get(GetParam());
    if (!peer_->skip_reason.empty()) GTEST_SKIP() << peer_->skip_reason;
    ASSERT_TRUE(peer_->fail_reason.empty()) << GetParam() << ": " << peer_->fail_reason;
  }

  // Each test works under its own prefix, so tests never see each other's keys.
  S3Config Config() const {
    S3Config c;
    c.endpoint_url = peer_->endpoint();
    c.bucket = peer_->bucket;
    c.access_key_id = peer_->access_key;
    c.secret_access_key = peer_->secret;
    c.prefix = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    c.prefix = c.prefix.substr(0, c.prefix.find('/')) + "/";
    c.timeout_ms = 10000;
    return c;
  }
  static std::unique_ptr<ObjectStore> Open(const S3Config& c) {
    Result<std::unique_ptr<ObjectStore>> s = NewS3Store(c);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  static std::string Read(ObjectStore* store, const std::string& key) {
    Result<std::optional<std::string>> r = store->Get(key);
    if (!r.ok()) return "<error " + r.status().ToString() + ">";
    return r->has_value() ? **r : "<none>";
  }
  static std::vector<std::string> Keys(ObjectStore* store, const std::string& prefix) {
    Result<std::vector<std::string>> r = store->List(prefix);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<std::string>{};
  }
  // The SHA-256 of each object as boto3 (an independent client) reads it.
  std::vector<std::string> Boto3Sha256(const S3Config& c, const std::vector<std::string>& keys) {
    const char* kScript =
        "import sys, hashlib, boto3\n"
        "from botocore.config import Config\n"
        "s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],\n"
        "    aws_secret_access_key=sys.argv[3], region_name='us-east-1',\n"
        "    config=Config(s3={'addressing_style': 'path'}))\n"
        "for k in sys.argv[5:]:\n"
        "    print(hashlib.sha256(s3.get_object(Bucket=sys.argv[4], Key=k)['Body'].read())"
        ".hexdigest())\n";
    std::string python = Peers::Get("moto")->python;
    if (python.empty()) python = "python3";
    std::vector<std::string> argv = {
        python, "-c", kScript, c.endpoint_url, c.access_key_id, c.secret_access_key, c.bucket};
    for (const std::string& k : keys) argv.push_back(c.prefix + k);
    std::string out;
    int rc = RunProcess(argv, &out);
    EXPECT_EQ(rc, 0) << "boto3 read-back failed: " << out;
    std::vector<std::string> lines;
    for (size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1)
      lines.push_back(out.substr(start, nl - start));
    return lines;
  }

  Peer* peer_ = nullptr;
};

TEST_P(S3StoreTest, SmallObjectRoundTrip) {
  auto store = Open(Config());
  std::string data;
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  data += RandomBytes(10000, 7);
  ASSERT_TRUE(store->Put("2026/11/21/06/a.bin", data, "application/octet-stream").ok());
  EXPECT_EQ(Read(store.get(), "2026/11/21/06/a.bin"), data);
  Status s = store->Put("2026/11/21/06/a.bin", data, "");  // the same again is harmless
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Read(store.get(), "2026/11/21/06/a.bin"), data);
  ASSERT_TRUE(store->Put("empty", "", "text/plain").ok());
  EXPECT_EQ(Read(store.get(), "empty"), "");
  EXPECT_EQ(Read(store.get(), "missing"), "<none>");
  EXPECT_EQ(store->Put("/abs", "x", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(store->Get("a//b").status().code(), Code::kInvalidArgument);
}

TEST_P(S3StoreTest, MultipartRoundTrip) {
  S3Config c = Config();
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  auto store = Open(c);
  const std::string data = RandomBytes(12u << 20, 42);  // parts of 5, 5 and 2 MiB
  Status s = store->Put("big/object.jsonl", data, "application/json");
  ASSERT_TRUE(s.ok()) << s.ToString();
  Result<std::optional<std::string>> got = store->Get("big/object.jsonl");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->size(), data.size());
  EXPECT_TRUE(**got == data);
  EXPECT_EQ(Boto3Sha256(c, {"big/object.jsonl"}),
            std::vector<std::string>{crypto::Sha256Hex(data)});
}

TEST_P(S3StoreTest, ListsByPrefixRelativeToTheStorePrefix) {
  S3Config c = Config();
  auto store = Open(c);
  const std::vector<std::string> keys = {"a/2", "a/1", "a/10/x", "ab", "b/1"};
  for (const std::string& k : keys) ASSERT_TRUE(store->Put(k, k, "").ok());
  EXPECT_EQ(Keys(store.get(), ""), (std::vector<std::string>{"a/1", "a/10/x", "a/2", "ab", "b/1"}));
  EXPECT_EQ(Keys(store.get(), "a/"), (std::vector<std::string>{"a/1", "a/10/x", "a/2"}));
  EXPECT_EQ(Keys(store.get(), "a"), (std::vector<std::string>{"a/1", "a/10/x", "a/2", "ab"}));
  EXPECT_TRUE(Keys(store.get(), "c/").empty());
  // A store one level up sees the same objects under the longer keys.
  c.prefix.clear();
  auto root = Open(c);
  EXPECT_EQ(Keys(root.get(), Config().prefix + "b/"),
            std::vector<std::string>{Config().prefix + "b/1"});
}

TEST_P(S3StoreTest, ListPaginatesPastAThousandKeys) {
  if (GetParam() != "moto") GTEST_SKIP() << "1100 objects on moto only (s3rver is slow at it)";
  auto store = Open(Config());
  constexpr int kKeys = 1100;
  std::atomic<int> next{0}, failures{0};
  std::vector<std::thread> threads;  // several threads: the store is shared
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kKeys;) {
        char key[32];
        std::snprintf(key, sizeof(key), "p/%05d", i);
        if (!store->Put(key, "", "").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  ASSERT_TRUE(store->Put("q/outside", "", "").ok());
  std::vector<std::string> keys = Keys(store.get(), "p/");
  ASSERT_EQ(keys.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(keys.front(), "p/00000");
  EXPECT_EQ(keys.back(), "p/01099");
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST_P(S3StoreTest, DeleteRemovesAndIsIdempotent) {
  auto store = Open(Config());
  ASSERT_TRUE(store->Put("d/x", "x", "").ok());
  ASSERT_TRUE(store->Put("d/y", "y", "").ok());
  Status s = store->Delete("d/x");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Read(store.get(), "d/x"), "<none>");
  EXPECT_EQ(Keys(store.get(), "d/"), std::vector<std::string>{"d/y"});
  s = store->Delete("d/x");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_P(S3StoreTest, KeysWithSpecialCharactersRoundTrip) {
  S3Config c = Config();
  auto store = Open(c);
  const std::vector<std::string> keys = {
      "with space/a b.txt",  "plus/a+b=c&d.json",    "unicode/ünïcødé/日本語 ✓.txt",
      "punct/!'()*,;:@$~.x", "percent/100%25 %.txt", "query?and#hash/x",
  };
  std::vector<std::string> sums;
  for (const std::string& k : keys) {
    Status s = store->Put(k, "bytes of " + k, "");
    ASSERT_TRUE(s.ok()) << k << ": " << s.ToString();
    sums.push_back(crypto::Sha256Hex("bytes of " + k));
  }
  for (const std::string& k : keys) EXPECT_EQ(Read(store.get(), k), "bytes of " + k) << k;
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(Keys(store.get(), ""), sorted);
  EXPECT_EQ(Boto3Sha256(c, keys), sums);  // the keys are the ones boto3 means, too
  for (const std::string& k : keys) EXPECT_TRUE(store->Delete(k).ok()) << k;
  EXPECT_TRUE(Keys(store.get(), "").empty());
}

TEST_P(S3StoreTest, MissingBucketIsNotFound) {
  S3Config c = Config();
  c.bucket = "no-such-bucket-millrace";
  auto store = Open(c);
  Status s = store->Put("k/1", "x", "");
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("NoSuchBucket"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(store->Describe()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'k/1'"), std::string::npos) << s.message();
  EXPECT_EQ(store->Get("k/1").status().code(), Code::kNotFound);
  EXPECT_EQ(store->List("").status().code(), Code::kNotFound);
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  s = Open(c)->Put("k/big", std::string(7u << 20, 'x'), "");
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
}

TEST_P(S3StoreTest, NothingListeningIsUnavailableQuickly) {
  S3Config c = Config();
  c.endpoint_url = "http://127.0.0.1:" + std::to_string(FreePort());
  c.timeout_ms = 1000;
  auto store = Open(c);
  auto start = SteadyClock::now();
  Status s = store->Put("k", "x", "");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(store->Describe()), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'k'"), std::string::npos) << s.message();
  EXPECT_EQ(store->Get("k").status().code(), Code::kUnavailable);
  EXPECT_EQ(store->List("").status().code(), Code::kUnavailable);
  EXPECT_EQ(store->Delete("k").code(), Code::kUnavailable);
  EXPECT_LT(MillisSince(start), 8000);  // refused at once; the bound allows a loaded machine
}

INSTANTIATE_TEST_SUITE_P(Peers, S3StoreTest, ::testing::Values("moto", "s3rver"),
                         [](const auto& info) { return info.param; });

// ---- Against a fake server with canned answers ----------------------------------------

struct SeenRequest {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// A loopback HTTP server answering each request with what `answer` returns (a whole
// response, or "" to answer nothing and hold the connection open for `hold_ms`). One
// connection at a time, closed after each answer.
class FakeS3 {
 public:
  using Answer = std::function<std::string(const SeenRequest&)>;
  explicit FakeS3(Answer answer, int hold_ms = 0) : answer_(std::move(answer)), hold_ms_(hold_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeS3() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  static std::string Response(int status, const std::string& body,
                              const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
           extra_headers + "\r\n" + body;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Serve(c);
      ::close(c);
    }
  }
  void Serve(int c) {
    std::string in;
    char buf[65536];
    size_t head_end;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::read(c, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    SeenRequest r;
    std::string head = in.substr(0, head_end);
    size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    r.method = head.substr(0, sp1);
    r.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    for (size_t pos = head.find("\r\n"); pos != std::string::npos;) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = line.find(':');
      if (colon == std::string::npos) break;
      std::string name = line.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t value = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = value == std::string::npos ? "" : line.substr(value);
      pos = next;
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    r.body = in.substr(head_end + 4);
    while (r.body.size() < length) {
      ssize_t n = ::read(c, buf, sizeof(buf));
      if (n <= 0) return;
      r.body.append(buf, static_cast<size_t>(n));
    }
    std::string out = answer_(r);
    {
      std::lock_guard<std::mutex> l(mu_);
      seen_.push_back(std::move(r));
    }
    if (out.empty()) {  // hold the connection, silent, until the time is up or the test ends
      for (auto start = SteadyClock::now(); !stop_ && MillisSince(start) < hold_ms_;) SleepMs(10);
      return;
    }
    for (size_t done = 0; done < out.size();) {
      ssize_t n = ::write(c, out.data() + done, out.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  Answer answer_;
  int hold_ms_;
  int fd_;
  uint16_t port_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<SeenRequest> seen_;
};

S3Config FakeConfig(const FakeS3& fake) {
  S3Config c;
  c.endpoint_url = fake.endpoint();
  c.bucket = "bkt";
  c.prefix = "pre/";
  c.access_key_id = "AKID";
  c.secret_access_key = "secret";
  c.multipart_threshold = 6u << 20;
  c.part_size = 5u << 20;
  c.timeout_ms = 1000;
  return c;
}

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" +
         message + "</Message><RequestId>1</RequestId></Error>";
}

TEST(S3StoreFake, SignsThePayloadHashAndEncodesTheKey) {
  FakeS3 fake([](const SeenRequest&) { return FakeS3::Response(200, "", "ETag: \"e\"\r\n"); });
  auto store = std::move(NewS3Store(FakeConfig(fake))).value();
  ASSERT_TRUE(store->Put("a b/ü+", "payload", "text/plain").ok());
  std::vector<SeenRequest> seen = fake.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].target, "/bkt/pre/a%20b/%C3%BC%2B");
  EXPECT_EQ(seen[0].body, "payload");
  EXPECT_EQ(seen[0].headers["x-amz-content-sha256"], crypto::Sha256Hex("payload"));
  EXPECT_EQ(seen[0].headers["content-type"], "text/plain");
  EXPECT_EQ(seen[0].headers.count("expect"), 0u);
  const std::string& authz = seen[0].headers["authorization"];
  EXPECT_EQ(authz.rfind("AWS4-HMAC-SHA256 Credential=AKID/", 0), 0u) << authz;
  EXPECT_NE(authz.find("/us-east-1/s3/aws4_request"), std::string::npos) << authz;
  EXPECT_NE(authz.find("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date"),
            std::string::npos)
      << authz;
}

TEST(S3StoreFake, VirtualHostedStyleNamesTheBucketInTheHost) {
  FakeS3 fake([](const SeenRequest&) { return FakeS3::Response(200, ""); });
  S3Config c = FakeConfig(fake);
  c.endpoint_url = "http://localhost:" + c.endpoint_url.substr(c.endpoint_url.rfind(':') + 1);
  c.path_style = false;  // libcurl resolves *.localhost to loopback itself
  auto store = std::move(NewS3Store(c)).value();
  ASSERT_TRUE(store->Put("k", "x", "").ok());
  ASSERT_TRUE(store->List("").status().code() == Code::kIoError);  // "" is no ListBucketResult
  std::vector<SeenRequest> seen = fake.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/pre/k");
  EXPECT_EQ(seen[0].headers["host"], "bkt." + c.endpoint_url.substr(7));
  EXPECT_EQ(seen[1].target, "/?list-type=2&prefix=pre%2F");
}

TEST(S3StoreFake, FailedPartAbortsTheMultipartUpload) {
  FakeS3 fake([](const SeenRequest& r) {
    if (r.method == "POST" && r.target.ends_with("?uploads"))
      return FakeS3::Response(200,
                              "<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key>"
                              "<UploadId>up/1+2</UploadId></InitiateMultipartUploadResult>");
    if (r.method == "PUT" && r.target.find("partNumber=1&") != std::string::npos)
      return FakeS3::Response(200, "", "ETag: \"p1\"\r\n");
    if (r.method == "PUT") return FakeS3::Response(500, ErrorXml("InternalError", "boom"));
    return FakeS3::Response(204, "");
  });
  auto store = std::move(NewS3Store(FakeConfig(fake))).value();
  Status s = store->Put("k", std::string(12u << 20, 'x'), "");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("InternalError: boom"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("part 2"), std::string::npos) << s.message();
  std::vector<SeenRequest> seen = fake.seen();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].body.size(), 5u << 20);
  EXPECT_EQ(seen[3].method, "DELETE");
  EXPECT_EQ(seen[3].target, "/bkt/pre/k?uploadId=up%2F1%2B2");
}

TEST(S3StoreFake, ErrorInsideA200CompleteIsAFailureAndAborts) {
  FakeS3 fake([](const SeenRequest& r) {
    if (r.target.ends_with("?uploads"))
      return FakeS3::Response(
          200,
          "<InitiateMultipartUploadResult><UploadId>u</UploadId></InitiateMultipartUploadResult>");
    if (r.method == "PUT") return FakeS3::Response(200, "", "ETag: \"p\"\r\n");
    if (r.method == "POST") return FakeS3::Response(200, ErrorXml("InternalError", "late"));
    return FakeS3::Response(204, "");
  });
  auto store = std::move(NewS3Store(FakeConfig(fake))).value();
  Status s = store->Put("k", std::string(7u << 20, 'x'), "");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  std::vector<SeenRequest> seen = fake.seen();
  ASSERT_EQ(seen.size(), 5u);  // create, 2 parts, complete, abort
  EXPECT_EQ(seen[3].body,
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>\"p\"</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>\"p\"</ETag></Part></CompleteMultipartUpload>");
  EXPECT_EQ(seen[4].method, "DELETE");
}

TEST(S3StoreFake, ErrorsMapToCodes) {
  std::atomic<int> status{503};
  std::string code = "SlowDown";
  FakeS3 fake([&](const SeenRequest&) {
    return FakeS3::Response(status.load(), ErrorXml(code, "the message"));
  });
  auto store = std::move(NewS3Store(FakeConfig(fake))).value();
  Status s = store->Put("k", "x", "");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_EQ(s.message(), store->Describe() + ": PutObject 'k': HTTP 503 SlowDown: the message");
  status = 403;
  code = "InvalidAccessKeyId";
  EXPECT_EQ(store->Get("k").status().code(), Code::kPermissionDenied);
  status = 400;
  code = "InvalidArgument";
  EXPECT_EQ(store->Delete("k").code(), Code::kIoError);
}

TEST(S3StoreFake, SilentServerTimesOutAsUnavailable) {
  FakeS3 fake([](const SeenRequest&) { return std::string(); }, /*hold_ms=*/10000);
  auto store = std::move(NewS3Store(FakeConfig(fake))).value();  // timeout_ms 1000
  auto start = SteadyClock::now();
  Status s = store->Put("k", "x", "");
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("no byte moved for 1000 ms"), std::string::npos) << s.message();
  EXPECT_LT(MillisSince(start), 8000);  // well before the fake would answer (10 s)
}

// ---- Configuration and XML ------------------------------------------------------------

TEST(S3Config, RejectsWhatCannotWork) {
  S3Config good;
  good.endpoint_url = "https://s3.eu-west-1.amazonaws.com";
  good.bucket = "b";
  good.access_key_id = "a";
  good.secret_access_key = "s";
  EXPECT_TRUE(NewS3Store(good).ok());
  auto with = [&](auto change) {
    S3Config c = good;
    change(c);
    return NewS3Store(c).status().code();
  };
  EXPECT_EQ(with([](S3Config& c) { c.endpoint_url = "ftp://x"; }), Code::kInvalidArgument);
  EXPECT_EQ(with([](S3Config& c) { c.endpoint_url = "localhost:9000"; }), Code::kInvalidArgument);
  EXPECT_EQ(with([](S3Config& c) { c.bucket = ""; }), Code::kInvalidArgument);
  EXPECT_EQ(with([](S3Config& c) { c.prefix = "no-slash"; }), Code::kInvalidArgument);
  EXPECT_EQ(with([](S3Config& c) { c.part_size = 1u << 20; }), Code::kInvalidArgument);
  EXPECT_EQ(with([](S3Config& c) { c.secret_access_key = ""; }), Code::kInvalidArgument);
  auto store = std::move(NewS3Store(good)).value();
  EXPECT_EQ(store->Describe(), "s3://b/ (https://s3.eu-west-1.amazonaws.com)");
}

TEST(S3Xml, ParsesListPagesAndErrors) {
  std::optional<s3::ListPage> page = s3::ParseListObjectsV2(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>t+/=</NextContinuationToken>"
      "<Contents><Key>p/a&amp;b&lt;c&gt;&#233;&#x65E5;</Key><ETag>&quot;x&quot;</ETag></Contents>"
      "<Contents><Key>p/2</Key><Size>0</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->keys, (std::vector<std::string>{"p/a&b<c>é日", "p/2"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "t+/=");
  EXPECT_FALSE(s3::ParseListObjectsV2("<Error><Code>X</Code></Error>").has_value());

  std::optional<s3::ErrorBody> e = s3::ParseError(
      "<Errors><x/></Errors><Error><Code>NoSuchBucket</Code><Message>a &amp; b</Message></Error>");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "NoSuchBucket");
  EXPECT_EQ(e->message, "a & b");
  EXPECT_FALSE(s3::ParseError("<ListBucketResult/>").has_value());
  EXPECT_EQ(s3::ParseUploadId("<InitiateMultipartUploadResult><UploadId>u&amp;1</UploadId>"
                              "</InitiateMultipartUploadResult>"),
            std::optional<std::string>("u&1"));
  EXPECT_EQ(s3::XmlUnescape("&bogus; & &#0; &#xD800; &amp"), "&bogus; & &#0; &#xD800; &amp");
}

TEST(S3Xml, ErrorStatusFollowsTheContract) {
  auto code = [](int status, const std::string& c) {
    return s3::ErrorStatus(status, ErrorXml(c, "m"), "ctx").code();
  };
  EXPECT_EQ(code(503, "SlowDown"), Code::kUnavailable);
  EXPECT_EQ(code(500, "InternalError"), Code::kUnavailable);
  EXPECT_EQ(code(400, "RequestTimeout"), Code::kUnavailable);
  EXPECT_EQ(code(200, "InternalError"), Code::kUnavailable);
  EXPECT_EQ(code(403, "SignatureDoesNotMatch"), Code::kPermissionDenied);
  EXPECT_EQ(code(403, "AccessDenied"), Code::kPermissionDenied);
  EXPECT_EQ(code(400, "ExpiredToken"), Code::kPermissionDenied);
  EXPECT_EQ(code(404, "NoSuchBucket"), Code::kNotFound);
  EXPECT_EQ(code(400, "EntityTooSmall"), Code::kIoError);
  EXPECT_EQ(s3::ErrorStatus(502, "<html>bad gateway</html>", "ctx").message(), "ctx: HTTP 502");
  EXPECT_EQ(s3::ErrorStatus(403, ErrorXml("AccessDenied", "no"), "ctx").message(),
            "ctx: HTTP 403 AccessDenied: no");
}

}  // namespace
}  // namespace millrace::objstore
