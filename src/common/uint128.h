// 128-bit unsigned integers in decimal, for Kinesis hash keys (0 .. 2^128-1), which the wire
// carries as decimal strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace millrace {

using uint128 = unsigned __int128;

constexpr uint128 kUint128Max = ~static_cast<uint128>(0);

std::string Uint128ToDecimal(uint128 v);
// Parses a decimal string of 1-39 digits; nullopt if empty, non-digit, or above 2^128-1.
std::optional<uint128> ParseUint128Decimal(std::string_view s);
// The hash key of a partition key: its MD5 read as a big-endian 128-bit integer.
uint128 HashKeyOfPartitionKey(std::string_view partition_key);

}  // namespace millrace
