#include "loadgen/histogram.h"

#include <algorithm>
#include <cmath>

namespace millrace::bench {

// Buckets [0, 128) hold the values 0..127 exactly. A value v >= 128 with its top bit at
// position msb keeps its top kSubBits+1 bits: shift = msb - kSubBits, top = v >> shift in
// [64, 128), bucket = (shift + 1) * 64 + (top - 64). Consecutive magnitudes are contiguous.
int Histogram::BucketOf(uint64_t v) {
  constexpr uint64_t kSub = 1u << kSubBits;
  if (v < 2 * kSub) return static_cast<int>(v);
  int msb = 63 - __builtin_clzll(v);
  int shift = msb - kSubBits;
  uint64_t top = v >> shift;
  return static_cast<int>((shift + 1) * kSub + (top - kSub));
}

uint64_t Histogram::MiddleOf(int bucket) {
  constexpr int kSub = 1 << kSubBits;
  if (bucket < 2 * kSub) return static_cast<uint64_t>(bucket);
  int shift = bucket / kSub - 1;
  uint64_t top = static_cast<uint64_t>(bucket % kSub + kSub);
  return (top << shift) + ((uint64_t{1} << shift) >> 1);
}

void Histogram::Record(int64_t nanos) {
  uint64_t v = nanos < 0 ? 0 : static_cast<uint64_t>(nanos);
  ++counts_[BucketOf(v)];
  ++count_;
  max_ = std::max<int64_t>(max_, static_cast<int64_t>(v));
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t Histogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min<int64_t>(static_cast<int64_t>(MiddleOf(i)), max_);
  }
  return max_;
}

}  // namespace millrace::bench
