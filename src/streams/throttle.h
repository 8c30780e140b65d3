// TokenBucket: a rate limit that allows bursts of one second's worth. Consume() may take
// the bucket below zero (a large read is allowed, then later calls wait until it refills),
// which is how Kinesis lets one GetRecords return up to 10 MiB and then throttles the shard.
// Not thread-safe: callers hold the lock of the shard that owns it.
#pragma once

#include <algorithm>
#include <cstdint>

namespace millrace::streams {

class TokenBucket {
 public:
  TokenBucket() = default;
  explicit TokenBucket(double rate_per_second) : rate_(rate_per_second), tokens_(rate_per_second) {}

  // True if `amount` fits now (and takes it); false leaves the bucket unchanged.
  bool TryConsume(double amount, int64_t now_ns) {
    Refill(now_ns);
    if (tokens_ < amount) return false;
    tokens_ -= amount;
    return true;
  }
  // Like TryConsume, but a bucket that is full also takes an amount larger than it holds,
  // going into debt: a shard's write limit admits one record of up to its burst (Kinesis
  // takes a 1 MiB record, partition key included, on an idle 1 MiB/s shard, and records
  // above 1 MiB since UpdateMaxRecordSize), then refuses until it has refilled.
  bool TryConsumeBurst(double amount, int64_t now_ns) {
    Refill(now_ns);
    if (tokens_ < amount && tokens_ < rate_) return false;
    tokens_ -= amount;
    return true;
  }
  // True if `amount` would fit now (TryConsume would succeed); the bucket is unchanged.
  bool Fits(double amount, int64_t now_ns) {
    Refill(now_ns);
    return tokens_ >= amount;
  }
  // True if the bucket is not in debt.
  bool Available(int64_t now_ns) {
    Refill(now_ns);
    return tokens_ > 0;
  }
  // Takes `amount` whatever the balance.
  void Consume(double amount, int64_t now_ns) {
    Refill(now_ns);
    tokens_ -= amount;
  }

 private:
  void Refill(int64_t now_ns) {
    if (last_ns_ != 0 && now_ns > last_ns_)
      tokens_ = std::min(rate_, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) / 1e9);
    last_ns_ = now_ns;
  }

  double rate_ = 0;
  double tokens_ = 0;
  int64_t last_ns_ = 0;
};

}  // namespace millrace::streams
