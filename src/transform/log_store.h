// LogStore: the recent lines each transformation printed, kept in memory for the control
// API's GET /api/v1/transformations/{name}/logs.
//
// Per function name, a ring of the newest lines: at most kMaxLines lines and kMaxBytes of
// text; the oldest go first. Lines are stamped with the store's clock when they arrive (a
// LogLine carries no time). Nothing is written to disk: a restart starts empty.
//
// Thread-safe. The sinks it hands out hold a pointer to it: the store must outlive every
// WorkerPool given one of its sinks.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "transform/types.h"

namespace millrace::transform {

struct StoredLogLine {
  int64_t time_ms = 0;  // when the store received it
  LogLine line;
};

class LogStore {
 public:
  static constexpr size_t kMaxLines = 10000;
  static constexpr size_t kMaxBytes = 4u << 20;

  // `clock` must outlive the store; null means the system clock.
  explicit LogStore(const Clock* clock = nullptr);
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // A sink for WorkerPool that files lines under `name` (whatever line.function_name says).
  LogSink SinkFor(const std::string& name);
  void Add(const std::string& name, const LogLine& line);

  // The newest `limit` lines of `name` stamped at or after `since_ms`, oldest first.
  std::vector<StoredLogLine> Read(const std::string& name, int64_t since_ms, size_t limit) const;

  // Forgets the lines of `name` (its transformation was deleted).
  void Drop(const std::string& name);

 private:
  struct Ring {
    std::deque<StoredLogLine> lines;
    size_t bytes = 0;
  };
  const Clock* const clock_;
  mutable std::mutex mu_;
  std::map<std::string, Ring> rings_ GUARDED_BY(mu_);
};

}  // namespace millrace::transform
