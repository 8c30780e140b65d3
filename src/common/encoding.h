// Byte encodings: base64 (RFC 4648, standard alphabet, padded), lowercase hex, and
// little-endian fixed-width and varint integers for the on-disk formats.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace millrace {

// Appends the base64 encoding of `in` to `*out`.
void Base64Encode(std::string_view in, std::string* out);
std::string Base64Encode(std::string_view in);
// Decodes standard padded base64 into `*out` (appending). Returns false on any character
// outside the alphabet, bad padding, or a length that is not a multiple of 4.
[[nodiscard]] bool Base64Decode(std::string_view in, std::string* out);
// Whether `in` is standard padded base64 (what Base64Decode accepts), without decoding.
bool Base64Valid(std::string_view in);
// The decoded length of a well-formed base64 string (for validating sizes before decoding).
size_t Base64DecodedLength(std::string_view in);

// At most `max` bytes of `s` (cut at a UTF-8 character boundary) followed by "..." when
// cut: what an error message or a log line may quote of client input.
std::string Abbreviate(std::string_view s, size_t max = 256);

std::string HexEncode(const void* data, size_t n);
inline std::string HexEncode(std::string_view s) { return HexEncode(s.data(), s.size()); }
// The bytes of `hex` (an even count of hex digits, either case); false for anything else.
[[nodiscard]] bool HexDecode(std::string_view hex, std::string* out);

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  std::memcpy(buf, &v, 4);  // the formats are little-endian; so is every supported host
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  dst->append(buf, 8);
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}
// Reads a varint from [*p, limit); advances *p. False if truncated or longer than 10 bytes.
[[nodiscard]] inline bool GetVarint64(const char** p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(**p);
    ++*p;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *v = result;
      return true;
    }
  }
  return false;
}
inline uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ (v >> 63); }
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace millrace
