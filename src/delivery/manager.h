// DeliveryManager: runs every consumer: reads its stream's shards from the log, buffers by
// size and time, writes files into its dataset, and checkpoints each shard only once the
// file holding its records is durably written.
//
// Exactly once: a file holds the records [first, last] of one shard and is named from
// them (the time of its oldest record, and a UUID derived from consumer, stream, shard and
// range). Before writing, the consumer records the pending delivery (key and range) in
// the catalog; after the write, it advances the checkpoint and clears it, in one
// transaction. A restart finds a pending delivery and writes the same bytes under the
// same key again, so a crash at any moment neither loses nor duplicates a record.
//
// Thread-safe. One thread per consumer; Reload() starts, restarts (on a new version) and
// stops them to match the catalog.
#pragma once

#include <cstdint>
#include <functional>
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

struct ConsumerStatus {
  std::string name;
  std::string state;       // RUNNING, WAITING (stream missing), FAILING (target errors)
  std::string last_error;  // the latest delivery error, if any
  uint64_t records_delivered = 0;
  uint64_t objects_written = 0;
  uint64_t records_failed = 0;
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
};

// Gives every consumer delivering to `dataset` a new version (its document as it is), so
// that Reload restarts it with the dataset's new settings and its files get new names.
Status BumpConsumersOf(catalog::Catalog* catalog, const std::string& dataset, int64_t now_ms);

}  // namespace millrace::delivery
