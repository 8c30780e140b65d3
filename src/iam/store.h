// IamStore: the changes IAM's API makes (accounts, users, access keys, roles, inline and
// managed policies, bucket and stream policies), as catalog documents
// (docs/format/iam.md). Used by the IAM query API and by `millrace share` / `millrace
// accounts`, which write the catalog directly; the directory notices within a second.
//
// Errors are IAM's: the HTTP status, the code (NoSuchEntity, EntityAlreadyExists,
// DeleteConflict, LimitExceeded, MalformedPolicyDocument, ValidationError) and AWS's text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "catalog/catalog.h"

namespace millrace::iam {

struct IamError {
  int status = 400;
  std::string code;
  std::string message;
};

struct InlinePolicy {
  std::string name, document;
};

struct User {
  std::string account, name, path = "/", id;
  int64_t created_ms = 0;
  std::vector<InlinePolicy> policies;
  std::vector<std::string> attached;  // managed policy ARNs
};

struct RoleDoc {
  std::string account, name, path = "/", id, trust, description;
  int64_t created_ms = 0;
  int64_t max_session_s = 3600;
  std::vector<InlinePolicy> policies;
  std::vector<std::string> attached;
};

struct ManagedPolicy {
  std::string account, name, path = "/", id, arn, document, description;
  int64_t created_ms = 0;
  int attachments = 0;  // filled by Get/List
};

struct AccessKeyInfo {
  std::string access_key_id, secret, user;
  int64_t created_ms = 0;
};

class IamStore {
 public:
  IamStore(catalog::Catalog* catalog, std::string operator_account)
      : catalog_(catalog), operator_account_(std::move(operator_account)) {}

  std::optional<IamError> CreateAccount(const std::string& id, const std::string& name);
  bool AccountExists(const std::string& id);
  std::vector<std::pair<std::string, std::string>> ListAccounts();  // (id, name)

  std::variant<User, IamError> CreateUser(const std::string& account, const std::string& name,
                                          const std::string& path);
  std::variant<User, IamError> GetUser(const std::string& account, const std::string& name);
  std::vector<User> ListUsers(const std::string& account);
  std::optional<IamError> DeleteUser(const std::string& account, const std::string& name);

  std::variant<AccessKeyInfo, IamError> CreateAccessKey(const std::string& account,
                                                        const std::string& user);
  std::variant<std::vector<AccessKeyInfo>, IamError> ListAccessKeys(const std::string& account,
                                                                    const std::string& user);
  std::optional<IamError> DeleteAccessKey(const std::string& account, const std::string& user,
                                          const std::string& access_key_id);

  std::variant<RoleDoc, IamError> CreateRole(RoleDoc role);
  std::variant<RoleDoc, IamError> GetRole(const std::string& account, const std::string& name);
  std::vector<RoleDoc> ListRoles(const std::string& account);
  std::optional<IamError> DeleteRole(const std::string& account, const std::string& name);
  std::optional<IamError> UpdateTrust(const std::string& account, const std::string& name,
                                      const std::string& document);

  // Inline policies of a user (role = false) or role.
  std::optional<IamError> PutInline(bool role, const std::string& account, const std::string& owner,
                                    const std::string& policy_name, const std::string& document);
  std::variant<InlinePolicy, IamError> GetInline(bool role, const std::string& account,
                                                 const std::string& owner,
                                                 const std::string& policy_name);
  std::variant<std::vector<std::string>, IamError> ListInline(bool role, const std::string& account,
                                                              const std::string& owner);
  std::optional<IamError> DeleteInline(bool role, const std::string& account,
                                       const std::string& owner, const std::string& policy_name);

  std::variant<ManagedPolicy, IamError> CreatePolicy(ManagedPolicy policy);
  std::variant<ManagedPolicy, IamError> GetPolicy(const std::string& account,
                                                  const std::string& arn);
  std::vector<ManagedPolicy> ListPolicies(const std::string& account);
  std::optional<IamError> DeletePolicy(const std::string& account, const std::string& arn);
  std::optional<IamError> Attach(bool role, bool attach, const std::string& account,
                                 const std::string& owner, const std::string& policy_arn);
  std::variant<std::vector<std::string>, IamError> ListAttached(bool role,
                                                                const std::string& account,
                                                                const std::string& owner);

  // Resource policies: kBucketPolicy by bucket name, kStreamPolicy by stream ARN. Put
  // validates the document (MalformedPolicyDocument); an empty document deletes.
  std::optional<IamError> PutResourcePolicy(catalog::DocKind kind, const std::string& name,
                                            const std::string& document);
  std::optional<std::string> GetResourcePolicy(catalog::DocKind kind, const std::string& name);

 private:
  std::variant<User, IamError> LoadUser(const std::string& account, const std::string& name);
  std::variant<RoleDoc, IamError> LoadRole(const std::string& account, const std::string& name);
  std::optional<IamError> SaveUser(const User& u, bool create);
  std::optional<IamError> SaveRole(const RoleDoc& r, bool create);
  int CountAttachments(const std::string& arn);

  catalog::Catalog* const catalog_;
  const std::string operator_account_;
};

// IAM's message for a missing entity: "The user with name X cannot be found."
IamError NoSuchEntity(std::string message);

}  // namespace millrace::iam
