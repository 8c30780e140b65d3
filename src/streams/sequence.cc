#include "streams/sequence.h"

#include <cstdio>

namespace millrace::streams {

std::string EncodeSequence(uint64_t stream_id, uint32_t shard_index, uint64_t counter) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "49%010u%020llu%024llu", shard_index,
                static_cast<unsigned long long>(counter),
                static_cast<unsigned long long>(stream_id));
  return std::string(buf, kSequenceDigits);
}

static bool ParseDigits(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

std::optional<DecodedSequence> DecodeSequence(std::string_view s) {
  if (s.size() != kSequenceDigits || s.substr(0, 2) != "49") return std::nullopt;
  uint64_t shard, counter, stream;
  if (!ParseDigits(s.substr(2, 10), &shard) || shard > UINT32_MAX ||
      !ParseDigits(s.substr(12, 20), &counter) || !ParseDigits(s.substr(32, 24), &stream))
    return std::nullopt;
  return DecodedSequence{stream, static_cast<uint32_t>(shard), counter};
}

}  // namespace millrace::streams
