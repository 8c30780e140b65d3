// Shard iterators: opaque tokens naming a position in a shard, valid for 5 minutes.
// Layout before base64 (docs/format/wire.md): u8 version (1), u64 stream id, u32 shard
// index, u64 counter, i64 created (ms), u8[8] truncated HMAC-SHA256 of the bytes before it
// under the server's iterator key, so a token cannot be forged or altered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::streams {

inline constexpr int64_t kIteratorTtlMs = 5 * 60 * 1000;

struct IteratorState {
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  uint64_t counter = 0;  // the next record to return
  int64_t created_ms = 0;
};

std::string EncodeIterator(const IteratorState& s, std::string_view key);
// nullopt if the token is malformed or its MAC does not hold.
std::optional<IteratorState> DecodeIterator(std::string_view token, std::string_view key);

}  // namespace millrace::streams
