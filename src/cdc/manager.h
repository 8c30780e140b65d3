// ChangeStreamManager: runs every change stream: one thread each that captures a
// PostgreSQL database's changes (logical replication, pgoutput) into a Millrace stream.
//
// Exactly once (docs/change-streams.md): every change has a Position (commit LSN and its
// place in the transaction; snapshot rows at the slot's consistent point). Records are
// appended to the stream in position order, and the slot is confirmed to PostgreSQL only
// up to a commit whose records are all durable. After any failure (kill -9, a PostgreSQL
// restart, a lost connection) the capture starts again from the slot's confirmed position:
// PostgreSQL sends again what was not confirmed, and the capture skips every change whose
// position is not past the newest record of this change stream already in that change's
// shard (the log keeps each shard's records in order and loses at most a suffix of them).
//
// Thread-safe. Reload() starts, restarts (on a new version) and stops the captures to
// match the catalog's change-stream documents.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "cdc/spec.h"
#include "common/clock.h"
#include "common/status.h"
#include "streams/manager.h"

namespace millrace::cdc {

class CaptureRunner;

struct SnapshotTableProgress {
  std::string table;
  uint64_t rows_copied = 0;
  int64_t rows_estimated = 0;  // the planner's (pg_class.reltuples); -1 unknown
  bool done = false;
};

struct ChangeStreamStatus {
  std::string name;
  // STARTING, WAITING (its stream is not ACTIVE yet), SNAPSHOTTING, STREAMING, PAUSED,
  // FAILING (the latest attempt failed; retried with backoff).
  std::string state;
  std::string last_error;
  int64_t last_error_at_ms = 0;
  uint64_t consecutive_failures = 0;
  std::string slot, publication;
  uint64_t confirmed_lsn = 0;  // what the slot was last confirmed to
  uint64_t server_lsn = 0;     // the source's end of WAL, as last reported
  int64_t lag_ms = 0;          // how long the oldest change not yet durable has waited
  uint64_t changes = 0;        // records written since the server started
  uint64_t snapshot_rows = 0;  // of them, snapshot rows
  uint64_t skipped = 0;        // changes already in the log, skipped after a restart
  uint64_t transactions = 0;
  double changes_per_second = 0;                // over the last few seconds
  std::vector<SnapshotTableProgress> snapshot;  // of the snapshot taken since the start
  bool snapshot_done = false;
};

class ChangeStreamManager {
 public:
  ChangeStreamManager(catalog::Catalog* catalog, streams::StreamManager* streams,
                      const Clock* clock);
  ~ChangeStreamManager();  // stops every capture
  ChangeStreamManager(const ChangeStreamManager&) = delete;
  ChangeStreamManager& operator=(const ChangeStreamManager&) = delete;

  // Makes the running captures match the catalog.
  Status Reload();
  // Stops the capture of `spec` and drops its slot and publication (those it owns). The
  // caller deletes the document afterwards; on an error it stays (and Reload restarts it).
  Status Drop(const ChangeStreamSpec& spec);

  std::optional<ChangeStreamStatus> StatusOf(const std::string& name);
  // Prometheus text of every change stream.
  std::string Metrics();

 private:
  catalog::Catalog* const catalog_;
  streams::StreamManager* const streams_;
  const Clock* const clock_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<CaptureRunner>> runners_;  // GUARDED_BY(mu_)
};

}  // namespace millrace::cdc
