// Journal: the server's one append-only log, shared by every shard of every stream.
//
// Why one log and not one per shard: a write is acknowledged only after fsync, and the
// cost of that flush must not grow with the number of shards written at once. With one
// log, a group commit writes the frames of every waiting writer, whatever their shards,
// with one write and one fdatasync. Each shard keeps an in-memory index of its frames
// (ShardLog), rebuilt at start-up from the sealed segments' index files plus a scan of the
// last segment only, so restart time is bounded by the segment size, not the log size.
// The format is docs/format/log.md.
//
// Threads: Append may be called from any thread; it never blocks on I/O. One commit thread
// writes and syncs; one completion thread then calls each AppendOp's Done, in order. Reads are
// thread-safe and run concurrently with commits. Retention runs on whatever thread calls
// DeleteExpiredSegments.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "log/file.h"
#include "log/format.h"

namespace millrace::log {

class Journal;

// The log's view of one shard: where its records are, and the next counter to assign.
// Owned by the Journal; pointers stay valid until the Journal is destroyed.
class ShardLog {
 public:
  ShardLog(uint64_t stream_id, uint32_t shard_index)
      : stream_id_(stream_id), shard_index_(shard_index) {}
  ShardLog(const ShardLog&) = delete;
  ShardLog& operator=(const ShardLog&) = delete;

  uint64_t stream_id() const { return stream_id_; }
  uint32_t shard_index() const { return shard_index_; }

  // One past the counter of the last durable (readable) record.
  uint64_t DurableEnd() const;
  // The counter of the oldest record still in the log (== DurableEnd() if none).
  uint64_t FirstCounter() const;
  // Arrival time of the newest durable record, or 0 if there is none.
  int64_t LastArrival() const;
  // The first counter whose frame holds a record that arrived at or after `ts_ms`
  // (DurableEnd() if none did). The caller refines within the frame.
  uint64_t FrameCounterAtOrAfter(int64_t ts_ms) const;
  // Copies the entries of the frames holding counters >= from, up to about max_bytes.
  std::vector<FrameEntry> FramesFrom(uint64_t from, size_t max_bytes) const;

 private:
  friend class Journal;
  const uint64_t stream_id_;
  const uint32_t shard_index_;
  // Assigned under Journal::queue_mu_ (the order of assignment is the order in the log).
  uint64_t next_counter_ = 0;
  int64_t last_assigned_ts_ = 0;

  mutable std::mutex mu_;
  std::deque<FrameEntry> frames_ GUARDED_BY(mu_);
  uint64_t durable_end_ GUARDED_BY(mu_) = 0;
};

struct AppendItem {
  ShardLog* shard = nullptr;
  std::string partition_key;
  std::string data;
  // Set for a stream encrypted at rest (StartStreamEncryption): the record is written
  // sealed under this key (format.h, FrameSealer).
  std::shared_ptr<const SealKey> seal;
  // Filled by Journal::Append: the record's counter and arrival time.
  uint64_t counter = 0;
  int64_t arrival_ms = 0;
};

// A writer's request: records (for any shards) and what to do once they are durable.
class AppendOp {
 public:
  virtual ~AppendOp() = default;
  std::vector<AppendItem> items;
  // Called exactly once, on the completion thread: Ok once every item is on disk (synced), or
  // the error that kept them from it (none of them is then readable or acknowledged).
  virtual void Done(Status status) = 0;
};

struct JournalOptions {
  std::string dir;                        // created if missing
  uint64_t segment_bytes = 128ull << 20;  // a segment is sealed once it passes this size
  bool sync = true;                       // fdatasync before acknowledging (group commit)
  FileSystem* fs = nullptr;               // nullptr = FileSystem::Posix()
  // Sealed segments are closed and reopened on demand; at most this many stay open for
  // reading (least recently read closed first), so the log never needs one descriptor per
  // segment. 0 = min(64, RLIMIT_NOFILE / 8), at least 4.
  size_t max_open_sealed = 0;
  const Clock* clock = nullptr;  // nullptr = SystemClock
  // Finds the keys of sealed frames when they are read; required once any record was
  // appended with a seal. Outlives the journal.
  const KeyResolver* keys = nullptr;
};

struct JournalStats {
  uint64_t segments = 0;
  uint64_t bytes = 0;
  uint64_t commits = 0;
  uint64_t corrupt_frames = 0;        // found at recovery or on read, reported and skipped
  uint64_t truncated_tail_bytes = 0;  // cut off at recovery (a torn write)
};

class Journal {
 public:
  // Opens (creating if empty) and recovers the log in options.dir. Every frame found
  // becomes readable through the ShardLog of its (stream, shard).
  static Result<std::unique_ptr<Journal>> Open(JournalOptions options);
  ~Journal();  // stops the commit thread after the queued appends are done
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // The ShardLog of (stream, shard), created if needed; its counters will start at no
  // less than `counter_floor` (the end of records that retention already removed).
  ShardLog* GetShard(uint64_t stream_id, uint32_t shard_index, uint64_t counter_floor = 0);
  // The counter the next record appended to `shard` will get (records before it may still
  // be on their way to disk).
  uint64_t NextCounter(const ShardLog* shard);
  // Every (stream id) with records in the log.
  std::vector<uint64_t> StreamsInLog() const;

  // Assigns counters and arrival times to op->items (in order; consecutive per shard) and
  // queues them for the next group commit. Never blocks on I/O.
  void Append(std::unique_ptr<AppendOp> op);

  struct ReadResult {
    std::vector<Record> records;
    uint64_t next_counter = 0;  // where the next read continues
    uint64_t bytes = 0;         // of record data
  };
  // Reads durable records of `shard` with counter >= from, stopping before max_records or
  // max_bytes of data would be passed (at least one record is returned if any is there).
  // A frame that fails its checksum is reported and skipped. A sealed frame whose key
  // cannot be used (options.keys says why) fails the read with that error.
  Status Read(const ShardLog* shard, uint64_t from, size_t max_records, size_t max_bytes,
              ReadResult* out);

  // Retention: deletes sealed segments, oldest first, while `expired(stream_id,
  // newest_arrival_ms_of_that_stream_in_segment)` holds for every stream in the segment.
  // Before a segment goes, `on_floor(stream, shard, end_counter)` records how far each
  // shard's counters had come, so they never go back.
  using ExpiredFn = std::function<bool(uint64_t stream_id, int64_t newest_ms)>;
  using FloorFn = std::function<Status(uint64_t stream_id, uint32_t shard, uint64_t end)>;
  Result<int> DeleteExpiredSegments(const ExpiredFn& expired, const FloorFn& on_floor);

  JournalStats Stats() const;

 private:
  struct Segment {
    uint64_t number = 0;
    // Open while the segment is active (and during recovery); null once sealed, when
    // readers go through ReaderFor's cache. Read and reset under segments_mu_ once running.
    std::shared_ptr<File> file;
    // Valid bytes. Atomic: the commit thread writes it while Stats() reads it.
    std::atomic<uint64_t> size{0};
    bool sealed = false;  // set under segments_mu_ once running (SealActive)
    // stream id -> newest arrival in this segment
    std::unordered_map<uint64_t, int64_t> newest_by_stream;
    std::vector<FrameEntry> entries;  // every frame, for the index (cleared once sealed)
    std::vector<std::pair<uint64_t, uint32_t>> shards;  // (stream, shard) with frames here
  };
  struct Pending;

  explicit Journal(JournalOptions options);
  Status Recover();
  Status ScanSegment(Segment* seg, bool is_last);
  Status OpenNewSegment(uint64_t number);
  Status SealActive();
  void AddEntry(Segment* seg, const FrameEntry& e, bool publish);
  void CommitLoop();
  void CompletionLoop();
  Status WriteBatch(std::vector<std::unique_ptr<AppendOp>>& ops);
  std::shared_ptr<Segment> FindSegment(uint64_t number) const;
  // The file to read segment `number` from: the active segment's own, or a sealed one's
  // from the cache (opened, and the least recently read one closed, if need be). Null with
  // *st ok when retention removed the segment; null with an error (EMFILE: Unavailable)
  // when it cannot be opened.
  std::shared_ptr<File> ReaderFor(uint64_t number, Status* st);
  void ForgetReader(uint64_t number);
  ShardLog* GetShardLocked(uint64_t stream_id, uint32_t shard_index);

  const JournalOptions options_;
  FileSystem* const fs_;
  const Clock* const clock_;

  // Shards: created on demand, never destroyed before the Journal.
  mutable std::mutex shards_mu_;
  std::map<std::pair<uint64_t, uint32_t>, std::unique_ptr<ShardLog>> shards_ GUARDED_BY(shards_mu_);

  // Segments: the map is guarded by segments_mu_; the active segment's contents are
  // written only by the commit thread (or Recover, before it starts).
  mutable std::mutex segments_mu_;
  std::map<uint64_t, std::shared_ptr<Segment>> segments_ GUARDED_BY(segments_mu_);
  std::shared_ptr<Segment> active_;  // commit thread only

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<std::unique_ptr<AppendOp>> queue_ GUARDED_BY(queue_mu_);
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  std::thread commit_thread_;

  // Completions of written (or failed) batches, run in order by the completion thread.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::vector<std::pair<std::unique_ptr<AppendOp>, Status>> done_queue_ GUARDED_BY(done_mu_);
  bool done_stopping_ GUARDED_BY(done_mu_) = false;
  std::thread completion_thread_;

  // Open sealed segments, most recently read first. A reader holds its own reference, so
  // an entry closed here stays open until that read ends.
  std::mutex readers_mu_;
  std::list<std::pair<uint64_t, std::shared_ptr<File>>> readers_ GUARDED_BY(readers_mu_);
  size_t max_open_sealed_ = 64;

  mutable std::mutex stats_mu_;
  JournalStats stats_ GUARDED_BY(stats_mu_);
  std::string write_buf_;  // commit thread only
  FrameSealer sealer_;     // commit thread only
};

}  // namespace millrace::log
