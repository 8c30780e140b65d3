// DeliveryManager: runs every consumer: reads its stream's shards from the log, buffers by
// size and time (one buffer across the shards, as Firehose has), writes files into its
// dataset, and checkpoints the shards only once the file holding their records is durably
// written.
//
// Exactly once: a delivery holds the records [first, last] of each shard it spans and its
// file is named from them (the time of its oldest record, and a UUID derived from
// consumer, stream and ranges). Before writing, the consumer records the pending delivery
// (key, ranges, version) in the catalog row of the consumer (shard index kDeliveryRow);
// after the write, it advances the shards' checkpoints and clears it, in one transaction.
// A restart finds a pending delivery and writes the same bytes under the same key again,
// so a crash at any moment neither loses nor duplicates a record.
//
// Thread-safe. One thread per consumer; Reload() starts, restarts (on a new version) and
// stops them to match the catalog.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "streams/manager.h"
#include "transform/types.h"

namespace millrace::delivery {

class ConsumerRunner;

struct ShardLag {
  std::string shard_id;
  uint64_t records_behind = 0;
  int64_t millis_behind = 0;
};

// What happened to a consumer's records and its transformation's invocations since the
// server started (kept across the consumer's versions; forgotten when it is deleted).
struct ConsumerCounters {
  // Upper bounds (seconds) of the invocation duration histogram's buckets; +Inf follows.
  static constexpr double kDurationBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                1,     2.5,  5,     10,   30,  60,   300};
  static constexpr size_t kBuckets = std::size(kDurationBuckets) + 1;
  std::atomic<uint64_t> delivered{0}, objects{0}, dropped{0}, processing_failed{0},
      conversion_failed{0}, filtered{0};
  std::atomic<uint64_t> invocations{0}, invocation_errors{0}, invocation_timeouts{0};
  std::atomic<uint64_t> duration_ms_sum{0};
  std::atomic<uint64_t> duration_buckets[kBuckets] = {};  // not cumulative

  void AddInvocation(int64_t duration_ms, bool error, bool timeout);
};

// Retries after a failure wait Backoff(n) for the n-th failure in a row: 1 s doubled each
// time, up to kBackoffCeilingMs, the second half of it random (jitter), so that consumers
// failing together do not retry together.
constexpr int64_t kBackoffBaseMs = 1000;
constexpr int64_t kBackoffCeilingMs = 60000;
int64_t Backoff(uint64_t failures);

struct ConsumerStatus {
  std::string name;
  // STARTING (before its first pass), RUNNING, WAITING (its stream does not exist),
  // FAILING (the latest attempt failed: a write to the dataset, or the transformation on a
  // whole batch; retried with Backoff until it works again).
  std::string state;
  std::string last_error;             // the latest error, if any (kept after recovery)
  int64_t last_error_at_ms = 0;       // when it happened (0: never)
  uint64_t consecutive_failures = 0;  // failures since the last success
  uint64_t records_delivered = 0;
  uint64_t objects_written = 0;
  uint64_t records_failed = 0;  // processing + conversion
  uint64_t records_dropped = 0;
  uint64_t records_filtered = 0;  // rejected by the consumer's filter
  uint64_t records_processing_failed = 0;
  uint64_t records_conversion_failed = 0;
  uint64_t invocations = 0, invocation_errors = 0, invocation_timeouts = 0;
  uint64_t invocation_duration_ms_sum = 0;
  std::vector<uint64_t> invocation_duration_buckets;  // as ConsumerCounters', not cumulative
  uint64_t records_behind = 0;
  int64_t millis_behind = 0;
  std::vector<ShardLag> shards;
};

class DeliveryManager {
 public:
  DeliveryManager(catalog::Catalog* catalog, streams::StreamManager* streams, std::string data_dir,
                  const Clock* clock);
  ~DeliveryManager();  // stops every consumer (what is buffered is delivered after restart)
  DeliveryManager(const DeliveryManager&) = delete;
  DeliveryManager& operator=(const DeliveryManager&) = delete;

  // Where transformations' printed lines go; set before the first Reload.
  using LogSinkFactory = std::function<transform::LogSink(const std::string& transformation)>;
  void SetLogSinks(LogSinkFactory factory) { log_sinks_ = std::move(factory); }

  // Makes the running consumers match the catalog's consumer documents.
  Status Reload();
  // Forgets a deleted consumer's checkpoints.
  Status Forget(const std::string& consumer);

  std::vector<ConsumerStatus> Statuses();
  // Prometheus text for the delivery metrics.
  std::string Metrics();

 private:
  catalog::Catalog* const catalog_;
  streams::StreamManager* const streams_;
  const std::string data_dir_;
  const Clock* const clock_;
  LogSinkFactory log_sinks_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ConsumerRunner>> runners_;
  std::map<std::string, std::shared_ptr<ConsumerCounters>> counters_;
};

// Gives every consumer delivering to `dataset` a new version (its document as it is), so
// that Reload restarts it with the dataset's new settings and its files get new names.
Status BumpConsumersOf(catalog::Catalog* catalog, const std::string& dataset, int64_t now_ms);

}  // namespace millrace::delivery
