// KeyStore: the access keys the server accepts, read from the catalog and cached.
//
// Keys created or revoked by another process (`millrace keys ...` while the server runs)
// are noticed within about a second: a lookup re-reads the catalog when its data version
// has changed, checked at most every 500 ms. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/sigv4.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/thread_annotations.h"

namespace millrace::auth {

struct AccessKey {
  std::string access_key_id;
  std::string secret;
  std::string scope;  // admin, producer, consumer
  std::vector<std::string> streams;
};

class KeyStore {
 public:
  KeyStore(catalog::Catalog* catalog, const Clock* clock) : catalog_(catalog), clock_(clock) {}

  // The active (not revoked) key with this id.
  std::optional<AccessKey> Find(const std::string& access_key_id);

  // The verifier's secret look-up over this store; the key found, if any, is left in
  // *found (which must outlive the returned function's use).
  SecretLookup Lookup(std::optional<AccessKey>* found = nullptr);

 private:
  void RefreshLocked() REQUIRES(mu_);

  catalog::Catalog* const catalog_;
  const Clock* const clock_;
  std::mutex mu_;
  std::map<std::string, AccessKey> keys_ GUARDED_BY(mu_);
  int64_t data_version_ GUARDED_BY(mu_) = -1;
  int64_t last_check_ns_ GUARDED_BY(mu_) = 0;
  bool loaded_ GUARDED_BY(mu_) = false;
};

// Generates a new key id ("MR" + 18 upper-case base32 characters, like AWS's AKIA...) and
// a 40-character secret.
AccessKey GenerateKey(const std::string& scope, std::vector<std::string> streams);

}  // namespace millrace::auth
