// Stream and Shard: the in-memory state of a stream, mirrored in the catalog.
//
// Locking: a Stream's `mu` guards its fields and its shards' fields. Record writes and
// reads take it shared (they only route and check limits, under each shard's own
// throttle lock); metadata changes (resharding, retention, status) take it exclusive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/thread_annotations.h"
#include "common/uint128.h"
#include "log/journal.h"
#include "streams/hash_range.h"
#include "streams/throttle.h"

namespace millrace::streams {

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
enum class StreamMode { kProvisioned, kOnDemand };

// A record's data: 1 MiB unless the stream's maximum was raised (up to 10 MiB).
inline constexpr int kDefaultMaxRecordKiB = 1024;
inline constexpr int kLargestMaxRecordKiB = 10240;

const char* StatusName(StreamStatus s);
const char* ModeName(StreamMode m);

struct Shard {
  uint32_t index = 0;
  std::optional<uint32_t> parent;
  std::optional<uint32_t> adjacent_parent;
  HashRange range;
  int64_t created_ms = 0;
  std::optional<int64_t> closed_ms;
  uint64_t starting_counter = 0;
  std::optional<uint64_t> ending_counter;  // inclusive, as the wire shows it; set when closed
  // One past the last counter the shard will ever hold (0 while open). Records below it
  // may still be in flight for a moment after the close.
  uint64_t end_exclusive = 0;
  uint64_t counter_floor = 0;
  log::ShardLog* log = nullptr;  // owned by the Journal

  // Shard-level counters for /metrics (relaxed atomics), shown for the metrics enabled
  // (EnableEnhancedMonitoring): Stream::shard_metrics.
  std::atomic<uint64_t> records_in{0}, bytes_in{0}, records_out{0}, bytes_out{0};
  std::atomic<uint64_t> write_throttles{0}, read_throttles{0};
  std::atomic<int64_t> iterator_age_ms{0};  // MillisBehindLatest of the last read

  // Provisioned-mode limits (per shard): writes 1 MiB/s and 1,000 records/s, reads
  // 5 calls/s and 2 MiB/s. Guarded by throttle_mu.
  std::mutex throttle_mu;
  TokenBucket write_bytes GUARDED_BY(throttle_mu){1024.0 * 1024};
  TokenBucket write_records GUARDED_BY(throttle_mu){1000};
  TokenBucket read_calls GUARDED_BY(throttle_mu){5};
  TokenBucket read_bytes GUARDED_BY(throttle_mu){2.0 * 1024 * 1024};

  bool open() const { return !ending_counter.has_value(); }
  std::string Id() const;
};

struct Stream {
  uint64_t id = 0;
  std::string name;
  StreamStatus status = StreamStatus::kCreating;
  int64_t created_ms = 0;
  int64_t status_changed_ms = 0;
  int retention_hours = 24;
  StreamMode mode = StreamMode::kProvisioned;
  int64_t mode_changed_ms = 0;
  std::string encryption_type = "NONE";
  std::string key_id;       // StartStreamEncryption's KeyId, as given
  std::string seal_key_id;  // while encrypted: the 16-byte id of the key records are sealed with
  uint32_t next_shard_index = 0;
  // Enhanced monitoring: a bit per ShardLevelMetric (kShardMetricNames), guarded by mu.
  uint8_t shard_metrics = 0;
  // UpdateMaxRecordSize: the largest record data accepted, 1024..10240 KiB.
  int max_record_kib = kDefaultMaxRecordKiB;
  // UpdateStreamWarmThroughput (ON_DEMAND streams): the throughput asked for, if ever.
  std::optional<int> warm_target_mibps;

  // Counters for /metrics (relaxed atomics; read without the lock).
  std::atomic<uint64_t> records_in{0}, bytes_in{0}, records_out{0}, bytes_out{0};
  std::atomic<uint64_t> write_throttles{0}, read_throttles{0};

  mutable std::shared_mutex mu;
  // Sorted by index. Closed shards stay until retention passes them.
  std::vector<std::unique_ptr<Shard>> shards;

  // Open shards sorted by range start (they partition the key space); kept by
  // RebuildRouting() after every change to `shards`.
  std::vector<Shard*> open_by_start;

  Shard* FindShard(uint32_t index) const;
  // The open shard whose range holds `key`: a binary search over open_by_start.
  Shard* RouteHashKey(uint128 key) const;
  int OpenShardCount() const { return static_cast<int>(open_by_start.size()); }
  void RebuildRouting();
};

// EnableEnhancedMonitoring's metric names, bit i of Stream::shard_metrics for name i.
inline constexpr const char* kShardMetricNames[] = {"IncomingBytes",
                                                    "IncomingRecords",
                                                    "OutgoingBytes",
                                                    "OutgoingRecords",
                                                    "WriteProvisionedThroughputExceeded",
                                                    "ReadProvisionedThroughputExceeded",
                                                    "IteratorAgeMilliseconds"};
inline constexpr uint8_t kAllShardMetrics = 0x7f;

// "shardId-000000000012" -> 12; nullopt if not of that shape.
std::optional<uint32_t> ParseShardId(std::string_view id);
std::string ShardIdOf(uint32_t index);

}  // namespace millrace::streams
