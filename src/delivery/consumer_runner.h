// ConsumerRunner: one consumer's delivery loop, on its own thread. See manager.h for the
// exactly-once protocol. Created and stopped by DeliveryManager.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "delivery/manager.h"
#include "delivery/partition_query.h"
#include "delivery/record_filter.h"
#include "delivery/spec.h"
#include "formats/naming.h"
#include "formats/pg_copy.h"
#include "formats/writer.h"
#include "objstore/object_store.h"
#include "streams/manager.h"
#include "transform/worker_pool.h"

namespace millrace::delivery {

class ConsumerRunner {
 public:
  // Records [first, last] of one shard: a shard's part of a delivery.
  struct Range {
    uint32_t shard = 0;
    uint64_t first = 0, last = 0;
  };
  // A delivery under way, as recorded in the catalog while its files are written: the
  // consumer's own row (kDeliveryRow), or, written by a version before deliveries spanned
  // shards, the row of the one shard it holds.
  struct Pending {
    std::string key, failed_key, processing_failed_key;
    std::vector<Range> ranges;  // by shard index, ascending
    // Partitioned deliveries: the version the files are named with (their keys are made
    // again from it on a redo: one per partition, not kept here). 0: unpartitioned.
    int64_t version = 0;
  };
  // The checkpoint row (shard index) that holds the consumer's delivery under way; no
  // shard has this index.
  static constexpr uint32_t kDeliveryRow = 0xFFFFFFFF;
  struct Deps {
    catalog::Catalog* catalog;
    streams::StreamManager* streams;
    std::string data_dir;
    const Clock* clock;
    // Where a transformation's printed lines go (null: dropped).
    std::function<transform::LogSink(const std::string& transformation)> log_sink_for;
  };
  ConsumerRunner(Deps deps, ConsumerSpec consumer, DatasetSpec dataset, int64_t version,
                 std::shared_ptr<ConsumerCounters> counters);
  ~ConsumerRunner();  // Stop()
  ConsumerRunner(const ConsumerRunner&) = delete;
  ConsumerRunner& operator=(const ConsumerRunner&) = delete;

  void Start();
  void Stop();
  // The consumer version its files are named with. A runner that widens its dataset's
  // inferred schema bumps the versions in the catalog and takes its own new one.
  int64_t version() const { return version_.load(); }
  ConsumerStatus Status();

 private:
  // One shard's delivery state. Guarded by the runner's thread (status copies under mu_).
  struct ShardState {
    uint32_t index = 0;
    uint64_t checkpoint = 0;  // next counter not yet delivered
    uint64_t next_read = 0;   // next counter to read
    // The shard's records in the delivery's buffer: counters [first, last], as read (KPL
    // and deaggregation undone). `held` is empty when a build failed after taking them;
    // the next build reads them from the log again.
    uint64_t first = 0, last = 0;
    size_t records = 0;
    std::vector<log::Record> held;
    int64_t oldest_arrival_ms = 0;
    bool done = false;  // a closed shard, fully delivered
  };
  // One dynamic partition's file of a delivery.
  struct PartFile {
    formats::PartitionValues values;
    std::unique_ptr<formats::FileWriter> writer;  // while it is built
    std::string bytes;
    size_t good = 0;
    int64_t oldest_arrival_ms = 0;
  };
  // The files of one delivery, before they are written.
  struct FileParts {
    std::vector<PartFile> partitions;  // partitioned consumers: the data files, by partition
    std::string bytes, conversion_lines, processing_lines;
    size_t good = 0, conversion_failed = 0, processing_failed = 0, dropped = 0, filtered = 0;
    int64_t oldest_arrival_ms = 0;
    std::string invocation_error;  // of a batch whose every attempt failed (the last one)
    // The data file went to a stream as it was built (`bytes` is empty): Commit it.
    bool streamed = false;
  };
  void Run();
  // One pass over the stream's shards; true if it did any work.
  bool Pass();
  ::millrace::Status OpenStore();
  ::millrace::Status OpenTransform();
  // Builds the files of a delivery: each range in turn (the file keeps each shard's
  // order), from `held[i]` where it is not empty, else re-read from the log.
  // With `stream`, a data file that grows past a piece is sent to it as it is built.
  ::millrace::Status BuildFile(uint64_t stream_id, const std::vector<Range>& ranges,
                               std::vector<std::vector<log::Record>> held, FileParts* out,
                               objstore::ObjectStream* stream = nullptr);
  struct Invoked {
    transform::InvokeResult result;
    int attempts = 0;  // made, counting the first
  };
  Invoked InvokeBatch(uint64_t stream_id, uint32_t shard, const std::vector<log::Record>& batch);
  template <typename Add>
  ::millrace::Status Transform(uint64_t stream_id, uint32_t shard,
                               const std::vector<log::Record>& batch, Invoked& invoked, Add& add,
                               FileParts* out);
  ::millrace::Status WriteParts(uint64_t stream_id, const Pending& p, const FileParts& parts,
                                objstore::ObjectStream* stream = nullptr);
  // The seed of a delivery's file UUIDs.
  std::string SeedOf(uint64_t stream_id, const std::vector<Range>& ranges) const;
  // Inference mode: widens the dataset's stored schema to fit `records` (persisting it and
  // the consumers' new versions first), then sets format_'s schema to the stored one.
  ::millrace::Status ResolveSchema(const std::vector<log::Record>& records);
  ::millrace::Status LoadCheckpoints(uint64_t stream_id);
  // Completes a delivery a stop cut short (`pending`, from the row of `row_shard`).
  ::millrace::Status Redo(uint64_t stream_id, uint32_t row_shard, const std::string& pending);
  // Writes the buffer (every shard's part) as one delivery.
  ::millrace::Status Flush(uint64_t stream_id);
  // The shards' checkpoints past `p`'s ranges and no delivery under way: one transaction.
  ::millrace::Status Commit(uint64_t stream_id, const Pending& p);
  ::millrace::Status WriteWithRetry(const std::string& key, const std::string& bytes,
                                    const std::string& content_type);
  ::millrace::Status SaveCheckpoint(uint64_t stream_id, const ShardState& st,
                                    const std::string& pending);
  // A failure: FAILING, with the error and its time, one more consecutive failure.
  void NoteError(const ::millrace::Status& st);
  void NoteError(const std::string& message);
  // A success: RUNNING, no consecutive failures (last_error stays, with its time).
  void NoteSuccess();
  // Waits Backoff(consecutive failures) unless stopping; false if stopping.
  bool WaitBackoff();

  const Deps deps_;
  const ConsumerSpec consumer_;
  const DatasetSpec dataset_;
  std::atomic<int64_t> version_;
  formats::FormatSpec format_;
  const bool infer_;  // a csv/parquet dataset whose schema is (still) inferred
  std::unique_ptr<objstore::ObjectStore> store_;
  std::shared_ptr<const formats::TimeZone> zone_;  // the dataset's time_zone (null: UTC)
  // The delivery's data file is binary COPY data for a PostgreSQL table (formats/pg_copy.h)
  // rather than the dataset's CSV.
  bool pg_copy_ = false;
  std::string DataContentType() const {
    return pg_copy_ ? std::string(formats::kPgCopyContentType) : formats::ContentType(format_);
  }
  std::unique_ptr<transform::WorkerPool> pool_;      // when the consumer has a transformation
  std::unique_ptr<RecordFilter> filter_;             // when the consumer has a filter
  std::unique_ptr<PartitionQuery> partition_query_;  // when it has a partition query
  // Dynamic partitioning: the dataset's key prefix names partition keys, or the consumer
  // has a partition query. A delivery then writes a file per partition.
  const bool partitioned_;
  const std::vector<std::string> partition_keys_;  // those the key prefix names
  std::string transform_arn_;

  uint64_t stream_id_ = 0;  // the stream instance being read (0: none yet)
  std::map<uint32_t, ShardState> shards_;
  // The buffer, across shards: record data held, when its first record came.
  size_t buffer_bytes_ = 0;
  size_t buffer_records_ = 0;
  int64_t buffer_started_ns_ = 0;
  std::map<uint32_t, catalog::CheckpointRow> saved_;  // checkpoints loaded for stream_id_

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  ConsumerStatus status_;  // guarded by mu_
  const std::shared_ptr<ConsumerCounters> counters_;
  std::atomic<uint64_t> consecutive_failures_{0};
};

}  // namespace millrace::delivery
