#include "auth/keystore.h"

#include "common/crypto.h"
#include "common/logging.h"

namespace millrace::auth {

std::string RandomId(std::string_view prefix, int length) {
  static const char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  uint8_t raw[64];
  crypto::RandomBytes(raw, static_cast<size_t>(length));
  std::string id(prefix);
  for (int i = 0; i < length; ++i) id.push_back(kBase32[raw[i] & 31]);
  return id;
}

std::string RandomSecret() {
  static const char kSecret[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t raw[40];
  crypto::RandomBytes(raw, sizeof raw);
  std::string secret;
  for (uint8_t b : raw) secret.push_back(kSecret[b & 63]);
  return secret;
}

AccessKey GenerateKey(const std::string& scope, std::vector<std::string> streams) {
  AccessKey k;
  k.access_key_id = RandomId("MRKA", 16);
  k.secret = RandomSecret();
  k.scope = scope;
  k.streams = std::move(streams);
  return k;
}

}  // namespace millrace::auth
