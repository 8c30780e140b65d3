// History: the last hour of each stream's traffic and each consumer's lag, sampled in the
// background, for charts over time (the web console's; GET /api/v1/streams/{name}?
// request_type=get_metrics and GET /api/v1/consumers/{name}/lag). CloudWatch keeps such
// series for AWS's console; we keep one hour in memory (a restart starts them again).
//
// Streams every kStreamIntervalMs (their counters are atomics: a pass over 1,000 streams
// costs microseconds), consumers' lag every kLagIntervalMs (DeliveryManager::Statuses).
// Thread-safe; the destructor stops the sampling thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "delivery/manager.h"
#include "streams/manager.h"

namespace millrace::control {

class History {
 public:
  static constexpr int64_t kStreamIntervalMs = 10'000;
  static constexpr int64_t kLagIntervalMs = 30'000;
  static constexpr int64_t kKeepMs = 3'600'000;

  struct StreamSample {
    int64_t time_ms = 0;  // the end of the interval
    uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0;  // in the interval
  };
  struct LagSample {
    int64_t time_ms = 0;
    uint64_t records_behind = 0;
    int64_t millis_behind = 0;
  };

  // `delivery` may be null (no lag then). `sample`: false starts no thread (tests call the
  // Sample* functions themselves).
  History(streams::StreamManager* streams, delivery::DeliveryManager* delivery, const Clock* clock,
          bool sample = true);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  std::vector<StreamSample> Stream(const std::string& name);
  std::vector<LagSample> Lag(const std::string& consumer);

  // One pass, as the thread makes them.
  void SampleStreams();
  void SampleLag();

 private:
  struct StreamSeries {
    uint64_t last[4] = {};  // cumulative counters at the previous pass
    bool primed = false;
    std::deque<StreamSample> samples;
  };
  void Loop();

  streams::StreamManager* const streams_;
  delivery::DeliveryManager* const delivery_;
  const Clock* const clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, StreamSeries> streams_series_;
  std::map<std::string, std::deque<LagSample>> lag_;
  std::thread thread_;  // started last
};

}  // namespace millrace::control
