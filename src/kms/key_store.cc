#include "kms/key_store.h"

#include <simdjson.h>

#include <cstdio>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"

namespace millrace::kms {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000LL;

Status KmsError(Code code, const char* type, std::string message) {
  return Status(code, std::move(message)).WithType(type);
}

std::string SealAad(const std::string& id) { return "kms key " + id; }

}  // namespace

std::optional<std::string> UuidBytes(std::string_view uuid) {
  if (uuid.size() != 36 || uuid[8] != '-' || uuid[13] != '-' || uuid[18] != '-' || uuid[23] != '-')
    return std::nullopt;
  std::string hex, out;
  for (char c : uuid)
    if (c != '-') hex.push_back(c);
  if (hex.size() != 32 || !HexDecode(hex, &out)) return std::nullopt;
  return out;
}

std::string UuidText(std::string_view bytes) {
  std::string hex = HexEncode(bytes);
  if (hex.size() != 32) return hex;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<std::unique_ptr<KeyStore>> KeyStore::Open(catalog::Catalog* catalog, const Clock* clock,
                                                 std::string account_id, std::string region) {
  std::unique_ptr<KeyStore> ks(
      new KeyStore(catalog, clock, std::move(account_id), std::move(region)));
  MILLRACE_RETURN_IF_ERROR(ks->Load());
  std::lock_guard<std::mutex> l(ks->mu_);
  MILLRACE_RETURN_IF_ERROR(ks->SweepLocked());
  return ks;
}

std::string KeyStore::KeyArn(const std::string& id) const {
  return "arn:aws:kms:" + region_ + ":" + account_ + ":key/" + id;
}

std::string KeyStore::AliasArn(const std::string& alias) const {
  return "arn:aws:kms:" + region_ + ":" + account_ + ":" + alias;
}

Status KeyStore::Load() {
  auto keys = catalog_->ListDocs(catalog::DocKind::kKmsKey);
  if (!keys.ok()) return keys.status();
  simdjson::dom::parser parser;
  std::lock_guard<std::mutex> l(mu_);
  for (const catalog::DocRow& d : *keys) {
    simdjson::dom::element doc;
    std::string_view sealed;
    auto id_bytes = UuidBytes(d.name);
    std::string material;
    if (!id_bytes || parser.parse(d.spec).get(doc) != simdjson::SUCCESS ||
        doc["material"].get(sealed) != simdjson::SUCCESS ||
        !catalog_->UnsealSecret(sealed, SealAad(d.name), &material) || material.size() != 32)
      return Status::Corruption("kms: key " + d.name +
                                " cannot be read (its document, or secret.key, is not the one "
                                "that wrote it)");
    Entry e;
    e.info.id = d.name;
    std::string_view v;
    if (doc["description"].get(v) == simdjson::SUCCESS) e.info.description = std::string(v);
    if (doc["state"].get(v) == simdjson::SUCCESS) e.info.state = std::string(v);
    if (doc["manager"].get(v) == simdjson::SUCCESS) e.info.manager = std::string(v);
    int64_t n;
    if (doc["created_ms"].get(n) == simdjson::SUCCESS) e.info.created_ms = n;
    if (doc["deletion_ms"].get(n) == simdjson::SUCCESS) e.info.deletion_ms = n;
    e.seal = std::make_shared<log::SealKey>(log::SealKey{*id_bytes, std::move(material)});
    keys_[d.name] = std::move(e);
  }
  auto aliases = catalog_->ListDocs(catalog::DocKind::kKmsAlias);
  if (!aliases.ok()) return aliases.status();
  for (const catalog::DocRow& d : *aliases) {
    simdjson::dom::element doc;
    std::string_view target;
    if (parser.parse(d.spec).get(doc) != simdjson::SUCCESS ||
        doc["target"].get(target) != simdjson::SUCCESS)
      return Status::Corruption("kms: alias " + d.name + " cannot be read");
    aliases_[d.name] = AliasInfo{d.name, std::string(target), d.created_ms, d.updated_ms};
  }
  return Status::Ok();
}

Status KeyStore::Persist(const Entry& e) {
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("description");
  w.String(e.info.description);
  w.Key("state");
  w.String(e.info.state);
  w.Key("manager");
  w.String(e.info.manager);
  w.Key("created_ms");
  w.Int(e.info.created_ms);
  w.Key("deletion_ms");
  w.Int(e.info.deletion_ms);
  w.Key("material");
  w.String(catalog_->SealSecret(e.seal->material, SealAad(e.info.id)));
  w.EndObject();
  return catalog_->PutDoc(catalog::DocKind::kKmsKey, e.info.id, spec, clock_->NowMillis());
}

Status KeyStore::SweepLocked() {
  const int64_t now = clock_->NowMillis();
  for (auto it = keys_.begin(); it != keys_.end();) {
    const KeyInfo& k = it->second.info;
    if (k.state != "PendingDeletion" || now < k.deletion_ms) {
      ++it;
      continue;
    }
    for (auto a = aliases_.begin(); a != aliases_.end();) {
      if (a->second.target != k.id) {
        ++a;
        continue;
      }
      MILLRACE_RETURN_IF_ERROR(catalog_->DeleteDoc(catalog::DocKind::kKmsAlias, a->first));
      a = aliases_.erase(a);
    }
    MILLRACE_RETURN_IF_ERROR(catalog_->DeleteDoc(catalog::DocKind::kKmsKey, k.id));
    LOG(kInfo) << "kms: key " << k.id << " deleted (its deletion date passed); what it sealed "
               << "can no longer be read";
    it = keys_.erase(it);
  }
  return Status::Ok();
}

Status KeyStore::Sweep() {
  std::lock_guard<std::mutex> l(mu_);
  return SweepLocked();
}

Result<KeyInfo> KeyStore::CreateLocked(const std::string& description, const std::string& manager) {
  if (keys_.size() >= max_keys_)
    return KmsError(Code::kResourceExhausted, "LimitExceededException",
                    "This server has " + std::to_string(keys_.size()) +
                        " KMS keys, the most it keeps; schedule the deletion of one first");
  std::string id_bytes(16, '\0');
  crypto::RandomBytes(id_bytes.data(), id_bytes.size());
  id_bytes[6] = static_cast<char>((id_bytes[6] & 0x0f) | 0x40);  // a version 4 UUID
  id_bytes[8] = static_cast<char>((id_bytes[8] & 0x3f) | 0x80);
  std::string material(32, '\0');
  crypto::RandomBytes(material.data(), material.size());
  Entry e;
  e.info.id = UuidText(id_bytes);
  e.info.description = description;
  e.info.state = "Enabled";
  e.info.manager = manager;
  e.info.created_ms = clock_->NowMillis();
  e.seal = std::make_shared<log::SealKey>(log::SealKey{id_bytes, std::move(material)});
  MILLRACE_RETURN_IF_ERROR(Persist(e));
  KeyInfo info = e.info;
  keys_[info.id] = std::move(e);
  return info;
}

Result<KeyInfo> KeyStore::CreateKey(const std::string& description) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  return CreateLocked(description, "CUSTOMER");
}

Result<KeyStore::Entry*> KeyStore::FindLocked(std::string_view ref, bool make_managed) {
  std::string_view rest = ref;
  const std::string arn_head = "arn:aws:kms:" + region_ + ":" + account_ + ":";
  if (rest.starts_with("arn:")) {
    if (!rest.starts_with(arn_head))
      return KmsError(Code::kNotFound, "NotFoundException",
                      "Invalid arn " + std::string(Abbreviate(ref, 256)) +
                          " (not a key of this server's account and region)");
    rest.remove_prefix(arn_head.size());
    if (rest.starts_with("key/")) rest.remove_prefix(4);
  }
  if (rest.starts_with("alias/")) {
    auto a = aliases_.find(std::string(rest));
    if (a == aliases_.end() && make_managed && rest == kKinesisManagedAlias) {
      auto made = CreateLocked(
          "Default key that protects my Kinesis data when no other key is "
          "defined",
          "AWS");
      if (!made.ok()) return made.status();
      MILLRACE_RETURN_IF_ERROR(PutAliasLocked(kKinesisManagedAlias, made->id, true));
      a = aliases_.find(kKinesisManagedAlias);
    }
    if (a == aliases_.end())
      return KmsError(Code::kNotFound, "NotFoundException",
                      "Alias " + AliasArn(std::string(Abbreviate(rest, 256))) + " is not found.");
    rest = a->second.target;
  }
  auto k = keys_.find(std::string(rest));
  if (k == keys_.end())
    return KmsError(Code::kNotFound, "NotFoundException",
                    "Key '" + KeyArn(std::string(Abbreviate(rest, 256))) + "' does not exist");
  return &k->second;
}

Result<KeyInfo> KeyStore::Describe(std::string_view ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  auto e = FindLocked(ref, true);
  if (!e.ok()) return e.status();
  return (*e)->info;
}

Result<KeyStore::Entry*> KeyStore::ChangeableLocked(std::string_view ref, const char* change) {
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  auto found = FindLocked(ref, false);
  if (!found.ok()) return found.status();
  const KeyInfo& k = (*found)->info;
  if (k.manager == "AWS")
    return KmsError(Code::kPermissionDenied, "AccessDeniedException",
                    "Key " + KeyArn(k.id) +
                        " is an AWS managed key (alias/aws/kinesis): it cannot be " + change);
  if (k.state == "PendingDeletion")
    return KmsError(Code::kFailedPrecondition, "KMSInvalidStateException",
                    KeyArn(k.id) + " is pending deletion.");
  return *found;
}

Result<KeyInfo> KeyStore::ApplyLocked(Entry& e, const KeyInfo& changed) {
  const KeyInfo before = e.info;
  e.info = changed;
  if (Status st = Persist(e); !st.ok()) {
    e.info = before;
    return st;
  }
  return e.info;
}

Result<KeyInfo> KeyStore::SetEnabled(std::string_view ref, bool enabled) {
  std::lock_guard<std::mutex> l(mu_);
  auto e = ChangeableLocked(ref, enabled ? "enabled" : "disabled");
  if (!e.ok()) return e.status();
  KeyInfo k = (*e)->info;
  k.state = enabled ? "Enabled" : "Disabled";
  return ApplyLocked(**e, k);
}

Result<KeyInfo> KeyStore::ScheduleDeletion(std::string_view ref, int pending_days) {
  std::lock_guard<std::mutex> l(mu_);
  auto e = ChangeableLocked(ref, "deleted");
  if (!e.ok()) return e.status();
  KeyInfo k = (*e)->info;
  k.state = "PendingDeletion";
  k.deletion_ms = clock_->NowMillis() + pending_days * kDayMs;
  return ApplyLocked(**e, k);
}

Result<KeyInfo> KeyStore::CancelDeletion(std::string_view ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  auto found = FindLocked(ref, false);
  if (!found.ok()) return found.status();
  KeyInfo k = (*found)->info;
  if (k.state != "PendingDeletion")
    return KmsError(Code::kFailedPrecondition, "KMSInvalidStateException",
                    KeyArn(k.id) + " is not pending deletion.");
  k.state = "Disabled";  // as KMS: a key saved from deletion is disabled
  k.deletion_ms = 0;
  return ApplyLocked(**found, k);
}

std::vector<KeyInfo> KeyStore::ListKeys() {
  std::lock_guard<std::mutex> l(mu_);
  if (Status st = SweepLocked(); !st.ok()) LOG(kWarn) << "kms: " << st.ToString();
  std::vector<KeyInfo> out;
  for (const auto& [id, e] : keys_) out.push_back(e.info);
  return out;
}

Status KeyStore::PutAliasLocked(const std::string& alias, std::string_view target_ref,
                                bool create) {
  auto target = FindLocked(target_ref, false);
  if (!target.ok()) return target.status();
  const std::string& id = (*target)->info.id;
  const int64_t now = clock_->NowMillis();
  auto it = aliases_.find(alias);
  if (create && aliases_.size() >= max_aliases_)
    return KmsError(Code::kResourceExhausted, "LimitExceededException",
                    "This server has " + std::to_string(aliases_.size()) +
                        " KMS aliases, the most it keeps; delete one first");
  if (create && it != aliases_.end())
    return KmsError(Code::kAlreadyExists, "AlreadyExistsException",
                    "An alias with the name " + AliasArn(alias) + " already exists");
  if (!create && it == aliases_.end())
    return KmsError(Code::kNotFound, "NotFoundException",
                    "Alias " + AliasArn(alias) + " is not found.");
  AliasInfo a{alias, id, create ? now : it->second.created_ms, now};
  std::string spec = "{\"target\":\"" + id + "\"}";  // a UUID: nothing to escape
  if (create) {
    MILLRACE_RETURN_IF_ERROR(catalog_->CreateDoc(catalog::DocKind::kKmsAlias,
                                                 catalog::DocRow{alias, spec, 1, now, now}));
  } else {
    int64_t version;
    MILLRACE_RETURN_IF_ERROR(
        catalog_->UpdateDoc(catalog::DocKind::kKmsAlias, alias, spec, now, &version));
  }
  aliases_[alias] = a;
  return Status::Ok();
}

Status KeyStore::CreateAlias(const std::string& alias, std::string_view target_ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  return PutAliasLocked(alias, target_ref, true);
}

Status KeyStore::UpdateAlias(const std::string& alias, std::string_view target_ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  return PutAliasLocked(alias, target_ref, false);
}

Status KeyStore::DeleteAlias(const std::string& alias) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  if (aliases_.find(alias) == aliases_.end())
    return KmsError(Code::kNotFound, "NotFoundException",
                    "Alias " + AliasArn(alias) + " is not found.");
  MILLRACE_RETURN_IF_ERROR(catalog_->DeleteDoc(catalog::DocKind::kKmsAlias, alias));
  aliases_.erase(alias);
  return Status::Ok();
}

Result<std::vector<AliasInfo>> KeyStore::ListAliases(std::optional<std::string_view> key_ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  std::string only;
  if (key_ref) {
    auto e = FindLocked(*key_ref, false);
    if (!e.ok()) return e.status();
    only = (*e)->info.id;
  }
  std::vector<AliasInfo> out;
  for (const auto& [name, a] : aliases_)
    if (only.empty() || a.target == only) out.push_back(a);
  return out;
}

namespace {

// Why a key cannot seal or open records now, in the Kinesis API's terms (nullopt: it can).
std::optional<Status> KinesisRefusal(const KeyInfo& k, const std::string& arn, int64_t now) {
  if (k.state == "Enabled") return std::nullopt;
  if (k.state == "Disabled")
    return Status::FailedPrecondition("The KMS key " + arn + " is disabled.")
        .WithType("KMSDisabledException");
  if (now >= k.deletion_ms)
    return Status::NotFound("The KMS key " + arn + " was deleted.")
        .WithType("KMSNotFoundException");
  return Status::FailedPrecondition("The KMS key " + arn + " is pending deletion.")
      .WithType("KMSInvalidStateException");
}

}  // namespace

Result<std::string> KeyStore::KeyForStreams(std::string_view ref) {
  std::lock_guard<std::mutex> l(mu_);
  MILLRACE_RETURN_IF_ERROR(SweepLocked());
  auto e = FindLocked(ref, true);
  if (!e.ok()) {
    // The managed key could not be made (LimitExceededException, Kinesis's name too), or
    // the key is not there.
    if (e.status().code() != Code::kNotFound) return e.status();
    return Status::NotFound(e.status().message()).WithType("KMSNotFoundException");
  }
  if (auto refused = KinesisRefusal((*e)->info, KeyArn((*e)->info.id), clock_->NowMillis()))
    return *refused;
  return (*e)->seal->id;
}

Result<std::shared_ptr<const log::SealKey>> KeyStore::SealKeyFor(std::string_view id) const {
  const std::string text = UuidText(id);
  std::lock_guard<std::mutex> l(mu_);
  auto it = keys_.find(text);
  if (it == keys_.end())
    return Status::NotFound("The KMS key " + KeyArn(text) + " was deleted.")
        .WithType("KMSNotFoundException");
  if (auto refused = KinesisRefusal(it->second.info, KeyArn(text), clock_->NowMillis()))
    return *refused;
  return it->second.seal;
}

}  // namespace millrace::kms
