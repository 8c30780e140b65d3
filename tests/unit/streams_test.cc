// Unit tests of the stream logic: hash ranges, sequence numbers, iterators, and the
// StreamManager on a real (temporary) log and catalog with a manual clock.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <future>

#include "catalog/catalog.h"
#include "streams/iterator.h"
#include "streams/manager.h"
#include "streams/sequence.h"

namespace millrace::streams {
namespace {

TEST(TokenBucket, AFullBucketTakesOneAmountLargerThanItHolds) {
  constexpr int64_t kSecond = 1000000000;
  TokenBucket b(1024.0 * 1024);
  EXPECT_FALSE(b.TryConsume(1024.0 * 1024 + 1, kSecond));      // plain: never more than it holds
  EXPECT_TRUE(b.TryConsumeBurst(1024.0 * 1024 + 1, kSecond));  // full: burst, into debt
  EXPECT_FALSE(b.Available(kSecond));
  EXPECT_FALSE(b.TryConsumeBurst(1, kSecond));                            // in debt
  EXPECT_FALSE(b.TryConsumeBurst(1024.0 * 1024, kSecond + kSecond / 2));  // half refilled
  EXPECT_TRUE(b.TryConsumeBurst(10, 3 * kSecond));                        // refilled
  EXPECT_FALSE(b.TryConsumeBurst(2.0 * 1024 * 1024, 3 * kSecond));        // not full any more
  EXPECT_TRUE(b.Fits(1000, 3 * kSecond));
}

TEST(HashRange, TwoShardsSplitAtTwoToThe127) {
  auto r = EvenRanges(2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(Uint128ToDecimal(r[0].start), "0");
  EXPECT_EQ(Uint128ToDecimal(r[0].end), "170141183460469231731687303715884105727");
  EXPECT_EQ(Uint128ToDecimal(r[1].start), "170141183460469231731687303715884105728");
  EXPECT_EQ(Uint128ToDecimal(r[1].end), "340282366920938463463374607431768211455");
}

TEST(HashRange, ThreeShardsAsAwsDividesThem) {
  // AWS: 2^128 / 3 = 113427455640312821154458202477256070485 (floor).
  auto r = EvenRanges(3);
  EXPECT_EQ(Uint128ToDecimal(r[0].end), "113427455640312821154458202477256070484");
  EXPECT_EQ(Uint128ToDecimal(r[1].start), "113427455640312821154458202477256070485");
  EXPECT_EQ(Uint128ToDecimal(r[2].start), "226854911280625642308916404954512140970");
  EXPECT_EQ(r[2].end, kUint128Max);
}

TEST(HashRange, OneShardCoversEverything) {
  auto r = EvenRanges(1);
  EXPECT_EQ(r[0].start, 0u);
  EXPECT_EQ(r[0].end, kUint128Max);
}

TEST(Sequence, RoundTripsAndOrdersByCounter) {
  std::string a = EncodeSequence(7, 3, 41), b = EncodeSequence(7, 3, 42);
  EXPECT_EQ(a.size(), 56u);
  EXPECT_LT(a, b);  // same length: string order is numeric order
  auto d = DecodeSequence(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->stream_id, 7u);
  EXPECT_EQ(d->shard_index, 3u);
  EXPECT_EQ(d->counter, 42u);
  EXPECT_FALSE(DecodeSequence("123"));
  EXPECT_FALSE(DecodeSequence(std::string(56, '9')));
}

TEST(Iterator, RejectsTamperingAndOtherKeys) {
  IteratorState s{1, 2, 3, 4};
  std::string key(32, 'k');
  std::string t = EncodeIterator(s, key);
  auto d = DecodeIterator(t, key);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->counter, 3u);
  EXPECT_FALSE(DecodeIterator(t, std::string(32, 'x')));
  std::string bad = t;
  bad[5] = bad[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(DecodeIterator(bad, key));
  EXPECT_FALSE(DecodeIterator("not-base64!", key));
}

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/millrace-streams-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    mgr_.reset();
    catalog_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    mgr_.reset();
    catalog_.reset();
    auto c = catalog::Catalog::Open(dir_ + "/catalog.db");
    ASSERT_TRUE(c.ok());
    catalog_ = std::move(*c);
    ManagerOptions o;
    o.data_dir = dir_;
    o.transition_ms = 0;
    o.clock = &clock_;
    o.catalog = catalog_.get();
    auto m = StreamManager::Open(o);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mgr_ = std::move(*m);
  }
  // Puts records synchronously; returns their outcomes.
  std::vector<PutOutcome> Put(const std::string& stream, std::vector<PutEntry> entries,
                              Status* status = nullptr) {
    auto s = mgr_->Get(stream);
    EXPECT_TRUE(s.ok());
    std::promise<std::pair<Status, std::vector<PutOutcome>>> p;
    mgr_->Put(*s, std::move(entries), false, [&](Status st, std::vector<PutOutcome> out) {
      p.set_value({st, std::move(out)});
    });
    auto r = p.get_future().get();
    if (status) *status = r.first;
    return r.second;
  }
  std::vector<log::Record> ReadAll(const std::string& stream, const std::string& shard) {
    auto it = mgr_->GetShardIterator(stream, {shard, "TRIM_HORIZON", {}, {}});
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    auto got = mgr_->GetRecords(*it, 10000);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got->records;
  }

  std::string dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<StreamManager> mgr_;
};

TEST_F(ManagerTest, PutThenReadBackInOrder) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  auto out = Put("s", {{"a", {}, "one"}, {"b", {}, "two"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[1].counter, out[0].counter + 1);
  auto recs = ReadAll("s", "shardId-000000000000");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].data, "one");
  EXPECT_EQ(recs[1].partition_key, "b");
}

TEST_F(ManagerTest, ThrottlesProvisionedShardsPerRecordInPutRecords) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  std::vector<PutEntry> entries;
  for (int i = 0; i < 500; ++i)
    entries.push_back({"k" + std::to_string(i), {}, std::string(3000, 'x')});
  auto out = Put("s", std::move(entries));
  int throttled = 0;
  for (auto& o : out) throttled += o.status.code() == Code::kThrottled;
  // 1 MiB/s per shard: about 349 records of 3000 bytes fit in the first second.
  EXPECT_GT(throttled, 100);
  EXPECT_LT(throttled, 200);
}

TEST_F(ManagerTest, SplitClosesParentAndReadsEndWithChildShards) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  Put("s", {{"a", {}, "before"}});
  ASSERT_TRUE(mgr_->SplitShard("s", "shardId-000000000000", static_cast<uint128>(1) << 127).ok());
  auto it = mgr_->GetShardIterator("s", {"shardId-000000000000", "TRIM_HORIZON", {}, {}});
  ASSERT_TRUE(it.ok());
  auto got = mgr_->GetRecords(*it, 100);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->records.size(), 1u);
  EXPECT_FALSE(got->next_iterator);
  ASSERT_EQ(got->child_shards.size(), 2u);
  EXPECT_EQ(got->child_shards[0]->parent, 0u);
  // New writes go to the children.
  auto out = Put("s", {{"a", {}, "after"}});
  EXPECT_NE(out[0].shard_index, 0u);
}

TEST_F(ManagerTest, ClosedEmptyShardEndsAtOnce) {
  // Regression: a shard closed before any write used to return a next iterator forever.
  ASSERT_TRUE(mgr_->CreateStream("s", 2, StreamMode::kProvisioned, {}).ok());
  ASSERT_TRUE(mgr_->MergeShards("s", "shardId-000000000000", "shardId-000000000001").ok());
  auto it = mgr_->GetShardIterator("s", {"shardId-000000000001", "TRIM_HORIZON", {}, {}});
  ASSERT_TRUE(it.ok());
  auto got = mgr_->GetRecords(*it, 100);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->records.empty());
  EXPECT_FALSE(got->next_iterator);
  EXPECT_EQ(got->child_shards.size(), 1u);
}

TEST_F(ManagerTest, IteratorsExpireAfterFiveMinutes) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  auto it = mgr_->GetShardIterator("s", {"shardId-000000000000", "LATEST", {}, {}});
  ASSERT_TRUE(it.ok());
  clock_.Advance(5 * 60 * 1000 + 1);
  auto got = mgr_->GetRecords(*it, 10);
  EXPECT_EQ(got.status().code(), Code::kExpired);
  EXPECT_NE(got.status().message().find("Iterator expired"), std::string::npos);
}

TEST_F(ManagerTest, AtTimestampStartsAtTheFirstRecordAtOrAfterIt) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  Put("s", {{"a", {}, "t0"}});
  clock_.Advance(1000);
  int64_t t1 = clock_.NowMillis();
  Put("s", {{"a", {}, "t1"}});
  auto it = mgr_->GetShardIterator("s", {"shardId-000000000000", "AT_TIMESTAMP", {}, t1});
  ASSERT_TRUE(it.ok());
  auto got = mgr_->GetRecords(*it, 10);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->records.size(), 1u);
  EXPECT_EQ(got->records[0].data, "t1");
}

TEST_F(ManagerTest, RetentionHidesOldRecords) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  Put("s", {{"a", {}, "old"}});
  clock_.Advance(25LL * 3600 * 1000);
  Put("s", {{"a", {}, "new"}});
  auto recs = ReadAll("s", "shardId-000000000000");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].data, "new");
}

TEST_F(ManagerTest, StateAndCountersSurviveRestart) {
  ASSERT_TRUE(mgr_->CreateStream("s", 2, StreamMode::kProvisioned, {}).ok());
  auto first = Put("s", {{"a", {}, "x"}});
  Open();
  auto recs = ReadAll("s", "shardId-00000000000" + std::to_string(first[0].shard_index));
  ASSERT_EQ(recs.size(), 1u);
  auto second = Put("s", {{"a", {}, "y"}});
  EXPECT_EQ(second[0].shard_index, first[0].shard_index);
  EXPECT_GT(second[0].counter, first[0].counter);
}

TEST_F(ManagerTest, BillingCommitmentEndsAfterItsTwentyFourHours) {
  const int64_t t0 = clock_.NowMillis();
  EXPECT_STREQ(mgr_->GetBillingCommitment().Status(t0), "DISABLED");
  ASSERT_TRUE(mgr_->SetBillingCommitment(true).ok());
  clock_.Advance(3600 * 1000);
  // Disabled after an hour: scheduled for the end of the 24 hours.
  auto c = mgr_->SetBillingCommitment(false);
  ASSERT_TRUE(c.ok());
  EXPECT_STREQ(c->Status(clock_.NowMillis()), "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
  EXPECT_EQ(c->started_ms, t0);
  EXPECT_EQ(c->ended_ms, t0 + kMinimumCommitmentMs);
  Open();  // kept in the catalog
  clock_.Set(t0 + kMinimumCommitmentMs - 1);
  EXPECT_TRUE(mgr_->GetBillingCommitment().Enabled(clock_.NowMillis()));
  clock_.Set(t0 + kMinimumCommitmentMs);
  EXPECT_STREQ(mgr_->GetBillingCommitment().Status(clock_.NowMillis()), "DISABLED");
  // Enabled again after it ended: a new commitment from now.
  clock_.Advance(1000);
  c = mgr_->SetBillingCommitment(true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->started_ms, clock_.NowMillis());
  EXPECT_EQ(c->ended_ms, 0);
  // Disabled after its 24 hours: ends at once.
  clock_.Advance(kMinimumCommitmentMs + 5);
  c = mgr_->SetBillingCommitment(false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ended_ms, clock_.NowMillis());
  EXPECT_STREQ(c->Status(clock_.NowMillis()), "DISABLED");
}

TEST_F(ManagerTest, SettingsSurviveRestartButNotARecreatedStream) {
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  ASSERT_TRUE(mgr_->SetMaxRecordSize("s", 4096).ok());
  ASSERT_TRUE(mgr_->SetShardMetrics("s", kAllShardMetrics, true).ok());
  Open();
  auto s = mgr_->Get("s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->max_record_kib, 4096);
  EXPECT_EQ((*s)->shard_metrics, kAllShardMetrics);
  // A stream made again under the name starts from the defaults, before and after a restart.
  ASSERT_TRUE(mgr_->DeleteStream("s").ok());
  clock_.Advance(10);
  ASSERT_TRUE(mgr_->CreateStream("s", 1, StreamMode::kProvisioned, {}).ok());
  for (int round = 0; round < 2; ++round) {
    s = mgr_->Get("s");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->max_record_kib, kDefaultMaxRecordKiB);
    EXPECT_EQ((*s)->shard_metrics, 0);
    Open();
  }
}

}  // namespace
}  // namespace millrace::streams

namespace millrace::streams {
namespace {
TEST(ShardId, FormatsAndParses) {
  EXPECT_EQ(ShardIdOf(0), "shardId-000000000000");
  EXPECT_EQ(ShardIdOf(12), "shardId-000000000012");
  EXPECT_EQ(ShardIdOf(4294967295u), "shardId-004294967295");
  EXPECT_EQ(ParseShardId("shardId-000000000012"), 12u);
  EXPECT_EQ(ParseShardId("7"), 7u);
  EXPECT_FALSE(ParseShardId("shardId-x"));
  // Every form AWS takes names the same shard.
  EXPECT_EQ(ParseShardId("shardId-1"), 1u);
  EXPECT_EQ(ParseShardId("anything-1"), 1u);
  EXPECT_EQ(ParseShardId("a-b-000000000001"), 1u);
  EXPECT_FALSE(ParseShardId("shardId-"));
  EXPECT_FALSE(ParseShardId("-"));
}
// Regression: a stream settings document whose seal_key is not hex (damaged by hand) once
// threw from std::stoi at start-up; it is now ignored, and a good one read.
TEST_F(ManagerTest, AnEncryptedStreamsKeyIdIsReadBackAndADamagedOneIgnored) {
  ASSERT_TRUE(mgr_->CreateStream("e", 1, StreamMode::kProvisioned, {}).ok());
  auto rows = catalog_->ListStreams();
  ASSERT_TRUE(rows.ok());
  catalog::StreamRow row = rows->front();
  row.encryption_type = "KMS";
  row.key_id = "alias/aws/kinesis";
  ASSERT_TRUE(catalog_->UpdateStream(row).ok());
  const std::string head =
      "{\"stream_created_ms\":" + std::to_string(row.created_ms) + ",\"seal_key\":\"";
  for (const std::string& hex :
       {std::string(32, 'z'), std::string("0123456789abcdef0123456789ABCDEF")}) {
    ASSERT_TRUE(
        catalog_->PutDoc(catalog::DocKind::kStreamSettings, "e", head + hex + "\"}", 1).ok());
    Open();
    auto s = mgr_->Get("e");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->seal_key_id.size(), hex[0] == 'z' ? 0u : 16u) << hex;
  }
}

}  // namespace
}  // namespace millrace::streams
