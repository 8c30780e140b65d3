#include "streams/hash_range.h"

namespace millrace::streams {

std::vector<HashRange> SplitEvenly(const HashRange& from, int n) {
  std::vector<HashRange> out;
  if (n < 1) return out;
  // width = (end - start + 1) / n without overflowing when the range is all of 2^128.
  uint128 span_minus_one = from.end - from.start;
  uint128 width = span_minus_one / n;
  if (span_minus_one % n == static_cast<uint128>(n - 1)) width += 1;  // n divides the span
  uint128 start = from.start;
  for (int i = 0; i < n; ++i) {
    HashRange r;
    r.start = start;
    r.end = (i == n - 1) ? from.end : start + width - 1;
    out.push_back(r);
    start = r.end + 1;
  }
  return out;
}

}  // namespace millrace::streams
