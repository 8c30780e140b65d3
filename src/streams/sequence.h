// Sequence numbers: 56-digit decimal strings, shaped like AWS's, strictly increasing within
// a shard so clients that compare them as big integers keep working. Layout (documented in
// docs/format/wire.md):
//
//   "49" | shard index, 10 digits | record counter, 20 digits | stream id, 24 digits
//
// The counter is the record's position in its shard's log; it dominates the comparison
// within a shard, and the shard index makes numbers of different shards distinct.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace millrace::streams {

inline constexpr size_t kSequenceDigits = 56;

std::string EncodeSequence(uint64_t stream_id, uint32_t shard_index, uint64_t counter);
// Appends the same 56 digits to `out` (the hot path: every record written and read).
void AppendSequence(std::string* out, uint64_t stream_id, uint32_t shard_index, uint64_t counter);

struct DecodedSequence {
  uint64_t stream_id = 0;
  uint32_t shard_index = 0;
  uint64_t counter = 0;
};
// Decodes a sequence number made by EncodeSequence; nullopt for anything else.
std::optional<DecodedSequence> DecodeSequence(std::string_view s);

}  // namespace millrace::streams
