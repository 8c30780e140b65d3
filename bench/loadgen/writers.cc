#include "loadgen/writers.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/sigv4.h"
#include "common/json_writer.h"
#include "common/uint128.h"
#include "loadgen/report.h"
#include "loadgen/timing.h"

namespace millrace::bench {
namespace {

// ---- Request bodies -----------------------------------------------------------------------

// splitmix64: fast, and good enough for keys and payloads.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

 private:
  uint64_t s_;
};

// Builds the body of each write: random partition keys, payloads cut at random offsets
// from a shared pool of random bytes. One per thread.
class BodyMaker {
 public:
  BodyMaker(const LoadOptions& o, const std::string* pool, uint64_t seed)
      : o_(o), pool_(pool), rng_(seed) {
    if (o.mode == "put-records") {
      action_ = "PutRecords";
      records_ = o.batch;
    } else if (o.mode == "assume-role") {
      action_ = "AssumeRole";
    }
  }
  std::string_view action() const { return action_; }
  int records_per_request() const { return records_; }

  void Make(std::string* body) {
    body->clear();
    if (action_ == "AssumeRole") {  // STS's query protocol, a fresh session name each time
      body->append("Action=AssumeRole&Version=2011-06-15&RoleArn=")
          .append(auth::UriEncode(o_.role_arn, false))
          .append("&RoleSessionName=bench-")
          .append(std::to_string(rng_.Next() % 1000000000));
      if (!o_.external_id.empty())
        body->append("&ExternalId=").append(auth::UriEncode(o_.external_id, false));
      return;
    }
    JsonWriter w(body);
    w.BeginObject();
    w.Key("StreamName");
    w.String(o_.stream);
    if (records_ == 1) {
      Record(&w);
      if (o_.mode == "put-record-shards") {
        uint128 key = (static_cast<uint128>(rng_.Next()) << 64) | rng_.Next();
        w.Key("ExplicitHashKey");
        w.String(Uint128ToDecimal(key));
      }
    } else {
      w.Key("Records");
      w.BeginArray();
      for (int i = 0; i < records_; ++i) {
        w.BeginObject();
        Record(&w);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }

 private:
  void Record(JsonWriter* w) {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t r = rng_.Next();
    char key[16];
    for (int i = 0; i < 16; ++i) key[i] = kHex[(r >> (4 * i)) & 0xf];
    size_t size = static_cast<size_t>(o_.record_size);
    w->Key("Data");
    if (o_.json_records) {
      JsonPayload(size);
      w->Base64(payload_);
    } else {
      size_t off = rng_.Next() % (pool_->size() - size + 1);
      w->Base64(std::string_view(*pool_).substr(off, size));
    }
    w->Key("PartitionKey");
    w->String(std::string_view(key, 16));
  }

  // --json-records: a JSON object of exactly `size` bytes into payload_ (the pool then
  // holds letters and digits, see RunWriters):
  //   size >= 31: {"k":"<16 hex>","p":"<size - 31 pool characters>"}
  //   size >= 8:  {"p":"<size - 8 pool characters>"}
  //   below 8:    a number of `size` digits
  void JsonPayload(size_t size) {
    static constexpr char kHex[] = "0123456789abcdef";
    payload_.clear();
    if (size < 8) {
      uint64_t r = rng_.Next();
      payload_.push_back(static_cast<char>('1' + r % 9));
      for (size_t i = 1; i < size; ++i)
        payload_.push_back(static_cast<char>('0' + (r >> (4 * i)) % 10));
      return;
    }
    size_t pad;
    if (size >= 31) {
      uint64_t r = rng_.Next();
      payload_.append("{\"k\":\"");
      for (int i = 0; i < 16; ++i) payload_.push_back(kHex[(r >> (4 * i)) & 0xf]);
      payload_.append("\",\"p\":\"");
      pad = size - 31;
    } else {
      payload_.append("{\"p\":\"");
      pad = size - 8;
    }
    size_t off = rng_.Next() % (pool_->size() - pad + 1);
    payload_.append(std::string_view(*pool_).substr(off, pad));
    payload_.append("\"}");
  }

  const LoadOptions& o_;
  const std::string* pool_;
  Rng rng_;
  std::string payload_;
  std::string action_ = "PutRecord";
  int records_ = 1;
};

// ---- Writers: one epoll loop per thread ---------------------------------------------------

struct Schedule {
  int64_t start_ns;    // sending starts
  int64_t measure_ns;  // counting starts (after the warm-up)
  int64_t end_ns;      // sending and counting stop
  double rate = 0;     // requests/s over all threads; 0 = closed loop
};

class Writer {
 public:
  Writer(const LoadOptions& o, const Endpoint& ep, RequestSigner signer, const std::string* pool,
         int index, int connections, Schedule schedule, std::atomic<int64_t>* acked_bytes,
         std::atomic<bool>* stop)
      : o_(o),
        ep_(ep),
        signer_(std::move(signer)),
        maker_(o, pool, o.seed + 7919 * (index + 1)),
        index_(index),
        connections_(connections),
        schedule_(schedule),
        acked_bytes_(acked_bytes),
        stop_(stop) {}

  void Run();
  Counters counters;

 private:
  enum class State { kConnecting, kIdle, kBusy, kBackoff };
  struct Conn {
    int fd = -1;
    State state = State::kBackoff;
    std::string out;
    size_t out_off = 0;
    ResponseParser parser;
    int64_t due_ns = 0;  // latency starts here: the send time, or the slot's time (--rate)
    int64_t retry_ns = 0;
  };
  static constexpr int64_t kGraceNs = 10 * kSecond;  // for answers in flight at the end
  static constexpr int64_t kBackoffNs = kSecond / 10;

  void Open(Conn* c, int64_t now);
  void Close(Conn* c);
  void Send(Conn* c, int64_t due, int64_t now);
  void Flush(Conn* c);
  void OnEvent(Conn* c, uint32_t events);
  void Read(Conn* c);
  void Complete(Conn* c);
  void Fail(Conn* c, const std::string& why);
  bool Counting(int64_t now) const {
    return now >= schedule_.measure_ns && now <= schedule_.end_ns;
  }

  const LoadOptions& o_;
  const Endpoint& ep_;
  RequestSigner signer_;
  BodyMaker maker_;
  int index_;
  int connections_;
  Schedule schedule_;
  std::atomic<int64_t>* acked_bytes_;
  std::atomic<bool>* stop_;
  int epfd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> idle_;
  int busy_ = 0;
  int backoff_ = 0;
  std::string body_;
  Counters scratch_;  // what is counted outside the window, then ignored
};

void Writer::Open(Conn* c, int64_t now) {
  Result<int> fd = Connect(ep_, /*non_blocking=*/true);
  if (!fd.ok()) {
    if (Counting(now)) ++counters.errors["connect: " + fd.status().message()];
    if (c->state != State::kBackoff) ++backoff_;
    c->state = State::kBackoff;
    c->retry_ns = now + kBackoffNs;
    return;
  }
  if (c->state == State::kBackoff) --backoff_;
  c->fd = *fd;
  c->state = State::kConnecting;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
}

void Writer::Close(Conn* c) {
  if (c->fd >= 0) {
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
  }
  c->fd = -1;
  if (c->state == State::kBusy) --busy_;
  if (c->state == State::kIdle) std::erase(idle_, c);
  c->state = State::kBackoff;
  ++backoff_;
  c->retry_ns = 0;  // reconnect at once
}

void Writer::Send(Conn* c, int64_t due, int64_t now) {
  maker_.Make(&body_);
  c->out.clear();
  c->out_off = 0;
  if (o_.mode == "assume-role")
    signer_.AppendFormRequest("sts", body_, WallMillis(), &c->out);
  else
    signer_.AppendRequest(maker_.action(), body_, WallMillis(), &c->out);
  c->parser.Reset();
  c->due_ns = due ? due : MonoNanos();
  c->state = State::kBusy;
  ++busy_;
  Flush(c);
}

void Writer::Flush(Conn* c) {
  while (c->out_off < c->out.size()) {
    ssize_t n = ::send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;  // EPOLLOUT follows
      return Fail(c, std::string("send: ") + std::strerror(errno));
    }
    c->out_off += static_cast<size_t>(n);
  }
}

void Writer::OnEvent(Conn* c, uint32_t events) {
  switch (c->state) {
    case State::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        Close(c);
        c->retry_ns = MonoNanos() + kBackoffNs;
        if (Counting(MonoNanos())) ++counters.errors[std::string("connect: ") + std::strerror(err)];
        return;
      }
      if (events & (EPOLLOUT | EPOLLIN)) {
        c->state = State::kIdle;
        idle_.push_back(c);
      }
      return;
    }
    case State::kBusy:
      if ((events & EPOLLOUT) && c->out_off < c->out.size()) Flush(c);
      if (c->state == State::kBusy && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        Read(c);
      return;
    case State::kIdle:
      if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        // The server closed an idle connection (or sent something unasked): start over.
        ++counters.reconnects;
        Close(c);
      }
      return;
    case State::kBackoff:
      return;
  }
}

void Writer::Read(Conn* c) {
  while (true) {
    constexpr size_t kChunk = 64 * 1024;
    char* p = c->parser.Prepare(kChunk);
    ssize_t n = ::recv(c->fd, p, kChunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      return Fail(c, std::string("recv: ") + std::strerror(errno));
    }
    switch (c->parser.Commit(static_cast<size_t>(n))) {
      case ResponseParser::State::kComplete:
        return Complete(c);
      case ResponseParser::State::kError:
        return Fail(c, "response: " + c->parser.error());
      case ResponseParser::State::kNeedMore:
        break;
    }
  }
}

void Writer::Complete(Conn* c) {
  const int64_t now = MonoNanos();
  const ResponseParser& p = c->parser;
  const bool counting = Counting(now);
  if (p.status() / 100 == 2) {
    int n = maker_.records_per_request();
    int failed = n > 1 ? CountFailedRecords(p.body(), counting ? &counters : &scratch_) : 0;
    uint64_t bytes = static_cast<uint64_t>(n - failed) * o_.record_size;
    acked_bytes_->fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
    if (counting) {
      ++counters.requests_ok;
      counters.records_ok += n - failed;
      counters.bytes_ok += bytes;
      counters.latency.Record(now - c->due_ns);
    }
  } else if (counting) {
    std::string type = ErrorTypeOf(p);
    if (type == kThrottled)
      ++counters.throttled_requests;
    else
      ++counters.errors[std::to_string(p.status()) + " " + (type.empty() ? "(no type)" : type)];
  }
  if (!p.keep_alive()) {  // the server closes after this answer
    ++counters.reconnects;
    Close(c);
    return;
  }
  --busy_;
  c->state = State::kIdle;
  idle_.push_back(c);
}

void Writer::Fail(Conn* c, const std::string& why) {
  if (Counting(MonoNanos())) ++counters.errors[why];
  Close(c);
}

void Writer::Run() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  const int64_t start = MonoNanos();
  for (int i = 0; i < connections_; ++i) {
    conns_.push_back(std::make_unique<Conn>());
    ++backoff_;
    Open(conns_.back().get(), start);
  }
  // --rate: this thread's share of the schedule, interleaved with the other threads'.
  const double thread_rate = schedule_.rate / o_.threads;
  const int64_t interval =
      schedule_.rate > 0 ? static_cast<int64_t>(std::llround(kSecond / thread_rate)) : 0;
  int64_t next_due =
      schedule_.start_ns +
      (schedule_.rate > 0 ? static_cast<int64_t>(index_ * kSecond / schedule_.rate) : 0);
  std::vector<epoll_event> events(256);
  while (true) {
    int64_t now = MonoNanos();
    const bool sending = now < schedule_.end_ns && !stop_->load(std::memory_order_relaxed);
    if (!sending && (busy_ == 0 || now >= schedule_.end_ns + kGraceNs)) break;
    int64_t wake = now + kSecond / 20;
    if (backoff_ > 0) {
      for (auto& c : conns_) {
        if (c->state != State::kBackoff) continue;
        if (c->retry_ns <= now) Open(c.get(), now);
        if (c->state == State::kBackoff) wake = std::min(wake, c->retry_ns);
      }
    }
    if (sending) {
      if (interval > 0) {
        while (next_due <= now && !idle_.empty()) {
          Conn* c = idle_.back();
          idle_.pop_back();
          Send(c, next_due, now);
          next_due += interval;
        }
        if (!idle_.empty()) wake = std::min(wake, next_due);
      } else {
        while (!idle_.empty()) {
          Conn* c = idle_.back();
          idle_.pop_back();
          Send(c, 0, now);
        }
      }
      wake = std::min(wake, schedule_.end_ns);
    }
    int64_t wait = std::max<int64_t>(0, wake - now);
    timespec ts{static_cast<time_t>(wait / kSecond), static_cast<long>(wait % kSecond)};
    int n = epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int i = 0; i < n; ++i) OnEvent(static_cast<Conn*>(events[i].data.ptr), events[i].events);
  }
  const int64_t end = MonoNanos();
  for (auto& c : conns_) {
    if (c->state == State::kBusy && c->due_ns >= schedule_.measure_ns &&
        end >= schedule_.end_ns + kGraceNs)
      ++counters.errors["no answer within 10 s of the end"];
    Close(c.get());
  }
  if (interval > 0) {
    int64_t from = std::max(next_due, schedule_.measure_ns);
    if (from < schedule_.end_ns) counters.unsent += (schedule_.end_ns - from) / interval + 1;
  }
  ::close(epfd_);
}

}  // namespace

Status RunWriters(const LoadOptions& o, const Endpoint& ep, const RequestSigner& signer) {
  std::string pool(1 << 20, '\0');
  Rng rng(o.seed);
  for (size_t i = 0; i + 8 <= pool.size(); i += 8) {
    uint64_t v = rng.Next();
    std::memcpy(&pool[i], &v, 8);
  }
  if (static_cast<size_t>(o.record_size) > pool.size())
    return Status::InvalidArgument("--record-size above 1 MiB");
  if (o.json_records) {  // JSON string content: letters and digits only, nothing to escape
    static constexpr char kAlnum[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (char& ch : pool) ch = kAlnum[static_cast<unsigned char>(ch) % 62];
  }
  Schedule sch;
  sch.start_ns = MonoNanos() + kSecond / 20;  // let the connections open first
  sch.measure_ns = sch.start_ns + static_cast<int64_t>(o.warmup_s * kSecond);
  sch.end_ns = o.duration_s > 0 ? sch.measure_ns + static_cast<int64_t>(o.duration_s * kSecond)
                                : INT64_MAX / 2;
  sch.rate = o.rate;
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Writer>> writers;
  for (int t = 0; t < o.threads; ++t) {
    int conns = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    writers.push_back(std::make_unique<Writer>(o, ep, signer, &pool, t, conns, sch, &acked, &stop));
  }
  std::vector<std::thread> threads;
  for (auto& w : writers) threads.emplace_back([&w] { w->Run(); });
  CpuMeter cpu(o.server_pids);
  auto sleep_until = [](int64_t t) {
    int64_t d = t - MonoNanos();
    if (d > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(d));
  };
  sleep_until(sch.measure_ns);
  cpu.Start();
  int64_t stopped_at = 0;
  while (MonoNanos() < sch.end_ns) {
    if (o.until_bytes > 0 && acked.load() >= o.until_bytes) {
      stopped_at = MonoNanos();
      stop = true;
      break;
    }
    sleep_until(std::min(sch.end_ns, MonoNanos() + 5 * 1000000));
  }
  cpu.Stop();
  for (auto& t : threads) t.join();
  RunResult r;
  r.loadgen_cpu_s = cpu.self();
  r.server_cpu_s = cpu.server();
  for (auto& w : writers) r.c.Merge(w->counters);
  int64_t end = stopped_at ? stopped_at : sch.end_ns;
  r.elapsed_s = static_cast<double>(end - sch.measure_ns) / kSecond;
  Report(o, r);
  return Status::Ok();
}

}  // namespace millrace::bench
