// CaptureRunner: the thread that captures one change stream (see manager.h for the
// exactly-once design). Internal to cdc/: ChangeStreamManager owns the runners.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "catalog/catalog.h"
#include "cdc/manager.h"
#include "cdc/spec.h"
#include "common/clock.h"
#include "streams/manager.h"

namespace millrace::cdc {

class CaptureRunner {
 public:
  CaptureRunner(ChangeStreamSpec spec, int64_t version, catalog::Catalog* catalog,
                streams::StreamManager* streams, const Clock* clock);
  ~CaptureRunner();  // stops and joins
  CaptureRunner(const CaptureRunner&) = delete;
  CaptureRunner& operator=(const CaptureRunner&) = delete;

  void Stop();  // asks the thread to stop and waits for it
  int64_t version() const { return version_; }
  const ChangeStreamSpec& spec() const { return spec_; }
  ChangeStreamStatus StatusNow();

 private:
  class Session;
  void Loop();
  void SetState(const std::string& state);
  void NoteError(const Status& st);
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

  const ChangeStreamSpec spec_;
  const int64_t version_;
  catalog::Catalog* const catalog_;
  streams::StreamManager* const streams_;
  const Clock* const clock_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  ChangeStreamStatus status_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace millrace::cdc
