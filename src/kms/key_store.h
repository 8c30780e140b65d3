// KeyStore: Millrace's own KMS keys, which encrypt streams at rest (StartStreamEncryption).
//
// A key is 32 random bytes of AES-256 material with an id (a UUID, as KMS's), a state
// (Enabled, Disabled, PendingDeletion) and aliases. Keys are catalog documents ("kms key",
// "kms alias"); the material is sealed under the catalog's secret.key (crypto::Seal, bound
// to the key's id), so catalog.db alone gives no key away. A key scheduled for deletion is
// deleted, material and all, once its date has passed: whatever it sealed is then
// unreadable for good, as with KMS.
//
// `alias/aws/kinesis` names the AWS managed key for Kinesis, made on first use.
//
// Errors are typed (Status::type) for the API that asks: the KMS API's own exceptions
// (NotFoundException, DisabledException, KMSInvalidStateException, ...) from the key
// operations, the Kinesis API's (KMSNotFoundException, KMSDisabledException,
// KMSInvalidStateException) from KeyForStreams and SealKeyFor. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "log/format.h"

namespace millrace::kms {

struct KeyInfo {
  std::string id;           // a UUID
  std::string description;  // up to 8,192 characters
  std::string state;        // Enabled, Disabled, PendingDeletion
  std::string manager;      // CUSTOMER, or AWS (alias/aws/kinesis's key)
  int64_t created_ms = 0;
  int64_t deletion_ms = 0;  // PendingDeletion: when the key goes
};

struct AliasInfo {
  std::string name;  // "alias/..."
  std::string target;
  int64_t created_ms = 0, updated_ms = 0;
};

// ScheduleKeyDeletion's waiting period, in days: 7 to 30, 30 unless asked (as KMS).
inline constexpr int kMinPendingDays = 7, kMaxPendingDays = 30;
inline constexpr char kKinesisManagedAlias[] = "alias/aws/kinesis";
// AWS KMS's default quotas per account and region: 100,000 keys, 50,000 aliases
// (LimitExceededException beyond).
inline constexpr size_t kMaxKeys = 100000, kMaxAliases = 50000;

class KeyStore final : public log::KeyResolver {
 public:
  static Result<std::unique_ptr<KeyStore>> Open(catalog::Catalog* catalog, const Clock* clock,
                                                std::string account_id, std::string region);

  std::string KeyArn(const std::string& id) const;
  std::string AliasArn(const std::string& alias) const;

  // The KMS API (kms/service.h). `ref`: a key id, key ARN, alias name or alias ARN.
  Result<KeyInfo> CreateKey(const std::string& description);
  Result<KeyInfo> Describe(std::string_view ref);
  Result<KeyInfo> SetEnabled(std::string_view ref, bool enabled);
  Result<KeyInfo> ScheduleDeletion(std::string_view ref, int pending_days);
  Result<KeyInfo> CancelDeletion(std::string_view ref);  // the key is Disabled after
  std::vector<KeyInfo> ListKeys();
  Status CreateAlias(const std::string& alias, std::string_view target_ref);
  Status UpdateAlias(const std::string& alias, std::string_view target_ref);
  Status DeleteAlias(const std::string& alias);
  // Every alias, or those of one key (`key_ref` resolved).
  Result<std::vector<AliasInfo>> ListAliases(std::optional<std::string_view> key_ref);

  // StartStreamEncryption's KeyId: the 16-byte id of the key it names, which must be
  // enabled (KMSNotFoundException, KMSDisabledException, KMSInvalidStateException).
  Result<std::string> KeyForStreams(std::string_view ref);
  // log::KeyResolver: the key with this 16-byte id, usable now; for reads and writes of
  // sealed records.
  Result<std::shared_ptr<const log::SealKey>> SealKeyFor(std::string_view id) const override;

  // Deletes the keys whose deletion date has passed (and their aliases). Every KMS call
  // and KeyForStreams does it first; SealKeyFor refuses such a key even before.
  Status Sweep();

 private:
  struct Entry {
    KeyInfo info;
    std::shared_ptr<const log::SealKey> seal;
  };
  KeyStore(catalog::Catalog* catalog, const Clock* clock, std::string account_id,
           std::string region)
      : catalog_(catalog),
        clock_(clock),
        account_(std::move(account_id)),
        region_(std::move(region)) {}
  Status Load();
  Status Persist(const Entry& e);
  Result<Entry*> FindLocked(std::string_view ref, bool make_managed) REQUIRES(mu_);
  Status SweepLocked() REQUIRES(mu_);
  // The customer key `ref` names, unless it is AWS managed or pending deletion (which
  // `change`, "disabled" or "deleted", cannot start from).
  Result<Entry*> ChangeableLocked(std::string_view ref, const char* change) REQUIRES(mu_);
  // Gives `e` the info `changed` and persists it; undone when the catalog refuses.
  Result<KeyInfo> ApplyLocked(Entry& e, const KeyInfo& changed) REQUIRES(mu_);
  Result<KeyInfo> CreateLocked(const std::string& description, const std::string& manager)
      REQUIRES(mu_);
  Status PutAliasLocked(const std::string& alias, std::string_view target_ref, bool create)
      REQUIRES(mu_);

  catalog::Catalog* const catalog_;
  const Clock* const clock_;
  const std::string account_, region_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> keys_ GUARDED_BY(mu_);  // by UUID
  std::map<std::string, AliasInfo> aliases_ GUARDED_BY(mu_);

 public:
  // For tests: smaller limits than kMaxKeys and kMaxAliases.
  void SetLimitsForTest(size_t keys, size_t aliases) {
    max_keys_ = keys;
    max_aliases_ = aliases;
  }

 private:
  size_t max_keys_ = kMaxKeys, max_aliases_ = kMaxAliases;
};

// "1234abcd-12ab-34cd-56ef-1234567890ab" <-> its 16 bytes; nullopt if not a UUID.
std::optional<std::string> UuidBytes(std::string_view uuid);
std::string UuidText(std::string_view bytes);

}  // namespace millrace::kms
