// The identity directory: who may sign requests (access keys of users, the scoped keys of
// `millrace keys`, temporary credentials from STS), what each of them is (a principal with
// its policies), and the resource policies of buckets and streams. Every service
// authenticates and authorizes through it, so that one evaluator decides for Kinesis, S3,
// STS, IAM and the control API alike.
//
// The directory reads the catalog (users, roles, managed policies, keys, bucket and stream
// policies) into an immutable snapshot, rebuilt when the catalog's data version changes
// (checked at most every 500 ms, or at once after Invalidate(), and at most every 10 ms
// when a request names a key the snapshot lacks: one `millrace keys` or `millrace share`
// just made works at once). A request holds the
// snapshot's principal by shared_ptr, so a reload never pulls policies from under it.
//
// Temporary credentials need no storage: the session token is the session itself (key
// id, secret, role, session name, expiry and session policy), sealed with AES-256-GCM under
// the catalog's key file and bound to the key id (docs/format/sts-token.md). A token
// cannot be forged or moved to another key id, and a deleted role's sessions stop working
// at once, as their policies are read from the live role.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "auth/sigv4.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "http/message.h"
#include "iam/policy.h"

namespace millrace::iam {

// An identity that signed a request.
struct Principal {
  PrincipalRef ref;      // account, ARN, and for a role session the role's ARN
  std::string user_id;   // AIDA... for a user, AROA...:session for a role session
  std::string username;  // aws:username (users only)
  std::string access_key_id;
  std::vector<PolicyPtr> policies;  // identity policies (inline, attached, or a key's scope)
  PolicyPtr session_policy;         // an assumed role's session policy, if given
  int64_t issued_ms = 0;            // temporary credentials: when issued
  int64_t expires_ms = 0;           // temporary credentials: when they stop working
  std::string role_key;             // a role session: "<account>/<role name>"
  std::string user_key;             // a user (or its session token): "<account>/<user name>"
  bool temporary() const { return expires_ms != 0; }
};

// An IAM role, as the directory holds it.
struct Role {
  std::string account, name, path, id, arn, description;
  int64_t created_ms = 0;
  int64_t max_session_s = 3600;
  PolicyPtr trust;
  std::vector<PolicyPtr> policies;
};

// Temporary credentials, as STS returns them.
struct SessionCredentials {
  std::string access_key_id, secret_access_key, session_token;
  int64_t expires_ms = 0;
};

struct Authenticated {
  auth::VerifiedIdentity id;
  std::shared_ptr<const Principal> principal;
};

// The S3-style and JSON-style names of "operator account" and region, for ARNs.
struct DirectoryOptions {
  std::string account_id = "000000000000";
  std::string region = "us-east-1";
};

class Directory {
 public:
  Directory(catalog::Catalog* catalog, const Clock* clock, DirectoryOptions options);

  // Verifies the request's signature (auth::Verify with `options`) with the secret of the
  // key it names, and finds the principal. Temporary credentials are checked first:
  // a missing, forged, foreign or expired session token is kInvalidToken / kExpiredToken.
  std::variant<Authenticated, auth::AuthError> Authenticate(const http::Request& req,
                                                            const auth::VerifyOptions& options);
  // The checks that need no body (auth::VerifyHead), for a request whose body is to come.
  std::optional<auth::AuthError> AuthenticateHead(const http::Request& head,
                                                  const auth::VerifyOptions& options);

  // A request context for `principal` doing `action` on `resource`, with the global
  // condition keys set: aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount,
  // aws:PrincipalType, aws:SourceIp, aws:CurrentTime, aws:EpochTime, aws:SecureTransport,
  // aws:TokenIssueTime (temporary credentials).
  RequestContext NewContext(const Principal& principal, const http::Request& req,
                            std::string action, std::string resource) const;
  // The context keeps a pointer to the request: a temporary would dangle.
  RequestContext NewContext(const Principal& principal, const http::Request&& req,
                            std::string action, std::string resource) const = delete;

  // Whether `principal` may do what `request` says, given the resource's own policy (if
  // any) and the account that owns the resource.
  // `trust`: the resource policy is a role's trust policy, which must allow.
  Decision Authorize(const Principal& principal, const RequestContext& request,
                     const Policy* resource_policy, const std::string& resource_account,
                     bool trust = false) const;

  // A cheap first check, before a request's body is even validated: false when nothing
  // could allow `principal` the action on any resource of the kind (its policies and
  // session policy name no such action, and no stream policy does: `streams`). A caller
  // without the right then learns nothing from validation, and costs nothing for it.
  bool MayEverAllow(const Principal& principal, std::string_view action, bool streams);

  // Resource policies (null when the resource has none).
  PolicyPtr BucketPolicy(const std::string& bucket);
  PolicyPtr StreamPolicy(const std::string& stream_arn);

  std::optional<Role> FindRole(const std::string& account, const std::string& name);

  // Issues temporary credentials for a session of `role` (already authorized), or of the
  // user `principal` is (GetSessionToken: role null).
  SessionCredentials IssueSession(const Principal& principal, const Role* role,
                                  const std::string& session_name, int64_t duration_s,
                                  const std::string& session_policy, int64_t now_ms);

  // Reload on the next request (after a change made through this process's catalog).
  void Invalidate();

  const DirectoryOptions& options() const { return options_; }

  struct Snapshot;

 private:
  std::shared_ptr<const Snapshot> Current(bool force = false);
  std::shared_ptr<const Snapshot> CurrentLocked(bool force, int64_t now_ns, uint64_t* generation);
  std::shared_ptr<const Snapshot> Reload(bool force, int64_t now_ns) REQUIRES(mu_);
  struct Found {
    std::string secret;
    std::shared_ptr<const Principal> principal;
  };
  std::variant<Found, auth::AuthError, std::monostate> Resolve(const std::string& access_key_id,
                                                               const std::string* token,
                                                               int64_t now_ms);

  catalog::Catalog* const catalog_;
  const Clock* const clock_;
  const DirectoryOptions options_;
  std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu_);
  int64_t data_version_ GUARDED_BY(mu_) = -1;
  int64_t last_check_ns_ GUARDED_BY(mu_) = 0;
  bool stale_ GUARDED_BY(mu_) = true;
  std::atomic<uint64_t> generation_;  // see Current()
};

// Names and ids, as IAM makes them.
bool ValidIamName(std::string_view name, size_t max_length);  // [\w+=,.@-]{1,max}
std::string NewId(std::string_view prefix);                   // "AIDA" + 17 base32 characters
std::string UserArn(const std::string& account, const std::string& path, const std::string& name);
std::string RoleArn(const std::string& account, const std::string& path, const std::string& name);
std::string PolicyArn(const std::string& account, const std::string& path, const std::string& name);

// The identity policy a scoped key of `millrace keys` stands for (admin, producer,
// consumer, bucket-read, bucket-write, each over its streams or buckets); also the
// built-in managed policies arn:aws:iam::aws:policy/Millrace<Scope> (names "*").
std::string ScopePolicy(const std::string& scope, const std::vector<std::string>& names,
                        const std::string& account);
// The documents of AWS-named managed policies Millrace knows
// (arn:aws:iam::aws:policy/AdministratorAccess, ReadOnlyAccess, AmazonS3ReadOnlyAccess, ...),
// or nullopt.
std::optional<std::string> BuiltinPolicy(std::string_view arn);

}  // namespace millrace::iam
