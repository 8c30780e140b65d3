// Tests of the Journal (src/log/journal.h) on a real directory behind a fault-injecting
// FileSystem and a ManualClock: appends and reads, group commit, recovery (indexes, torn
// tails, corruption in the middle), disk-full and fsync failures, time lookup and retention.
// One test per recovery case, after LevelDB's log_test.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "log/journal.h"
#include "log_test_util.h"

namespace millrace::log {
namespace {

using testing::AppendBytes;
using testing::FaultInjectingFileSystem;
using testing::FileSize;
using testing::FlipByte;
using testing::FrameAt;
using testing::ReadBytes;
using testing::SegmentNumbers;
using testing::TempDir;
using testing::WalkFrames;
using testing::WriteBytes;

constexpr int64_t kT0 = 1'700'000'000'000;
using ShardKey = std::pair<uint64_t, uint32_t>;

// Deterministic bytes covering every byte value.
std::string Data(uint64_t seed, size_t len) {
  std::string s(len, '\0');
  for (size_t i = 0; i < len; ++i) s[i] = static_cast<char>((seed * 31 + i * 7 + i * i) & 0xff);
  return s;
}

// An AppendOp that hands its status and items to a callback, and counts its Done calls.
class CallbackOp final : public AppendOp {
 public:
  using Fn = std::function<void(const Status&, const std::vector<AppendItem>&)>;
  CallbackOp(std::vector<AppendItem> its, Fn fn) : fn_(std::move(fn)) { items = std::move(its); }
  void Done(Status status) override { fn_(status, items); }

 private:
  Fn fn_;
};

// Tracks a set of asynchronous ops: how often each Done ran, with what, and waits for all.
class OpTracker {
 public:
  explicit OpTracker(int n) : calls_(n, 0), statuses_(n), items_(n) {}
  std::unique_ptr<AppendOp> MakeOp(int id, std::vector<AppendItem> items) {
    return std::make_unique<CallbackOp>(
        std::move(items), [this, id](const Status& st, const std::vector<AppendItem>& its) {
          std::lock_guard<std::mutex> l(mu_);
          calls_[id]++;
          statuses_[id] = st;
          items_[id] = its;
          done_++;
          cv_.notify_all();
        });
  }
  // Waits (at most 30 s) until every op has been completed at least once.
  bool WaitAll() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30),
                        [&] { return done_ >= static_cast<int>(calls_.size()); });
  }
  int calls(int id) {
    std::lock_guard<std::mutex> l(mu_);
    return calls_[id];
  }
  Status status(int id) {
    std::lock_guard<std::mutex> l(mu_);
    return statuses_[id];
  }
  std::vector<AppendItem> items(int id) {
    std::lock_guard<std::mutex> l(mu_);
    return items_[id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  std::vector<int> calls_;
  std::vector<Status> statuses_;
  std::vector<std::vector<AppendItem>> items_;
};

// A gate that a sync hook can block on: the test learns when the commit thread is inside
// fsync, queues more work, then lets it go.
class SyncGate {
 public:
  void Enter() {
    std::unique_lock<std::mutex> l(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(l, [&] { return open_; });
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return entered_; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
};

void ExpectRecordsEq(const std::vector<Record>& got, const std::vector<Record>& want,
                     const std::string& what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].counter, want[i].counter) << what << " #" << i;
    ASSERT_EQ(got[i].arrival_ms, want[i].arrival_ms) << what << " #" << i;
    ASSERT_EQ(got[i].partition_key, want[i].partition_key) << what << " #" << i;
    ASSERT_EQ(got[i].data, want[i].data) << what << " #" << i;
  }
}

// `recs` without the counters [first, first + n).
std::vector<Record> Without(const std::vector<Record>& recs, uint64_t first, uint32_t n) {
  std::vector<Record> out;
  for (const Record& r : recs)
    if (r.counter < first || r.counter >= first + n) out.push_back(r);
  return out;
}

class LogJournalTest : public ::testing::Test {
 protected:
  struct Appended {
    Status status;
    std::vector<AppendItem> items;
  };

  JournalOptions Options() {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = segment_bytes_;
    o.fs = &fs_;
    o.clock = &clock_;
    return o;
  }
  [[nodiscard]] bool Open() {
    auto r = Journal::Open(Options());
    if (!r.ok()) {
      ADD_FAILURE() << "Journal::Open: " << r.status().ToString();
      return false;
    }
    j_ = std::move(*r);
    return true;
  }
  void Close() { j_.reset(); }
  [[nodiscard]] bool Reopen() {
    Close();
    return Open();
  }
  ShardLog* Shard(ShardKey k) { return j_->GetShard(k.first, k.second); }

  static AppendItem Item(ShardLog* s, std::string key, std::string data) {
    AppendItem it;
    it.shard = s;
    it.partition_key = std::move(key);
    it.data = std::move(data);
    return it;
  }

  // Appends one op and waits for its Done. Acknowledged records join acked_.
  Appended Append(std::vector<AppendItem> items) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int calls = 0;
    Appended result;
    j_->Append(std::make_unique<CallbackOp>(
        std::move(items), [&](const Status& st, const std::vector<AppendItem>& its) {
          std::lock_guard<std::mutex> l(mu);
          ++calls;
          result.status = st;
          result.items = its;
          done = true;
          cv.notify_all();
        }));
    std::unique_lock<std::mutex> l(mu);
    EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return done; }));
    EXPECT_EQ(calls, 1);
    if (result.status.ok()) Acknowledge(result.items);
    return result;
  }
  Appended Put(ShardKey k, std::string key, std::string data) {
    std::vector<AppendItem> v;
    v.push_back(Item(Shard(k), std::move(key), std::move(data)));
    return Append(std::move(v));
  }
  // `as`: the shard of every item, for items whose ShardLog died with a closed journal.
  void Acknowledge(const std::vector<AppendItem>& items, const ShardKey* as = nullptr) {
    std::lock_guard<std::mutex> l(acked_mu_);
    for (const AppendItem& it : items) {
      ShardKey k = as ? *as : ShardKey{it.shard->stream_id(), it.shard->shard_index()};
      Record r;
      r.counter = it.counter;
      r.arrival_ms = it.arrival_ms;
      r.partition_key = it.partition_key;
      r.data = it.data;
      acked_[k].push_back(std::move(r));
    }
  }

  // Reads every record of the shard from `from`, in pieces.
  std::vector<Record> ReadAll(const ShardLog* s, uint64_t from = 0, size_t max_records = 1000,
                              size_t max_bytes = 1 << 20) {
    std::vector<Record> out;
    uint64_t next = from;
    for (int guard = 0; guard < 100000; ++guard) {
      Journal::ReadResult r;
      Status st = j_->Read(s, next, max_records, max_bytes, &r);
      EXPECT_TRUE(st.ok()) << st.ToString();
      if (!st.ok()) break;
      EXPECT_GE(r.next_counter, next);
      for (Record& rec : r.records) out.push_back(std::move(rec));
      if (r.records.empty() && r.next_counter <= next) break;  // no progress: the end
      next = r.next_counter;
      if (next >= s->DurableEnd()) break;
    }
    return out;
  }
  std::vector<Record> ReadAll(ShardKey k) { return ReadAll(Shard(k)); }

  // Every acknowledged record is readable, in order, byte for byte.
  void ExpectAllAckedReadable() {
    for (const auto& [k, recs] : acked_) {
      std::string what = "stream " + std::to_string(k.first) + " shard " + std::to_string(k.second);
      ExpectRecordsEq(ReadAll(k), recs, what);
      EXPECT_EQ(Shard(k)->DurableEnd(), recs.empty() ? 0 : recs.back().counter + 1) << what;
    }
  }

  std::string SegPath(uint64_t n) { return dir_.File(SegmentFileName(n)); }
  std::string IdxPath(uint64_t n) { return dir_.File(IndexFileName(n)); }
  std::string LastSegPath() { return SegPath(SegmentNumbers(dir_.path()).back()); }

  // Writes `n` one-record commits of `size` bytes alternating over `shards` (one frame each),
  // advancing the clock 1 ms per commit.
  void Fill(const std::vector<ShardKey>& shards, int n, size_t size) {
    for (int i = 0; i < n; ++i) {
      ShardKey k = shards[i % shards.size()];
      Appended a = Put(k, "pk" + std::to_string(i), Data(i, size));
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      clock_.Advance(1);
    }
  }

  TempDir dir_;
  FaultInjectingFileSystem fs_;
  ManualClock clock_{kT0};
  uint64_t segment_bytes_ = 128ull << 20;
  std::unique_ptr<Journal> j_;
  std::mutex acked_mu_;
  std::map<ShardKey, std::vector<Record>> acked_;
};

// ---- the fault-injecting file system itself ----

TEST(LogFaultInjectingFileSystem, TornWriteWritesThePrefixThenFails) {
  TempDir dir;
  FaultInjectingFileSystem fs;
  auto f = fs.Open(dir.File("a.seg"), true);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WriteAt(0, "hello", 5).ok());
  fs.FailNthWrite(2, 3);
  ASSERT_TRUE((*f)->WriteAt(5, "world", 5).ok());
  Status st = (*f)->WriteAt(10, "abcdef", 6);
  EXPECT_EQ(st.code(), Code::kNoSpace);
  EXPECT_EQ(ReadBytes(dir.File("a.seg")), "helloworldabc");
  ASSERT_TRUE((*f)->WriteAt(13, "!", 1).ok());  // one-shot
  fs.FailNthSync(1);
  EXPECT_EQ((*f)->Sync().code(), Code::kIoError);
  EXPECT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(fs.writes(), 4);
  EXPECT_EQ(fs.failed_writes(), 1);
  EXPECT_EQ(fs.syncs(), 2);
  EXPECT_EQ(fs.failed_syncs(), 1);
  fs.SetTarget(".idx");  // faults aimed elsewhere leave this file alone
  fs.SetDiskFull(true);
  EXPECT_TRUE((*f)->WriteAt(14, "?", 1).ok());
  EXPECT_EQ(fs.writes(), 4);
}

// ---- appending and reading ----

TEST_F(LogJournalTest, OpenCreatesTheDirectoryAndAnEmptyLog) {
  JournalOptions o = Options();
  o.dir = dir_.path() + "/a/b";
  auto r = Journal::Open(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(SegmentNumbers(o.dir), std::vector<uint64_t>{1});
  EXPECT_EQ(FileSize(o.dir + "/" + SegmentFileName(1)), kSegmentHeaderSize);
  EXPECT_TRUE((*r)->StreamsInLog().empty());
  ShardLog* s = (*r)->GetShard(1, 0);
  EXPECT_EQ(s->DurableEnd(), 0u);
  EXPECT_EQ(s->FirstCounter(), 0u);
  EXPECT_EQ(s->LastArrival(), 0);
  Journal::ReadResult rr;
  ASSERT_TRUE((*r)->Read(s, 0, 100, 1 << 20, &rr).ok());
  EXPECT_TRUE(rr.records.empty());
  EXPECT_EQ(rr.next_counter, 0u);
  JournalStats st = (*r)->Stats();
  EXPECT_EQ(st.segments, 1u);
  EXPECT_EQ(st.bytes, kSegmentHeaderSize);
}

TEST_F(LogJournalTest, AppendManyAcrossShardsReadsBackInOrder) {
  ASSERT_TRUE(Open());
  std::vector<ShardKey> keys = {{1, 0}, {1, 1}, {2, 0}, {2, 5}, {3, 0}, {3, 1}};
  std::map<ShardKey, uint64_t> next;
  uint64_t rnd = 12345;
  auto rand = [&](uint64_t n) {
    rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
    return (rnd >> 33) % n;
  };
  // Half the ops one at a time, half queued together (several ops per group commit).
  OpTracker tracker(40);
  for (int op = 0; op < 80; ++op) {
    std::vector<AppendItem> items;
    int n = 1 + static_cast<int>(rand(10));
    for (int i = 0; i < n; ++i) {
      ShardKey k = keys[rand(keys.size())];
      size_t len = rand(4) == 0 ? 0 : rand(300);  // empty data is allowed
      items.push_back(Item(Shard(k), "pk-" + std::to_string(op) + "-" + std::to_string(i),
                           Data(op * 100 + i, len)));
    }
    std::vector<AppendItem> got;
    if (op < 40) {
      Appended a = Append(std::move(items));
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      got = a.items;
    } else {
      j_->Append(tracker.MakeOp(op - 40, std::move(items)));
      continue;
    }
    for (const AppendItem& it : got) {  // consecutive counters per shard, in item order
      ShardKey k{it.shard->stream_id(), it.shard->shard_index()};
      EXPECT_EQ(it.counter, next[k]++);
      EXPECT_EQ(it.arrival_ms, clock_.NowMillis());
    }
    clock_.Advance(static_cast<int64_t>(1 + rand(3)));
  }
  ASSERT_TRUE(tracker.WaitAll());
  for (int id = 0; id < 40; ++id) {
    EXPECT_EQ(tracker.calls(id), 1);
    ASSERT_TRUE(tracker.status(id).ok()) << tracker.status(id).ToString();
    std::vector<AppendItem> its = tracker.items(id);
    for (const AppendItem& it : its) {
      ShardKey k{it.shard->stream_id(), it.shard->shard_index()};
      EXPECT_EQ(it.counter, next[k]++);
    }
    Acknowledge(its);
  }
  // Ops were acknowledged in queue order, so acked_ is in counter order per shard.
  ExpectAllAckedReadable();
  EXPECT_EQ(j_->StreamsInLog(), (std::vector<uint64_t>{1, 2, 3}));
  for (const auto& [k, recs] : acked_) EXPECT_EQ(Shard(k)->LastArrival(), recs.back().arrival_ms);
}

TEST_F(LogJournalTest, EmptyBinaryAndLargeDataRoundTrip) {
  ASSERT_TRUE(Open());
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  ShardKey k{9, 2};
  ASSERT_TRUE(Put(k, "", "").status.ok());
  ASSERT_TRUE(Put(k, std::string(256, 'k'), every_byte).status.ok());
  ASSERT_TRUE(Put(k, std::string("\0key", 4), Data(7, 1 << 20)).status.ok());
  ASSERT_TRUE(Put(k, "x", "").status.ok());
  ExpectAllAckedReadable();
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalTest, EmptyOpIsAcknowledged) {
  ASSERT_TRUE(Open());
  Appended a = Append({});
  EXPECT_TRUE(a.status.ok());
  EXPECT_TRUE(a.items.empty());
}

class LogJournalReadTest : public LogJournalTest {
 protected:
  // Shard (1, 0): 50 records of 100 bytes, 10 per commit (so frames of 10 records).
  void SetUp() override {
    ASSERT_TRUE(Open());
    s_ = Shard({1, 0});
    for (int c = 0; c < 5; ++c) {
      std::vector<AppendItem> items;
      for (int i = 0; i < 10; ++i) items.push_back(Item(s_, "k", Data(c * 10 + i, 100)));
      ASSERT_TRUE(Append(std::move(items)).status.ok());
      clock_.Advance(10);
    }
    all_ = acked_[{1, 0}];
  }
  Journal::ReadResult Read(uint64_t from, size_t max_records, size_t max_bytes) {
    Journal::ReadResult r;
    Status st = j_->Read(s_, from, max_records, max_bytes, &r);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return r;
  }
  std::vector<Record> Slice(size_t from, size_t to) {
    return std::vector<Record>(all_.begin() + from, all_.begin() + to);
  }
  ShardLog* s_ = nullptr;
  std::vector<Record> all_;
};

TEST_F(LogJournalReadTest, MaxRecords) {
  Journal::ReadResult r = Read(0, 7, 1 << 20);
  ExpectRecordsEq(r.records, Slice(0, 7));
  EXPECT_EQ(r.next_counter, 7u);
  EXPECT_EQ(r.bytes, 700u);
  r = Read(7, 7, 1 << 20);  // across a frame boundary
  ExpectRecordsEq(r.records, Slice(7, 14));
  EXPECT_EQ(r.next_counter, 14u);
  r = Read(0, 1000, 1 << 20);
  ExpectRecordsEq(r.records, all_);
  EXPECT_EQ(r.next_counter, 50u);
}

TEST_F(LogJournalReadTest, MaxBytes) {
  Journal::ReadResult r = Read(0, 1000, 350);
  ExpectRecordsEq(r.records, Slice(0, 3));
  EXPECT_EQ(r.bytes, 300u);
  EXPECT_EQ(r.next_counter, 3u);
  r = Read(3, 1000, 300);  // exactly reaching the limit is allowed
  ExpectRecordsEq(r.records, Slice(3, 6));
  r = Read(8, 1000, 1500);  // across frames
  ExpectRecordsEq(r.records, Slice(8, 23));
  EXPECT_EQ(r.next_counter, 23u);
}

TEST_F(LogJournalReadTest, AtLeastOneRecordEvenIfBiggerThanMaxBytes) {
  Journal::ReadResult r = Read(0, 1000, 0);
  ExpectRecordsEq(r.records, Slice(0, 1));
  EXPECT_EQ(r.next_counter, 1u);
  ASSERT_TRUE(Put({1, 0}, "big", Data(1, 10 << 10)).status.ok());
  r = Read(50, 1000, 100);
  ExpectRecordsEq(r.records, {acked_[{1, 0}].back()});
  EXPECT_EQ(r.bytes, 10u << 10);
  EXPECT_EQ(r.next_counter, 51u);
}

TEST_F(LogJournalReadTest, FromTheMiddleOfAFrame) {
  Journal::ReadResult r = Read(15, 3, 1 << 20);
  ExpectRecordsEq(r.records, Slice(15, 18));
}

TEST_F(LogJournalReadTest, FromTheEndOrBeyond) {
  Journal::ReadResult r = Read(50, 10, 1 << 20);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.next_counter, 50u);
  r = Read(70, 10, 1 << 20);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.next_counter, 70u);
}

// Records too many for the read-ahead window of one call are still all returned when the
// caller sets no byte limit.
TEST_F(LogJournalReadTest, NoByteLimitReadsUpToMaxRecords) {
  for (int c = 0; c < 20; ++c) {
    std::vector<AppendItem> items;
    for (int i = 0; i < 10; ++i) items.push_back(Item(s_, "k", Data(c * 10 + i, 1000)));
    ASSERT_TRUE(Append(std::move(items)).status.ok());
  }
  Journal::ReadResult r = Read(0, 250, std::numeric_limits<size_t>::max());
  ExpectRecordsEq(r.records, acked_[{1, 0}]);
  EXPECT_EQ(r.next_counter, 250u);
}

TEST_F(LogJournalTest, ReadsRunConcurrentlyWithAppends) {
  ASSERT_TRUE(Open());
  ShardLog* s = Shard({4, 0});
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      uint64_t end = s->DurableEnd();
      std::vector<Record> got = ReadAll(s);
      if (got.size() < end) bad++;
      for (size_t i = 0; i < got.size(); ++i)
        if (got[i].counter != i || got[i].data != Data(i, 64)) bad++;
    }
  });
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(Put({4, 0}, "k", Data(i, 64)).status.ok());
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  ExpectAllAckedReadable();
}

// ---- group commit ----

// While the commit thread is held inside one fsync, everything queued behind it goes out
// in a single write and a single fsync.
TEST_F(LogJournalTest, GroupCommitTakesEverythingQueuedInOneSync) {
  fs_.SetTarget(".seg");
  ASSERT_TRUE(Open());
  SyncGate gate;
  fs_.SetSyncHook([&] { gate.Enter(); });
  int64_t syncs0 = fs_.syncs();
  uint64_t commits0 = j_->Stats().commits;
  constexpr int kThreads = 8, kPerThread = 50, kOps = 1 + kThreads * kPerThread;
  OpTracker tracker(kOps);
  std::vector<ShardLog*> shards = {Shard({1, 0}), Shard({1, 1}), Shard({2, 0}), Shard({2, 1})};
  std::vector<AppendItem> first;
  first.push_back(Item(shards[0], "first", "first"));
  j_->Append(tracker.MakeOp(0, std::move(first)));
  ASSERT_TRUE(gate.WaitEntered());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<AppendItem> items;
        items.push_back(Item(shards[t % 4], "t" + std::to_string(t), Data(t * 1000 + i, 50)));
        j_->Append(tracker.MakeOp(1 + t * kPerThread + i, std::move(items)));
      }
    });
  }
  for (auto& th : threads) th.join();
  gate.Open();
  ASSERT_TRUE(tracker.WaitAll());
  EXPECT_EQ(fs_.syncs() - syncs0, 2);
  EXPECT_EQ(j_->Stats().commits - commits0, 2u);
  std::map<ShardLog*, std::vector<uint64_t>> counters;
  for (int id = 0; id < kOps; ++id) {
    EXPECT_EQ(tracker.calls(id), 1) << id;
    EXPECT_TRUE(tracker.status(id).ok()) << tracker.status(id).ToString();
    for (const AppendItem& it : tracker.items(id)) counters[it.shard].push_back(it.counter);
  }
  for (auto& [s, cs] : counters) {  // every counter of the shard used exactly once
    std::sort(cs.begin(), cs.end());
    for (size_t i = 0; i < cs.size(); ++i) ASSERT_EQ(cs[i], i);
    EXPECT_EQ(ReadAll(s).size(), cs.size());
  }
  fs_.ClearFaults();
}

// Writers that each wait for their acknowledgement before writing again (as server
// connections do) share fsyncs: far fewer syncs than appends.
TEST_F(LogJournalTest, GroupCommitSharesSyncsBetweenWaitingWriters) {
  fs_.SetTarget(".seg");
  ASSERT_TRUE(Open());
  fs_.SetSyncHook([] { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
  int64_t syncs0 = fs_.syncs();
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<ShardLog*> shards = {Shard({1, 0}), Shard({1, 1}), Shard({2, 0})};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<AppendItem> items;
        items.push_back(Item(shards[t % 3], "t" + std::to_string(t), Data(t * 1000 + i, 100)));
        Appended a = Append(std::move(items));
        if (!a.status.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  int64_t syncs = fs_.syncs() - syncs0;
  EXPECT_LE(syncs * 3, kThreads * kPerThread) << syncs << " syncs";
  // acked_ got records in acknowledgement order; sort per shard by counter.
  for (auto& [k, recs] : acked_) {
    std::sort(recs.begin(), recs.end(),
              [](const Record& a, const Record& b) { return a.counter < b.counter; });
    for (size_t i = 0; i < recs.size(); ++i) ASSERT_EQ(recs[i].counter, i);
  }
  ExpectAllAckedReadable();
}

TEST_F(LogJournalTest, DestructorCompletesQueuedAppends) {
  fs_.SetTarget(".seg");
  ASSERT_TRUE(Open());
  fs_.SetSyncHook([] { std::this_thread::sleep_for(std::chrono::milliseconds(1)); });
  constexpr int kOps = 100;
  OpTracker tracker(kOps);
  ShardLog* s = Shard({1, 0});
  for (int i = 0; i < kOps; ++i) {
    std::vector<AppendItem> items;
    items.push_back(Item(s, "k", Data(i, 10)));
    j_->Append(tracker.MakeOp(i, std::move(items)));
  }
  Close();
  const ShardKey k{1, 0};
  for (int i = 0; i < kOps; ++i) {
    ASSERT_EQ(tracker.calls(i), 1) << i;  // before the destructor returned
    ASSERT_TRUE(tracker.status(i).ok()) << tracker.status(i).ToString();
    Acknowledge(tracker.items(i), &k);
  }
  fs_.ClearFaults();
  ASSERT_TRUE(Open());
  ExpectAllAckedReadable();
}

// ---- reopening ----

TEST_F(LogJournalTest, ReopenRestoresEverythingAndCountersContinue) {
  ASSERT_TRUE(Open());
  std::vector<ShardKey> keys = {{1, 0}, {1, 1}, {7, 3}};
  Fill(keys, 60, 200);
  std::map<ShardKey, std::pair<uint64_t, int64_t>> before;  // DurableEnd, LastArrival
  for (ShardKey k : keys) before[k] = {Shard(k)->DurableEnd(), Shard(k)->LastArrival()};

  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
  for (ShardKey k : keys) {
    EXPECT_EQ(Shard(k)->DurableEnd(), before[k].first);
    EXPECT_EQ(Shard(k)->LastArrival(), before[k].second);
    EXPECT_EQ(Shard(k)->FirstCounter(), 0u);
  }
  EXPECT_EQ(j_->StreamsInLog(), (std::vector<uint64_t>{1, 7}));
  JournalStats st = j_->Stats();
  EXPECT_EQ(st.corrupt_frames, 0u);
  EXPECT_EQ(st.truncated_tail_bytes, 0u);
  EXPECT_EQ(st.bytes, FileSize(LastSegPath()));

  // New records continue the counters (no reuse), and survive another reopen.
  for (ShardKey k : keys) {
    Appended a = Put(k, "after", "reopen");
    ASSERT_TRUE(a.status.ok());
    EXPECT_EQ(a.items[0].counter, before[k].first);
  }
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalTest, ArrivalTimesNeverGoBackwardsEvenAcrossReopen) {
  ASSERT_TRUE(Open());
  ASSERT_TRUE(Put({1, 0}, "a", "1").status.ok());
  clock_.Set(kT0 - 5000);
  Appended a = Put({1, 0}, "b", "2");
  EXPECT_EQ(a.items[0].arrival_ms, kT0);
  ASSERT_TRUE(Reopen());
  clock_.Set(kT0 - 9000);
  a = Put({1, 0}, "c", "3");
  EXPECT_EQ(a.items[0].arrival_ms, kT0);
  ExpectAllAckedReadable();
}

// ---- segments and their indexes ----

class LogJournalSegmentTest : public LogJournalTest {
 protected:
  void SetUp() override {
    segment_bytes_ = 64 << 10;
    ASSERT_TRUE(Open());
    Fill({{1, 0}, {1, 1}, {2, 0}}, 300, 1000);  // about 5 segments
    Close();
    segs_ = SegmentNumbers(dir_.path());
  }
  uint64_t SealedIndexBytes() {
    uint64_t n = 0;
    for (size_t i = 0; i + 1 < segs_.size(); ++i) n += FileSize(IdxPath(segs_[i]));
    return n;
  }
  std::vector<uint64_t> segs_;
};

TEST_F(LogJournalSegmentTest, SegmentsRollAndSealedOnesAreIndexed) {
  ASSERT_GE(segs_.size(), 4u);
  for (size_t i = 0; i < segs_.size(); ++i) {
    EXPECT_EQ(segs_[i], i + 1);
    std::string seg = ReadBytes(SegPath(segs_[i]));
    EXPECT_TRUE(DecodeSegmentHeader(seg, segs_[i]).ok());
    bool sealed = i + 1 < segs_.size();
    EXPECT_EQ(std::filesystem::exists(IdxPath(segs_[i])), sealed) << segs_[i];
    if (!sealed) continue;
    EXPECT_LE(seg.size(), segment_bytes_);
    // The index lists exactly the frames of the segment.
    uint64_t covered = 0;
    std::vector<FrameEntry> entries;
    ASSERT_TRUE(DecodeIndex(
                    ReadBytes(IdxPath(segs_[i])), segs_[i], &covered,
                    [](void* ctx, const FrameEntry& e) {
                      static_cast<std::vector<FrameEntry>*>(ctx)->push_back(e);
                    },
                    &entries)
                    .ok());
    EXPECT_EQ(covered, seg.size());
    std::vector<FrameAt> frames = WalkFrames(SegPath(segs_[i]));
    ASSERT_EQ(entries.size(), frames.size());
    for (size_t f = 0; f < frames.size(); ++f) {
      EXPECT_EQ(entries[f].offset, frames[f].offset);
      EXPECT_EQ(entries[f].frame_len, frames[f].size());
      EXPECT_EQ(entries[f].first_counter, frames[f].header.first_counter);
    }
    if (!frames.empty()) {
      EXPECT_EQ(frames.back().offset + frames.back().size(), seg.size());
    }
  }
}

TEST_F(LogJournalSegmentTest, ReopenReadsIndexesNotSealedSegments) {
  int64_t read0 = fs_.bytes_read();
  ASSERT_TRUE(Open());
  int64_t read = fs_.bytes_read() - read0;
  EXPECT_LE(static_cast<uint64_t>(read), SealedIndexBytes() + FileSize(LastSegPath()));
  JournalStats st = j_->Stats();
  EXPECT_EQ(st.segments, segs_.size());
  uint64_t total = 0;
  for (uint64_t n : segs_) total += FileSize(SegPath(n));
  EXPECT_EQ(st.bytes, total);
  ExpectAllAckedReadable();
  // Appends go on in the last segment and reads cross every segment.
  Fill({{1, 0}, {2, 0}}, 10, 1000);
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, MissingIndexIsRebuiltByScanning) {
  std::string original = ReadBytes(IdxPath(2));
  std::filesystem::remove(IdxPath(2));
  int64_t read0 = fs_.bytes_read();
  ASSERT_TRUE(Open());
  EXPECT_GE(static_cast<uint64_t>(fs_.bytes_read() - read0), FileSize(SegPath(2)));
  EXPECT_EQ(ReadBytes(IdxPath(2)), original);
  EXPECT_EQ(j_->Stats().corrupt_frames, 0u);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, CorruptIndexIsRebuilt) {
  std::string original = ReadBytes(IdxPath(2));
  FlipByte(IdxPath(2), original.size() / 2);
  ASSERT_TRUE(Open());
  EXPECT_EQ(ReadBytes(IdxPath(2)), original);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, TruncatedIndexIsRebuilt) {
  std::string original = ReadBytes(IdxPath(1));
  WriteBytes(IdxPath(1), original.substr(0, original.size() / 2));
  ASSERT_TRUE(Open());
  EXPECT_EQ(ReadBytes(IdxPath(1)), original);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, IndexOfAnotherSegmentIsRebuilt) {
  std::string original = ReadBytes(IdxPath(2));
  WriteBytes(IdxPath(2), ReadBytes(IdxPath(3)));
  ASSERT_TRUE(Open());
  EXPECT_EQ(ReadBytes(IdxPath(2)), original);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, LeftoverTemporaryIndexIsRemoved) {
  std::string tmp = IdxPath(2) + ".tmp";
  WriteBytes(tmp, "half an index");
  ASSERT_TRUE(Open());
  EXPECT_FALSE(std::filesystem::exists(tmp));
  ExpectAllAckedReadable();
}

// A crash right after a new segment was created leaves an empty file: it gets a header.
TEST_F(LogJournalSegmentTest, EmptyNewestSegmentGetsAHeader) {
  uint64_t next = segs_.back() + 1;
  WriteBytes(SegPath(next), "");
  ASSERT_TRUE(Open());
  EXPECT_EQ(FileSize(SegPath(next)), kSegmentHeaderSize);
  EXPECT_TRUE(DecodeSegmentHeader(ReadBytes(SegPath(next)), next).ok());
  EXPECT_TRUE(std::filesystem::exists(IdxPath(segs_.back())));
  ExpectAllAckedReadable();
  Fill({{1, 0}}, 3, 10);
  EXPECT_GT(FileSize(SegPath(next)), kSegmentHeaderSize);
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalSegmentTest, HalfWrittenSegmentHeaderIsRewritten) {
  uint64_t next = segs_.back() + 1;
  std::string header;
  EncodeSegmentHeader(next, kT0, &header);
  WriteBytes(SegPath(next), header.substr(0, 10));
  ASSERT_TRUE(Open());
  EXPECT_TRUE(DecodeSegmentHeader(ReadBytes(SegPath(next)), next).ok());
  ExpectAllAckedReadable();
}

// ---- torn tails: the last segment ends in an incomplete or bad write ----

class LogJournalTornTailTest : public LogJournalTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Open());
    Fill({{1, 0}, {1, 1}}, 20, 100);
    Close();
  }
  // A frame with the next counter of shard (1, 0), as the next commit would have written.
  std::string NextFrame() {
    FrameHeader h;
    h.stream_id = 1;
    h.shard_index = 0;
    h.first_counter = acked_[{1, 0}].size();
    h.base_timestamp_ms = clock_.NowMillis();
    h.record_count = 2;
    std::string payload, out;
    AppendRecordPayload(&payload, h.base_timestamp_ms, h.base_timestamp_ms, "torn", Data(1, 300));
    AppendRecordPayload(&payload, h.base_timestamp_ms, h.base_timestamp_ms, "torn", Data(2, 300));
    EncodeFrame(h, payload, &out);
    return out;
  }
  // Appends `tail` to the last segment; recovery must cut exactly it off, keep every
  // acknowledged record, and go on appending where the good data ended.
  void ExpectTailCut(const std::string& tail) {
    std::string path = LastSegPath();
    uint64_t good = FileSize(path);
    AppendBytes(path, tail);
    ASSERT_TRUE(Open());
    EXPECT_EQ(FileSize(path), good);
    JournalStats st = j_->Stats();
    EXPECT_EQ(st.truncated_tail_bytes, tail.size());
    EXPECT_EQ(st.corrupt_frames, 0u);
    ExpectAllAckedReadable();
    for (ShardKey k : {ShardKey{1, 0}, ShardKey{1, 1}}) {
      uint64_t end = acked_[k].size();
      Appended a = Put(k, "after", "torn tail");
      ASSERT_TRUE(a.status.ok()) << a.status.ToString();
      EXPECT_EQ(a.items[0].counter, end);
    }
    ASSERT_TRUE(Reopen());
    EXPECT_EQ(j_->Stats().truncated_tail_bytes, 0u);
    ExpectAllAckedReadable();
  }
};

TEST_F(LogJournalTornTailTest, HalfAFrame) {
  std::string f = NextFrame();
  ExpectTailCut(f.substr(0, f.size() / 2));
}

TEST_F(LogJournalTornTailTest, PartOfAFrameHeader) { ExpectTailCut(NextFrame().substr(0, 20)); }

TEST_F(LogJournalTornTailTest, FrameMissingItsLastByte) {
  std::string f = NextFrame();
  ExpectTailCut(f.substr(0, f.size() - 1));
}

TEST_F(LogJournalTornTailTest, WholeFrameWithBadChecksum) {
  std::string f = NextFrame();
  f[kFrameHeaderSize + 30] ^= 0x10;
  ExpectTailCut(f);
}

TEST_F(LogJournalTornTailTest, Garbage) {
  std::string g = Data(99, 1000);
  ExpectTailCut(g);
}

TEST_F(LogJournalTornTailTest, Zeros) { ExpectTailCut(std::string(4096, '\0')); }

// The last acknowledged frame itself damaged at the end of the log cannot be told from a
// torn write: it is cut, and everything before it stays.
TEST_F(LogJournalTornTailTest, DamagedLastFrameIsCutLikeATornWrite) {
  std::string path = LastSegPath();
  std::vector<FrameAt> frames = WalkFrames(path);
  ASSERT_EQ(frames.size(), 20u);
  const FrameAt& last = frames.back();
  FlipByte(path, last.offset + kFrameHeaderSize + 3);
  ShardKey k{last.header.stream_id, last.header.shard_index};
  acked_[k] = Without(acked_[k], last.header.first_counter, last.header.record_count);
  ASSERT_TRUE(Open());
  EXPECT_EQ(FileSize(path), last.offset);
  EXPECT_EQ(j_->Stats().truncated_tail_bytes, last.size());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalTest, TornTailAfterSeveralSegmentsOnlyTouchesTheLast) {
  segment_bytes_ = 64 << 10;
  ASSERT_TRUE(Open());
  Fill({{1, 0}, {2, 0}}, 150, 1000);
  Close();
  std::vector<uint64_t> segs = SegmentNumbers(dir_.path());
  ASSERT_GE(segs.size(), 2u);
  std::map<uint64_t, std::string> sealed;
  for (size_t i = 0; i + 1 < segs.size(); ++i) sealed[segs[i]] = ReadBytes(SegPath(segs[i]));
  uint64_t good = FileSize(LastSegPath());
  AppendBytes(LastSegPath(), Data(5, 777));
  ASSERT_TRUE(Open());
  EXPECT_EQ(FileSize(LastSegPath()), good);
  for (const auto& [n, bytes] : sealed) EXPECT_EQ(ReadBytes(SegPath(n)), bytes);
  ExpectAllAckedReadable();
  Fill({{1, 0}, {2, 0}}, 4, 10);
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

// ---- corruption in the middle: reported, skipped, the rest still served ----

class LogJournalCorruptionTest : public LogJournalTest {
 protected:
  // One 1 KB record per frame, alternating over two shards, over several 64 KiB segments.
  void SetUp() override {
    segment_bytes_ = 64 << 10;
    ASSERT_TRUE(Open());
    Fill({{1, 0}, {1, 1}}, 150, 1000);
    Close();
  }
  // Flips a payload byte of the `i`th frame of segment `seg` and drops its records from
  // what the test expects to read.
  FrameAt Damage(uint64_t seg, size_t i, uint64_t at_in_frame = kFrameHeaderSize + 10) {
    std::vector<FrameAt> frames = WalkFrames(SegPath(seg));
    EXPECT_GT(frames.size(), i + 1);
    FrameAt f = frames.at(i);
    FlipByte(SegPath(seg), f.offset + at_in_frame);
    ShardKey k{f.header.stream_id, f.header.shard_index};
    acked_[k] = Without(acked_[k], f.header.first_counter, f.header.record_count);
    return f;
  }
};

// With its index intact the sealed segment is not scanned: the damage shows at read time.
TEST_F(LogJournalCorruptionTest, SealedSegmentFoundAtRead) {
  FrameAt f = Damage(1, 20);
  ASSERT_TRUE(Open());
  EXPECT_EQ(j_->Stats().corrupt_frames, 0u);
  ExpectAllAckedReadable();
  EXPECT_GE(j_->Stats().corrupt_frames, 1u);
  // A read that starts at the damaged frame goes on with the records after it.
  Journal::ReadResult r;
  ShardLog* s = j_->GetShard(f.header.stream_id, f.header.shard_index);
  ASSERT_TRUE(j_->Read(s, f.header.first_counter, 5, 1 << 20, &r).ok());
  ASSERT_FALSE(r.records.empty());
  EXPECT_EQ(r.records[0].counter, f.header.first_counter + f.header.record_count);
}

TEST_F(LogJournalCorruptionTest, SealedSegmentWithoutIndexFoundAtScan) {
  Damage(1, 20);
  std::filesystem::remove(IdxPath(1));
  ASSERT_TRUE(Open());
  EXPECT_EQ(j_->Stats().corrupt_frames, 1u);
  EXPECT_EQ(j_->Stats().truncated_tail_bytes, 0u);
  ExpectAllAckedReadable();
  // The rebuilt index leaves the damaged frame out.
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalCorruptionTest, FirstFrameOfSealedSegment) {
  Damage(2, 0);
  std::filesystem::remove(IdxPath(2));
  ASSERT_TRUE(Open());
  EXPECT_EQ(j_->Stats().corrupt_frames, 1u);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalCorruptionTest, LastSegmentMiddleIsSkippedNotCut) {
  uint64_t last = SegmentNumbers(dir_.path()).back();
  uint64_t size = FileSize(SegPath(last));
  Damage(last, 2);
  ASSERT_TRUE(Open());
  EXPECT_EQ(FileSize(SegPath(last)), size);
  EXPECT_EQ(j_->Stats().corrupt_frames, 1u);
  EXPECT_EQ(j_->Stats().truncated_tail_bytes, 0u);
  ExpectAllAckedReadable();
  Fill({{1, 0}, {1, 1}}, 4, 100);
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

TEST_F(LogJournalCorruptionTest, FrameMagicDamaged) {
  uint64_t last = SegmentNumbers(dir_.path()).back();
  Damage(last, 1, 0);
  ASSERT_TRUE(Open());
  EXPECT_EQ(j_->Stats().corrupt_frames, 1u);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalCorruptionTest, FrameLengthDamaged) {
  uint64_t last = SegmentNumbers(dir_.path()).back();
  Damage(last, 1, 9);  // payload_len grows by 16 KiB: the frame runs into the next ones
  ASSERT_TRUE(Open());
  EXPECT_EQ(j_->Stats().corrupt_frames, 1u);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalCorruptionTest, FoundAtReadAfterOpen) {
  ASSERT_TRUE(Open());
  Damage(1, 30);  // under the running journal
  EXPECT_EQ(j_->Stats().corrupt_frames, 0u);
  ExpectAllAckedReadable();
  EXPECT_GE(j_->Stats().corrupt_frames, 1u);
  Fill({{1, 0}, {1, 1}}, 2, 100);
  ExpectAllAckedReadable();
}

// ---- disk full and failing fsync ----

class LogJournalFaultTest : public LogJournalTest {
 protected:
  void SetUp() override {
    fs_.SetTarget(".seg");
    ASSERT_TRUE(Open());
    Fill({{1, 0}, {1, 1}}, 10, 100);
  }
  // After a failed commit: nothing of it on disk, nothing of it readable.
  void ExpectNothingOfTheFailedCommit(uint64_t size_before) {
    EXPECT_EQ(FileSize(LastSegPath()), size_before);
    ExpectAllAckedReadable();
  }
  void ExpectAppendsWorkAgain() {
    uint64_t last = acked_[{1, 0}].back().counter;
    Appended a = Put({1, 0}, "again", Data(3, 100));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    EXPECT_GT(a.items[0].counter, last);
    ExpectAllAckedReadable();
    ASSERT_TRUE(Reopen());
    ExpectAllAckedReadable();
    EXPECT_EQ(j_->Stats().truncated_tail_bytes, 0u);
    EXPECT_EQ(j_->Stats().corrupt_frames, 0u);
  }
};

TEST_F(LogJournalFaultTest, NoSpaceFailsTheCommit) {
  uint64_t size = FileSize(LastSegPath());
  fs_.FailNthWrite(1);
  Appended a = Put({1, 0}, "k", Data(1, 100));
  EXPECT_EQ(a.status.code(), Code::kNoSpace) << a.status.ToString();
  ExpectNothingOfTheFailedCommit(size);
  ExpectAppendsWorkAgain();
}

TEST_F(LogJournalFaultTest, TornWriteOnNoSpaceIsCutBack) {
  uint64_t size = FileSize(LastSegPath());
  fs_.FailNthWrite(1, 70);  // a header and a bit
  std::vector<AppendItem> items;
  items.push_back(Item(Shard({1, 0}), "k", Data(1, 100)));
  items.push_back(Item(Shard({1, 1}), "k", Data(2, 100)));
  Appended a = Append(std::move(items));
  EXPECT_EQ(a.status.code(), Code::kNoSpace);
  ExpectNothingOfTheFailedCommit(size);
  ExpectAppendsWorkAgain();
}

TEST_F(LogJournalFaultTest, DiskFullThenSpaceReturns) {
  uint64_t size = FileSize(LastSegPath());
  fs_.SetDiskFull(true);
  for (int i = 0; i < 5; ++i) {
    Appended a = Put({1, i % 2u}, "k", Data(i, 100));
    EXPECT_EQ(a.status.code(), Code::kNoSpace);
  }
  ExpectNothingOfTheFailedCommit(size);
  fs_.SetDiskFull(false);
  ExpectAppendsWorkAgain();
}

TEST_F(LogJournalFaultTest, SyncFailureFailsTheCommit) {
  uint64_t size = FileSize(LastSegPath());
  fs_.FailNthSync(1);
  Appended a = Put({1, 1}, "k", Data(1, 100));
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(a.status.code(), Code::kIoError) << a.status.ToString();
  ExpectNothingOfTheFailedCommit(size);
  ExpectAppendsWorkAgain();
}

// Every op of a failed group commit gets the error, once.
TEST_F(LogJournalFaultTest, EveryOpOfAFailedGroupCommitIsTold) {
  SyncGate gate;
  fs_.SetSyncHook([&] { gate.Enter(); });
  OpTracker tracker(11);
  std::vector<AppendItem> first;
  first.push_back(Item(Shard({1, 0}), "k", "first"));
  j_->Append(tracker.MakeOp(0, std::move(first)));
  ASSERT_TRUE(gate.WaitEntered());
  uint64_t size = FileSize(LastSegPath());
  for (int i = 1; i <= 10; ++i) {
    std::vector<AppendItem> items;
    items.push_back(Item(Shard({1, i % 2u}), "k", Data(i, 100)));
    j_->Append(tracker.MakeOp(i, std::move(items)));
  }
  fs_.FailNthWrite(1);  // the write of the second commit (the queued ten)
  gate.Open();
  ASSERT_TRUE(tracker.WaitAll());
  fs_.ClearFaults();
  ASSERT_TRUE(tracker.status(0).ok());
  Acknowledge(tracker.items(0));
  for (int i = 1; i <= 10; ++i) {
    EXPECT_EQ(tracker.calls(i), 1);
    EXPECT_EQ(tracker.status(i).code(), Code::kNoSpace);
  }
  ExpectNothingOfTheFailedCommit(size);
  ExpectAppendsWorkAgain();
}

// The next segment cannot be created (disk full): the commit that needed it fails, and
// the next one rolls over normally.
TEST_F(LogJournalFaultTest, NoSpaceCreatingTheNextSegment) {
  Close();
  segment_bytes_ = 16 << 10;
  ASSERT_TRUE(Open());
  uint64_t seg = SegmentNumbers(dir_.path()).back();
  std::string payload;
  AppendRecordPayload(&payload, 0, 0, "k", Data(0, 1000));
  const uint64_t frame = kFrameHeaderSize + payload.size();
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    // Arm the fault for the commit that does not fit: its first write is the new header.
    if (FileSize(SegPath(seg)) + frame > segment_bytes_) fs_.FailNthWrite(1);
    Appended a = Put({1, 0}, "k", Data(i, 1000));
    if (!a.status.ok()) {
      EXPECT_EQ(a.status.code(), Code::kNoSpace);
      failed = true;
    }
  }
  ASSERT_TRUE(failed);
  ASSERT_EQ(SegmentNumbers(dir_.path()).back(), seg + 1);
  EXPECT_EQ(FileSize(SegPath(seg + 1)), 0u);  // created, but its header did not fit
  ExpectAllAckedReadable();
  // A smaller commit still fits in the old segment (whose index was already written)...
  uint64_t size = FileSize(SegPath(seg));
  ASSERT_TRUE(Put({1, 1}, "k", "tiny").status.ok());
  EXPECT_GT(FileSize(SegPath(seg)), size);
  // ...so a restart now finds a stale index and an empty newest segment.
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
  Fill({{1, 0}, {1, 1}}, 3, 1000);
  EXPECT_EQ(SegmentNumbers(dir_.path()).back(), seg + 1);
  ExpectAllAckedReadable();
  ASSERT_TRUE(Reopen());
  ExpectAllAckedReadable();
}

// An index that cannot be written does not stop the log: the segment still rolls, and the
// next start rebuilds the index by scanning.
TEST_F(LogJournalFaultTest, NoSpaceWritingAnIndex) {
  Close();
  segment_bytes_ = 16 << 10;
  fs_.SetTarget(".idx.tmp");
  ASSERT_TRUE(Open());
  fs_.SetDiskFull(true);
  Fill({{1, 0}, {1, 1}}, 60, 1000);
  std::vector<uint64_t> segs = SegmentNumbers(dir_.path());
  ASSERT_GE(segs.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(IdxPath(segs[1])));
  fs_.ClearFaults();
  ASSERT_TRUE(Reopen());
  for (size_t i = 0; i + 1 < segs.size(); ++i)
    EXPECT_TRUE(std::filesystem::exists(IdxPath(segs[i])));
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  ExpectAllAckedReadable();
}

// ---- time lookup ----

TEST_F(LogJournalTest, FrameCounterAtOrAfter) {
  ASSERT_TRUE(Open());
  ShardKey k{1, 0};
  for (int i = 0; i < 5; ++i) {  // counters 0..4 at T0, T0+1000, ..., one frame each
    ASSERT_TRUE(Put(k, "k", "x").status.ok());
    clock_.Advance(1000);
  }
  std::vector<AppendItem> three;  // counters 5..7, one frame at T0+5000
  for (int i = 0; i < 3; ++i) three.push_back(Item(Shard(k), "k", "y"));
  ASSERT_TRUE(Append(std::move(three)).status.ok());
  // Counters 8 and 9 in one frame but at different times: held behind a blocked fsync.
  fs_.SetTarget(".seg");
  SyncGate gate;
  fs_.SetSyncHook([&] { gate.Enter(); });
  OpTracker tracker(3);
  j_->Append(tracker.MakeOp(0, {Item(Shard({2, 0}), "other", "stream")}));
  ASSERT_TRUE(gate.WaitEntered());
  clock_.Set(kT0 + 6000);
  j_->Append(tracker.MakeOp(1, {Item(Shard(k), "k", "z1")}));
  clock_.Set(kT0 + 7000);
  j_->Append(tracker.MakeOp(2, {Item(Shard(k), "k", "z2")}));
  gate.Open();
  ASSERT_TRUE(tracker.WaitAll());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tracker.status(i).ok());

  auto check = [&] {
    ShardLog* s = Shard(k);
    EXPECT_EQ(s->DurableEnd(), 10u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(0), 0u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0), 0u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 1), 1u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 1000), 1u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 3999), 4u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 4001), 5u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 5000), 5u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 5001), 8u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 6500), 8u);  // the caller refines in the frame
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 7000), 8u);
    EXPECT_EQ(s->FrameCounterAtOrAfter(kT0 + 7001), 10u);
    EXPECT_EQ(s->LastArrival(), kT0 + 7000);
  };
  check();
  std::vector<Record> recs = ReadAll(Shard(k));
  ASSERT_EQ(recs.size(), 10u);
  EXPECT_EQ(recs[8].arrival_ms, kT0 + 6000);
  EXPECT_EQ(recs[9].arrival_ms, kT0 + 7000);
  fs_.ClearFaults();
  ASSERT_TRUE(Reopen());
  check();
}

// ---- retention ----

class LogJournalRetentionTest : public LogJournalTest {
 protected:
  struct Floor {
    uint64_t stream;
    uint32_t shard;
    uint64_t end;
  };
  Result<int> DeleteOlderThan(int64_t cutoff, std::vector<Floor>* floors,
                              std::function<bool(uint64_t)> keep_stream = nullptr) {
    return j_->DeleteExpiredSegments(
        [&](uint64_t stream, int64_t newest) {
          if (keep_stream && keep_stream(stream)) return false;
          return newest < cutoff;
        },
        [&](uint64_t stream, uint32_t shard, uint64_t end) {
          floors->push_back({stream, shard, end});
          return Status::Ok();
        });
  }
  // The newest arrival in a segment, from its frames (one record per frame in these tests).
  int64_t NewestIn(uint64_t seg) {
    int64_t newest = 0;
    for (const FrameAt& f : WalkFrames(SegPath(seg)))
      newest = std::max(newest, f.header.base_timestamp_ms);
    return newest;
  }
};

TEST_F(LogJournalRetentionTest, DeletesOnlySealedSegmentsWhoseStreamsAllExpired) {
  segment_bytes_ = 8 << 10;
  ASSERT_TRUE(Open());
  // Old records of shards (1,0) and (1,1); then new ones of (1,0) and stream 2.
  Fill({{1, 0}, {1, 1}}, 30, 1000);
  clock_.Set(kT0 + 100000);
  Fill({{1, 0}, {2, 0}}, 30, 1000);
  std::vector<uint64_t> segs = SegmentNumbers(dir_.path());
  const int64_t cutoff = kT0 + 50000;
  // Expected: the oldest sealed segments holding only old records.
  std::vector<uint64_t> gone;
  for (size_t i = 0; i + 1 < segs.size() && NewestIn(segs[i]) < cutoff; ++i)
    gone.push_back(segs[i]);
  ASSERT_GE(gone.size(), 2u);
  ASSERT_LT(gone.size() + 1, segs.size());  // a mixed segment stays
  // The last counter of each shard in the doomed segments.
  std::map<ShardKey, uint64_t> want_floor;
  for (uint64_t n : gone)
    for (const FrameAt& f : WalkFrames(SegPath(n)))
      want_floor[{f.header.stream_id, f.header.shard_index}] =
          f.header.first_counter + f.header.record_count;

  std::vector<Floor> floors;
  auto deleted = DeleteOlderThan(cutoff, &floors);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, static_cast<int>(gone.size()));
  for (uint64_t n : segs) {
    bool is_gone = std::find(gone.begin(), gone.end(), n) != gone.end();
    EXPECT_EQ(std::filesystem::exists(SegPath(n)), !is_gone) << n;
    if (is_gone) {
      EXPECT_FALSE(std::filesystem::exists(IdxPath(n))) << n;
    }
  }
  std::map<ShardKey, uint64_t> got_floor;
  for (const Floor& f : floors) {
    uint64_t& g = got_floor[{f.stream, f.shard}];
    EXPECT_GE(f.end, g);  // never goes back
    g = f.end;
  }
  EXPECT_EQ(got_floor, want_floor);
  EXPECT_EQ(j_->Stats().segments, segs.size() - gone.size());

  // What is left reads from the first surviving record on.
  for (auto& [k, recs] : acked_) {
    uint64_t floor = want_floor.count(k) ? want_floor[k] : 0;
    std::vector<Record> rest;
    for (const Record& r : recs)
      if (r.counter >= floor) rest.push_back(r);
    EXPECT_EQ(Shard(k)->FirstCounter(), rest.empty() ? floor : rest.front().counter);
    recs = rest;
  }
  ExpectRecordsEq(ReadAll(Shard({1, 1})), acked_[{1, 1}]);
  ExpectRecordsEq(ReadAll(Shard({1, 0})), acked_[{1, 0}]);
  ExpectRecordsEq(ReadAll(Shard({2, 0})), acked_[{2, 0}]);
  // A second pass finds nothing more to delete.
  floors.clear();
  deleted = DeleteOlderThan(cutoff, &floors);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  EXPECT_TRUE(floors.empty());
}

// Shard (1, 1) has all its records in deleted segments: after a restart the log knows
// nothing of it, and only the floor keeps its counters from starting over.
TEST_F(LogJournalRetentionTest, CountersContinueFromTheFloorAfterReopen) {
  segment_bytes_ = 8 << 10;
  ASSERT_TRUE(Open());
  Fill({{1, 0}, {1, 1}}, 10, 1000);
  Fill({{1, 0}}, 30, 1000);  // (1, 1) is only in the oldest segments
  clock_.Set(kT0 + 100000);
  Fill({{1, 0}}, 20, 1000);
  std::vector<Floor> floors;
  auto deleted = DeleteOlderThan(kT0 + 50000, &floors);
  ASSERT_TRUE(deleted.ok());
  ASSERT_GE(*deleted, 1);
  uint64_t floor11 = 0;
  for (const Floor& f : floors)
    if (f.stream == 1 && f.shard == 1) floor11 = std::max(floor11, f.end);
  ASSERT_EQ(floor11, (acked_[{1, 1}].size()));  // every record of (1, 1) went
  EXPECT_EQ(Shard({1, 1})->FirstCounter(), floor11);
  EXPECT_TRUE(ReadAll(Shard({1, 1})).empty());

  ASSERT_TRUE(Reopen());
  ShardLog* s = j_->GetShard(1, 1, floor11);
  EXPECT_EQ(s->DurableEnd(), floor11);
  EXPECT_EQ(s->FirstCounter(), floor11);
  Journal::ReadResult r;
  ASSERT_TRUE(j_->Read(s, 0, 100, 1 << 20, &r).ok());
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.next_counter, floor11);
  Appended a = Put({1, 1}, "new", "after retention");
  ASSERT_TRUE(a.status.ok());
  EXPECT_EQ(a.items[0].counter, floor11);
  // A floor below what the log holds changes nothing.
  uint64_t end10 = Shard({1, 0})->DurableEnd();
  EXPECT_EQ(j_->GetShard(1, 0, 1)->DurableEnd(), end10);
  EXPECT_EQ(Put({1, 0}, "k", "v").items[0].counter, end10);
  ASSERT_TRUE(Reopen());
  j_->GetShard(1, 1, floor11);
  std::vector<Record> got = ReadAll(Shard({1, 1}), floor11);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].counter, floor11);
  EXPECT_EQ(got[0].data, "after retention");
}

TEST_F(LogJournalRetentionTest, KeepsSegmentsWhereAnyStreamIsLive) {
  segment_bytes_ = 8 << 10;
  ASSERT_TRUE(Open());
  Fill({{1, 0}, {2, 0}}, 40, 1000);  // both streams in every segment
  clock_.Advance(100000);
  size_t n = SegmentNumbers(dir_.path()).size();
  ASSERT_GE(n, 3u);
  std::vector<Floor> floors;
  // Stream 2 keeps its data longer: nothing can go.
  auto deleted = DeleteOlderThan(kT0 + 100000, &floors, [](uint64_t s) { return s == 2; });
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  EXPECT_TRUE(floors.empty());
  EXPECT_EQ(SegmentNumbers(dir_.path()).size(), n);
  ExpectAllAckedReadable();
}

TEST_F(LogJournalRetentionTest, NeverDeletesTheActiveSegment) {
  ASSERT_TRUE(Open());
  Fill({{1, 0}}, 10, 100);
  std::vector<Floor> floors;
  auto deleted = DeleteOlderThan(std::numeric_limits<int64_t>::max(), &floors);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  EXPECT_TRUE(floors.empty());
  ExpectAllAckedReadable();
}

// If the floor cannot be recorded, the segment stays, and so do its records.
TEST_F(LogJournalRetentionTest, FloorFailureKeepsTheSegmentReadable) {
  segment_bytes_ = 8 << 10;
  ASSERT_TRUE(Open());
  Fill({{1, 0}, {1, 1}}, 30, 1000);
  clock_.Advance(100000);
  std::vector<uint64_t> segs = SegmentNumbers(dir_.path());
  int calls = 0;
  auto deleted = j_->DeleteExpiredSegments(
      [](uint64_t, int64_t) { return true; },
      [&](uint64_t, uint32_t, uint64_t) {
        return ++calls == 2 ? Status::IoError("catalog unavailable") : Status::Ok();
      });
  EXPECT_FALSE(deleted.ok());
  EXPECT_EQ(SegmentNumbers(dir_.path()), segs);
  ExpectAllAckedReadable();
  // Once the floor can be recorded, the segments go.
  std::vector<Floor> floors;
  deleted = DeleteOlderThan(kT0 + 50000, &floors);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, static_cast<int>(segs.size()) - 1);
}

// Retention, reads and Stats() while appends roll segments: readers see only whole,
// correct records in counter order, and floors only grow.
TEST_F(LogJournalRetentionTest, RunsConcurrentlyWithAppendsAndReads) {
  segment_bytes_ = 8 << 10;
  ASSERT_TRUE(Open());
  ShardLog* s = Shard({1, 0});
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, deleted{0};
  std::thread retention([&] {
    uint64_t floor = 0;
    while (!stop) {
      auto d = j_->DeleteExpiredSegments([](uint64_t, int64_t) { return true; },
                                         [&](uint64_t, uint32_t, uint64_t end) {
                                           if (end < floor) bad++;
                                           floor = end;
                                           return Status::Ok();
                                         });
      if (!d.ok())
        bad++;
      else
        deleted += *d;
      JournalStats st = j_->Stats();
      if (st.segments == 0 || st.bytes < kSegmentHeaderSize) bad++;
    }
  });
  std::thread reader([&] {
    while (!stop) {
      std::vector<Record> got = ReadAll(s, 0, 50, 20 << 10);
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].data != Data(got[i].counter, 500)) bad++;
        if (i > 0 && got[i].counter <= got[i - 1].counter) bad++;
      }
    }
  });
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Put({1, 0}, "k", Data(i, 500)).status.ok());
  stop = true;
  retention.join();
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(deleted.load(), 0);
  // The records of the segments that remain are all there.
  std::vector<Record> rest = ReadAll(s, 0);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.back().counter, 199u);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].counter, rest.front().counter + i);
    EXPECT_EQ(rest[i].data, Data(rest[i].counter, 500));
  }
}

// ---- sealed records (streams encrypted at rest) ----

class TestKeys final : public KeyResolver {
 public:
  Result<std::shared_ptr<const SealKey>> SealKeyFor(std::string_view id) const override {
    if (refuse) return Status::FailedPrecondition("disabled").WithType("KMSDisabledException");
    if (key && key->id == id) return key;
    return Status::NotFound("no such key").WithType("KMSNotFoundException");
  }
  std::shared_ptr<const SealKey> key =
      std::make_shared<SealKey>(SealKey{std::string(16, 'K'), std::string(32, 'm')});
  bool refuse = false;
};

class LogJournalSealTest : public LogJournalTest {
 protected:
  [[nodiscard]] bool OpenWithKeys() {
    JournalOptions o = Options();
    o.keys = &keys_;
    auto r = Journal::Open(o);
    if (!r.ok()) return false;
    j_ = std::move(*r);
    return true;
  }
  std::string SegmentBytes() {
    std::ifstream in(SegPath(1), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  TestKeys keys_;
};

TEST_F(LogJournalSealTest, SealedRecordsAreCipherTextOnDiskAndReadBackWithTheirKey) {
  ASSERT_TRUE(OpenWithKeys());
  ShardKey k{4, 1};
  std::vector<AppendItem> items;
  items.push_back(Item(Shard(k), "plain-key", "plain-data-before"));
  for (int i = 0; i < 3; ++i) {
    items.push_back(
        Item(Shard(k), "sealed-key-" + std::to_string(i), "SEALED-DATA-" + Data(i, 50)));
    items.back().seal = keys_.key;
  }
  items.push_back(Item(Shard(k), "plain-key", "plain-data-after"));
  Appended a = Append(std::move(items));  // one op: three frames in one shard
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  std::string disk = SegmentBytes();
  EXPECT_NE(disk.find("plain-data-before"), std::string::npos);
  EXPECT_NE(disk.find("plain-data-after"), std::string::npos);
  EXPECT_EQ(disk.find("SEALED-DATA-"), std::string::npos);
  EXPECT_EQ(disk.find("sealed-key-"), std::string::npos);
  std::vector<Record> got = ReadAll(Shard(k));
  ExpectRecordsEq(got, acked_[k]);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_FALSE(got[0].sealed);
  EXPECT_TRUE(got[1].sealed && got[2].sealed && got[3].sealed);
  EXPECT_FALSE(got[4].sealed);
  Close();  // recovery scans the sealed frames without their key
  ASSERT_TRUE(OpenWithKeys());
  ExpectRecordsEq(ReadAll(Shard(k)), acked_[k]);

  // A key that cannot be used fails the read with its error; the plain record before the
  // sealed ones stays readable, and a read from it stops before them.
  keys_.refuse = true;
  Journal::ReadResult r;
  Status st = j_->Read(Shard(k), 1, 100, 1 << 20, &r);
  EXPECT_EQ(st.type(), "KMSDisabledException");
  st = j_->Read(Shard(k), 0, 100, 1 << 20, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].data, "plain-data-before");
  EXPECT_EQ(r.next_counter, 1u);
  keys_.refuse = false;
  ExpectRecordsEq(ReadAll(Shard(k)), acked_[k]);
}

}  // namespace
}  // namespace millrace::log
