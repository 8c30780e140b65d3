// Hash key ranges: a shard owns [start, end] of the 128-bit hash key space. A stream of n
// shards divides 2^128 evenly as AWS does: shard i starts at i * floor(2^128 / n), each
// ends one below the next start, and the last ends at 2^128 - 1.
#pragma once

#include <vector>

#include "common/uint128.h"

namespace millrace::streams {

struct HashRange {
  uint128 start = 0;
  uint128 end = kUint128Max;
  bool Contains(uint128 key) const { return key >= start && key <= end; }
};

// Splits [from.start, from.end] into n even parts, the last taking the remainder.
std::vector<HashRange> SplitEvenly(const HashRange& from, int n);
// The whole key space split into n parts (n >= 1).
inline std::vector<HashRange> EvenRanges(int n) { return SplitEvenly(HashRange{}, n); }

}  // namespace millrace::streams
