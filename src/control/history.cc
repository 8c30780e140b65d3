#include "control/history.h"

#include <chrono>
#include <set>

#include "streams/stream.h"

namespace millrace::control {

History::History(streams::StreamManager* streams, delivery::DeliveryManager* delivery,
                 const Clock* clock, bool sample)
    : streams_(streams), delivery_(delivery), clock_(clock) {
  if (sample) thread_ = std::thread([this] { Loop(); });
}

History::~History() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void History::Loop() {
  int64_t next_lag = 0;
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    l.unlock();
    SampleStreams();
    const int64_t now = clock_->NowMillis();
    if (now >= next_lag) {
      SampleLag();
      next_lag = now + kLagIntervalMs;
    }
    l.lock();
    cv_.wait_for(l, std::chrono::milliseconds(kStreamIntervalMs), [this] { return stopping_; });
  }
}

void History::SampleStreams() {
  const int64_t now = clock_->NowMillis();
  std::vector<std::shared_ptr<streams::Stream>> all = streams_->List();
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> seen;
  for (const auto& s : all) {
    seen.insert(s->name);
    StreamSeries& series = streams_series_[s->name];
    const uint64_t cur[4] = {s->records_in.load(std::memory_order_relaxed),
                             s->bytes_in.load(std::memory_order_relaxed),
                             s->records_out.load(std::memory_order_relaxed),
                             s->bytes_out.load(std::memory_order_relaxed)};
    if (series.primed) {
      // A counter that went down is a stream deleted and made again: count from zero.
      auto delta = [&](int i) {
        return cur[i] >= series.last[i] ? cur[i] - series.last[i] : cur[i];
      };
      series.samples.push_back({now, delta(0), delta(1), delta(2), delta(3)});
      while (!series.samples.empty() && series.samples.front().time_ms < now - kKeepMs)
        series.samples.pop_front();
    }
    std::copy(std::begin(cur), std::end(cur), series.last);
    series.primed = true;
  }
  for (auto it = streams_series_.begin(); it != streams_series_.end();)
    it = seen.count(it->first) ? std::next(it) : streams_series_.erase(it);
}

void History::SampleLag() {
  if (delivery_ == nullptr) return;
  const int64_t now = clock_->NowMillis();
  std::vector<delivery::ConsumerStatus> statuses = delivery_->Statuses();
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> seen;
  for (const delivery::ConsumerStatus& s : statuses) {
    seen.insert(s.name);
    auto& samples = lag_[s.name];
    samples.push_back({now, s.records_behind, s.millis_behind});
    while (!samples.empty() && samples.front().time_ms < now - kKeepMs) samples.pop_front();
  }
  for (auto it = lag_.begin(); it != lag_.end();)
    it = seen.count(it->first) ? std::next(it) : lag_.erase(it);
}

std::vector<History::StreamSample> History::Stream(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = streams_series_.find(name);
  if (it == streams_series_.end()) return {};
  return {it->second.samples.begin(), it->second.samples.end()};
}

std::vector<History::LagSample> History::Lag(const std::string& consumer) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = lag_.find(consumer);
  if (it == lag_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

}  // namespace millrace::control
