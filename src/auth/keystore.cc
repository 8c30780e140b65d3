#include "auth/keystore.h"

#include "common/crypto.h"
#include "common/logging.h"

namespace millrace::auth {

void KeyStore::RefreshLocked() {
  auto version = catalog_->DataVersion();
  if (loaded_ && version.ok() && *version == data_version_) return;
  auto rows = catalog_->ListKeys();
  if (!rows.ok()) {
    LOG(kError) << "auth: could not read access keys: " << rows.status().ToString();
    return;
  }
  keys_.clear();
  for (const catalog::KeyRow& r : *rows) {
    if (r.revoked_ms) continue;
    keys_[r.access_key_id] = AccessKey{r.access_key_id, r.secret, r.scope, r.streams};
  }
  data_version_ = version.ok() ? *version : -1;
  loaded_ = true;
}

std::optional<AccessKey> KeyStore::Find(const std::string& access_key_id) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t now = clock_->MonotonicNanos();
  if (!loaded_ || now - last_check_ns_ > 500'000'000) {
    last_check_ns_ = now;
    RefreshLocked();
  }
  auto it = keys_.find(access_key_id);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

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

SecretLookup KeyStore::Lookup(std::optional<AccessKey>* found) {
  return [this, found](std::string_view id) -> std::optional<std::string> {
    std::optional<AccessKey> key = Find(std::string(id));
    std::optional<std::string> secret;
    if (key) secret = key->secret;
    if (found) *found = std::move(key);
    return secret;
  };
}

}  // namespace millrace::auth
