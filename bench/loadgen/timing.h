// The load generator's clocks: monotonic nanoseconds for intervals and schedules, wall
// milliseconds for signatures (X-Amz-Date).
#pragma once

#include <time.h>

#include <cstdint>

namespace millrace::bench {

inline constexpr int64_t kSecond = 1000000000;  // in nanoseconds

inline int64_t MonoNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

inline int64_t WallMillis() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace millrace::bench
