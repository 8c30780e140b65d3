#include "streams/iterator.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace millrace::streams {

static constexpr size_t kBodySize = 1 + 8 + 4 + 8 + 8;
static constexpr size_t kMacSize = 8;

std::string EncodeIterator(const IteratorState& s, std::string_view key) {
  std::string raw;
  raw.push_back(1);
  PutFixed64(&raw, s.stream_id);
  PutFixed32(&raw, s.shard_index);
  PutFixed64(&raw, s.counter);
  PutFixed64(&raw, static_cast<uint64_t>(s.created_ms));
  crypto::Digest32 mac = crypto::HmacSha256(key, raw);
  raw.append(reinterpret_cast<const char*>(mac.data()), kMacSize);
  return Base64Encode(raw);
}

std::optional<IteratorState> DecodeIterator(std::string_view token, std::string_view key) {
  std::string raw;
  if (!Base64Decode(token, &raw) || raw.size() != kBodySize + kMacSize || raw[0] != 1)
    return std::nullopt;
  crypto::Digest32 mac = crypto::HmacSha256(key, std::string_view(raw).substr(0, kBodySize));
  if (!crypto::ConstantTimeEquals(
          std::string_view(raw).substr(kBodySize),
          std::string_view(reinterpret_cast<const char*>(mac.data()), kMacSize)))
    return std::nullopt;
  IteratorState s;
  s.stream_id = DecodeFixed64(raw.data() + 1);
  s.shard_index = DecodeFixed32(raw.data() + 9);
  s.counter = DecodeFixed64(raw.data() + 13);
  s.created_ms = static_cast<int64_t>(DecodeFixed64(raw.data() + 21));
  return s;
}

}  // namespace millrace::streams
