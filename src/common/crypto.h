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
// Authenticated encryption of small secrets at rest (AES-256-GCM, OpenSSL): Seal returns
// "v1:" + base64(12-byte random nonce || ciphertext || 16-byte tag); `aad` is bound to the
// result (Open fails unless given the same aad), so a sealed value cannot be moved to
// another row. `key` must be 32 bytes. Open returns false on a wrong key, aad or a
// tampered or malformed value. IsSealed tells a sealed value from a plain one.
std::string Seal(std::string_view key, std::string_view plaintext, std::string_view aad);
[[nodiscard]] bool Open(std::string_view key, std::string_view sealed, std::string_view aad,
                        std::string* plaintext);
bool IsSealed(std::string_view value);

// Constant-time comparison of two equal-length strings (false if lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace millrace::crypto
