// The hashes Millrace needs, from OpenSSL: SHA-256 and HMAC-SHA256 for SigV4, MD5 for
// Kinesis partition keys. All functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace millrace::crypto {

using Digest32 = std::array<uint8_t, 32>;
using Digest16 = std::array<uint8_t, 16>;

Digest32 Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
Digest32 HmacSha256(std::string_view key, std::string_view data);
Digest16 Md5(std::string_view data);
// Fills `n` bytes with cryptographically secure random bytes.
void RandomBytes(void* out, size_t n);
// Constant-time comparison of two equal-length strings (false if lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace millrace::crypto
