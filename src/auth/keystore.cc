#include "auth/keystore.h"

#include "common/crypto.h"
#include "common/logging.h"

namespace millrace::auth {

AccessKey GenerateKey(const std::string& scope, std::vector<std::string> streams) {
  static const char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static const char kSecret[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t raw[18 + 40];
  crypto::RandomBytes(raw, sizeof raw);
  AccessKey k;
  k.access_key_id = "MRKA";
  for (int i = 0; i < 16; ++i) k.access_key_id.push_back(kBase32[raw[i] & 31]);
  for (int i = 0; i < 40; ++i) k.secret.push_back(kSecret[raw[18 + i] & 63]);
  k.scope = scope;
  k.streams = std::move(streams);
  return k;
}

}  // namespace millrace::auth
