#include "common/uint128.h"

#include <algorithm>

#include "common/crypto.h"

namespace millrace {

std::string Uint128ToDecimal(uint128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(s.begin(), s.end());
  return s;
}

std::optional<uint128> ParseUint128Decimal(std::string_view s) {
  if (s.empty() || s.size() > 39) return std::nullopt;
  uint128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    int d = c - '0';
    if (v > (kUint128Max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

uint128 HashKeyOfPartitionKey(std::string_view partition_key) {
  crypto::Digest16 d = crypto::Md5(partition_key);
  uint128 v = 0;
  for (uint8_t b : d) v = (v << 8) | b;
  return v;
}

}  // namespace millrace
