// StreamManager: every Kinesis operation's logic, independent of the wire. It owns the
// streams (in memory, mirrored in the catalog) and the journal that holds their records.
//
// Errors are Status values whose message is the text AWS gives and whose code the wire
// layer maps to an exception name: kNotFound -> ResourceNotFoundException,
// kFailedPrecondition -> ResourceInUseException, kInvalidArgument ->
// InvalidArgumentException, kResourceExhausted -> LimitExceededException, kThrottled ->
// ProvisionedThroughputExceededException, kExpired -> ExpiredIteratorException.
//
// Thread-safe. Put answers asynchronously (after the group commit); everything else
// answers before returning.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "log/journal.h"
#include "streams/stream.h"

namespace millrace::streams {

struct ManagerOptions {
  std::string data_dir;
  std::string account_id = "000000000000";
  std::string region = "us-east-1";
  int64_t transition_ms = 500;  // how long CREATING / UPDATING / DELETING last
  bool throttling = true;       // enforce the provisioned per-shard limits
  int shard_limit = 20000;      // open shards in all streams
  int on_demand_stream_limit = 50;
  uint64_t segment_bytes = 128ull << 20;
  bool sync = true;
  const Clock* clock = nullptr;
  catalog::Catalog* catalog = nullptr;  // required; outlives the manager
  // The keys of streams encrypted at rest (kms::KeyStore); outlives the manager. Without
  // it, StartStreamEncryption is refused.
  const log::KeyResolver* keys = nullptr;
};

struct PutEntry {
  std::string partition_key;
  std::optional<uint128> explicit_hash_key;
  std::string data;
};

struct PutOutcome {
  Status status;  // per record: Ok, or kThrottled / kInternal
  uint32_t shard_index = 0;
  bool sealed = false;  // written encrypted (EncryptionType KMS)
  uint64_t counter = 0;
};

struct GetRecordsResult {
  std::vector<log::Record> records;
  uint32_t shard_index = 0;
  std::optional<std::string> next_iterator;  // none once a closed shard is read to its end
  int64_t millis_behind = 0;
  uint64_t next_counter = 0;               // where the next read starts
  std::vector<const Shard*> child_shards;  // valid while `stream` is held
  std::shared_ptr<Stream> stream;
};

// "arn:aws:kinesis:us-east-1:000000000000:stream/name" -> name, if the account is `account`
// (".../stream/name/consumer/..." names the stream too); nullopt for anything else.
std::optional<std::string> StreamNameFromArn(std::string_view arn, const std::string& account);

// The account's MinimumThroughputBillingCommitment (DescribeAccountSettings): enabled at
// started_ms for at least 24 hours (earliest_end_ms); a disable asked for before then is
// scheduled for earliest_end_ms (ended_ms in the future). All 0 when never enabled.
struct BillingCommitment {
  int64_t started_ms = 0, earliest_end_ms = 0, ended_ms = 0;
  // ENABLED, DISABLED or ENABLED_UNTIL_EARLIEST_ALLOWED_END, at `now_ms`.
  const char* Status(int64_t now_ms) const;
  bool Enabled(int64_t now_ms) const { return Status(now_ms)[0] == 'E'; }
};
inline constexpr int64_t kMinimumCommitmentMs = 24 * 3600 * 1000LL;

// CreateStream's MaxRecordSizeInKiB and WarmThroughputMiBps.
struct StreamLimits {
  int max_record_kib = kDefaultMaxRecordKiB;
  std::optional<int> warm_target_mibps;
};

class StreamManager {
 public:
  static Result<std::unique_ptr<StreamManager>> Open(ManagerOptions options);
  ~StreamManager();
  StreamManager(const StreamManager&) = delete;
  StreamManager& operator=(const StreamManager&) = delete;

  const ManagerOptions& options() const { return options_; }
  const Clock* clock() const { return clock_; }
  std::string StreamArn(const std::string& name, const std::string& region) const;

  // Lifecycle.
  // `limits`: CreateStream's MaxRecordSizeInKiB and WarmThroughputMiBps.
  Status CreateStream(const std::string& name, std::optional<int> shard_count, StreamMode mode,
                      const std::vector<catalog::TagRow>& tags, const StreamLimits& limits = {});
  Status DeleteStream(const std::string& name);
  // The stream, or NotFound ("Stream X under account N not found."). Settles any state
  // transition that is due first.
  Result<std::shared_ptr<Stream>> Get(const std::string& name);
  std::vector<std::shared_ptr<Stream>> List();

  Status SetRetention(const std::string& name, int hours, bool increase);
  Status UpdateMode(const std::string& name, StreamMode mode);
  Status SplitShard(const std::string& name, const std::string& shard_id, uint128 new_start);
  Status MergeShards(const std::string& name, const std::string& shard_id,
                     const std::string& adjacent_id);
  Status UpdateShardCount(const std::string& name, int target);
  // Enhanced monitoring: turns the shard-level metrics in `bits` on (or off), kept in the
  // catalog; returns {before, after}.
  Result<std::pair<uint8_t, uint8_t>> SetShardMetrics(const std::string& name, uint8_t bits,
                                                      bool enable);
  // UpdateAccountSettings' MinimumThroughputBillingCommitment, kept in the catalog.
  BillingCommitment GetBillingCommitment();
  Result<BillingCommitment> SetBillingCommitment(bool enable);
  // UpdateMaxRecordSize (the stream must be ACTIVE).
  Status SetMaxRecordSize(const std::string& name, int kib);
  // UpdateStreamWarmThroughput: ON_DEMAND streams only; the stream is UPDATING for the
  // transition time, then ACTIVE with the throughput current (Millrace's on-demand streams
  // have no cold limit to warm). Returns the throughput current before the call.
  Result<int> SetWarmThroughput(const std::string& name, int mibps);
  // Start/StopStreamEncryption (the stream must be ACTIVE): records put from now on are
  // sealed under the key with the 16-byte id `seal_key_id` (options.keys finds it), or no
  // longer sealed when it is empty. `key_id` is the KeyId as the caller gave it, which
  // DescribeStream shows.
  Status SetEncryption(const std::string& name, const std::string& key_id,
                       const std::string& seal_key_id);

  Result<std::vector<catalog::TagRow>> ListTags(const std::string& name);
  Status AddTags(const std::string& name, const std::vector<catalog::TagRow>& tags);
  Status RemoveTags(const std::string& name, const std::vector<std::string>& keys);

  // Limits.
  int OpenShardsTotal();
  int OnDemandStreamCount();

  // Records. `done` runs once: on the commit thread after the records are durable, or
  // before Put returns if nothing could be written. For PutRecord (`all_or_nothing`), a
  // throttled shard fails the whole call; for PutRecords each record has its outcome.
  using PutDone = std::function<void(Status, std::vector<PutOutcome>)>;
  // Called on the commit thread each time records became durable (before their writers
  // hear of it): enhanced fan-out pushes them at once. Set before serving; not thread-safe.
  void SetDurableListener(std::function<void()> listener) {
    durable_listener_ = std::move(listener);
  }
  // `throttled` = false skips the per-shard write limits: for Millrace's own writers (a
  // change stream's capture), which must not lose their order to a retry.
  void Put(std::shared_ptr<Stream> stream, std::vector<PutEntry> entries, bool all_or_nothing,
           PutDone done, bool throttled = true);
  // PutRecord's SequenceNumberForOrdering: InvalidArgument (AWS's message) unless it names a
  // written record of this stream, in the shard `entry` goes to or one of its ancestors.
  Status CheckOrderingSequence(Stream& stream, const PutEntry& entry, std::string_view sequence);
  // The index of the open shard a record with this partition key goes to now.
  std::optional<uint32_t> ShardIndexFor(Stream& stream, std::string_view partition_key);

  struct IteratorRequest {
    std::string shard_id;
    std::string
        type;  // AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP
    std::optional<std::string> sequence_number;
    std::optional<int64_t> timestamp_ms;
  };
  Result<std::string> GetShardIterator(const std::string& name, const IteratorRequest& req);
  // `shared_throughput` = false: an enhanced fan-out read, which has its own allowance (the
  // caller's) and leaves the shard's 5 calls/s and 2 MiB/s to GetRecords callers.
  Result<GetRecordsResult> GetRecords(const std::string& iterator, int limit,
                                      bool shared_throughput = true);
  // Whether the stream named in an iterator exists; for access checks before GetRecords.
  Result<std::string> StreamNameOfIterator(const std::string& iterator);

  // For consumers (delivery/): a snapshot of a stream's shards, and reads by counter.
  struct ShardView {
    uint32_t index = 0;
    std::optional<uint32_t> parent, adjacent_parent;
    bool open = true;
    uint64_t starting_counter = 0;
    uint64_t end_exclusive = 0;  // closed shards: one past their last record
    int64_t closed_ms = 0;       // closed shards: when
    uint64_t trim_horizon = 0;   // the oldest counter still readable
    uint64_t durable_end = 0;    // one past the newest durable record
    int64_t last_arrival_ms = 0;
  };
  struct StreamView {
    uint64_t id = 0;
    std::vector<ShardView> shards;  // visible shards, by index
  };
  Result<StreamView> ViewStream(const std::string& name);
  // Durable records of one shard from `from` (at most max_records / about max_bytes).
  Status ReadShard(uint64_t stream_id, uint32_t shard_index, uint64_t from, size_t max_records,
                   size_t max_bytes, log::Journal::ReadResult* out);

  // Prometheus text for the stream metrics (records and bytes in and out, throttles).
  std::string Metrics();

  // The first counter a reader may see in `shard` (retention applied).
  uint64_t TrimHorizon(const Stream& stream, const Shard& shard) const;
  // Whether a closed shard is still listed (its records have not all expired).
  bool ShardVisible(const Stream& stream, const Shard& shard) const;

  log::Journal* journal() { return journal_.get(); }

 private:
  explicit StreamManager(ManagerOptions options);
  Status Load();
  void Settle(const std::shared_ptr<Stream>& s);
  // The live stream with this catalog id, or null (a linear scan: streams are few).
  std::shared_ptr<Stream> FindById(uint64_t stream_id);
  void MaintenanceLoop();
  Status RunRetention();
  Status PersistStream(const Stream& s, const std::vector<const Shard*>& changed_shards);
  std::unique_ptr<Shard> NewShard(Stream& s, HashRange range, std::optional<uint32_t> parent,
                                  std::optional<uint32_t> adjacent);
  void CloseShard(Stream& s, Shard& shard);
  Status NotEligible(const Stream& s, const Shard& shard) const;
  Status CheckActiveForUpdate(const Stream& s) const;
  // Warm throughput: ON_DEMAND streams of an account whose commitment is enabled.
  Status CheckWarmThroughput(const std::string& name, StreamMode mode);
  std::mutex commitment_mu_;
  BillingCommitment commitment_ GUARDED_BY(commitment_mu_);
  // The stream's settings document (DocKind::kStreamSettings); the caller holds s.mu.
  Status PersistSettings(const Stream& s);
  Status CheckShardLimit(int additional);
  std::string NotFoundMessage(const std::string& name) const;

  const ManagerOptions options_;
  const Clock* const clock_;
  catalog::Catalog* const catalog_;
  std::unique_ptr<log::Journal> journal_;
  std::string iterator_key_;

  std::function<void()> durable_listener_;
  std::mutex mu_;  // guards streams_ (the map, not the streams)
  std::map<std::string, std::shared_ptr<Stream>> streams_;

  std::mutex maint_mu_;
  std::condition_variable maint_cv_;
  bool stopping_ = false;
  std::thread maint_thread_;
};

}  // namespace millrace::streams
