#include "streams/sequence.h"

#include <cstdio>

namespace millrace::streams {

// Writes v as exactly `width` zero-padded decimal digits ending at `end` (exclusive).
static void PutDigits(char* end, int width, uint64_t v) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

std::string EncodeSequence(uint64_t stream_id, uint32_t shard_index, uint64_t counter) {
  // snprintf would do, but this runs for every record written and read.
  std::string s(kSequenceDigits, '0');
  s[0] = '4';
  s[1] = '9';
  PutDigits(s.data() + 12, 10, shard_index);
  PutDigits(s.data() + 32, 20, counter);
  PutDigits(s.data() + 56, 24, stream_id);
  return s;
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
