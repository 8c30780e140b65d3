#include "streams/sequence.h"

#include <cstdio>

namespace millrace::streams {

namespace {

constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes v as exactly `width` (even) zero-padded decimal digits ending at `end`.
void PutDigits(char* end, int width, uint64_t v) {
  for (int i = 0; i < width; i += 2) {
    const char* pair = kPairs + 2 * (v % 100);
    *--end = pair[1];
    *--end = pair[0];
    v /= 100;
  }
}

}  // namespace

void AppendSequence(std::string* out, uint64_t stream_id, uint32_t shard_index, uint64_t counter) {
  size_t at = out->size();
  out->resize(at + kSequenceDigits);
  char* p = out->data() + at;
  p[0] = '4';
  p[1] = '9';
  PutDigits(p + 12, 10, shard_index);
  PutDigits(p + 32, 20, counter);
  PutDigits(p + 56, 24, stream_id);
}

std::string EncodeSequence(uint64_t stream_id, uint32_t shard_index, uint64_t counter) {
  std::string s;
  s.reserve(kSequenceDigits);
  AppendSequence(&s, stream_id, shard_index, counter);
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
