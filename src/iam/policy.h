// IAM policies: the JSON policy language AWS documents, parsed once and evaluated per
// request, and the evaluation logic that combines the policies that apply to a request.
//
// A policy is parsed (Policy::Parse) when it is stored, so that a malformed one is refused
// with IAM's MalformedPolicyDocument before it can matter, and again into this compiled
// form whenever the identity directory reloads. Evaluation allocates only to expand policy
// variables and is thread-safe (policies are immutable once parsed).
//
// What is understood (docs/iam.md lists it for users):
//   Version     "2012-10-17" (policy variables) or "2008-10-17" (none: "${" is literal)
//   Statement   an object or an array of them, each with
//     Effect                     Allow | Deny
//     Action | NotAction         "service:Name" with * and ? wildcards, case-insensitive
//     Resource | NotResource     ARNs with * and ? wildcards and ${...} variables
//     Principal | NotPrincipal   (resource and trust policies) "*", or {"AWS": ids}
//                                with account ids, account roots, user, role and
//                                assumed-role ARNs
//     Condition                  {operator: {key: value or [values]}}: String*, Numeric*,
//                                Date*, Bool, IpAddress/NotIpAddress, Arn*, Null, each
//                                with ...IfExists, and ForAnyValue:/ForAllValues: prefixes
// A request's context keys are single-valued here (every key Millrace sets is).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/message.h"

namespace millrace::iam {

// Who is asking, as resource policies match it.
struct PrincipalRef {
  std::string account;  // 12 digits
  // The principal's ARN: arn:aws:iam::A:user/N, arn:aws:iam::A:root, or for a role
  // session arn:aws:sts::A:assumed-role/R/S (role_arn is then arn:aws:iam::A:role/R).
  std::string arn;
  std::string role_arn;
  bool anonymous = false;
};

struct Principal;  // directory.h

// Everything a policy may look at about one request.
struct RequestContext {
  std::string action;    // "s3:GetObject"
  std::string resource;  // "arn:aws:s3:::bucket/key"
  PrincipalRef principal;
  // Condition keys, by lower-case name ("aws:sourceip", "s3:prefix", "sts:externalid").
  // Policy variables (${aws:username}) are looked up here too.
  std::map<std::string, std::string, std::less<>> keys;
  // The global keys (aws:SourceIp, aws:CurrentTime, aws:username, ...) are computed when a
  // policy first asks for one (GlobalKey, directory.cc), from these: most requests are
  // decided by policies that ask for none. Both must outlive the context.
  const Principal* who = nullptr;
  const http::Request* request = nullptr;
  int64_t now_ms = 0;

  const std::string* Key(std::string_view lower_name) const;

 private:
  mutable std::map<std::string, std::string, std::less<>> computed_;
};

// The global condition key `lower_name` of `r` (its `who`, `request` and `now_ms`), if the
// request has it.
bool GlobalKey(const RequestContext& r, std::string_view lower_name, std::string* value);

// Wildcard match: '*' any run (also empty), '?' one character. Case-insensitive when asked.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

enum class Effect { kAllow, kDeny };

class Policy {
 public:
  // Parses `json`. An error is a Status::InvalidArgument whose message is what IAM says in
  // MalformedPolicyDocument ("Policy document should not specify a principal.", ...).
  // `resource_policy`: a bucket, stream or trust policy, whose statements must name a
  // Principal; an identity policy must not.
  static Result<std::shared_ptr<const Policy>> Parse(std::string_view json, bool resource_policy);

  struct Match {
    bool allow = false;  // some Allow statement matched
    bool deny = false;   // some Deny statement matched
    // For a resource policy: whether an allowing statement named the principal itself (or
    // "*"), rather than only its account (which delegates to the account's own policies).
    bool allow_direct = false;
  };
  // Which statements apply to `request`. Principal elements are checked only for a
  // resource policy.
  Match Evaluate(const RequestContext& request) const;

  // Whether some Allow statement names `action` (resources, principals and conditions
  // aside): false means no request for the action can be allowed by this policy.
  bool MayAllowAction(std::string_view action) const;

  const std::string& text() const { return text_; }

  Policy();
  ~Policy();
  struct Statement;

 private:
  // The statements whose Action/NotAction names `action`, in order (a per-thread cache).
  const std::vector<uint16_t>& StatementsFor(std::string_view action) const;

  uint64_t id_ = 0;  // unique per parsed policy, for StatementsFor's cache
  std::string text_;
  bool variables_ = true;
  bool resource_policy_ = false;
  std::vector<Statement> statements_;
};

using PolicyPtr = std::shared_ptr<const Policy>;

// The policies that bear on one request, as AWS combines them
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
// an explicit Deny in any of them wins; otherwise the request is allowed by the identity's
// policies, or (same account only) by a resource policy that names the principal; across
// accounts both sides must allow; a session policy, when there is one, must allow too.
struct PolicySet {
  std::vector<const Policy*> identity;  // the principal's (user or role) policies
  const Policy* session = nullptr;      // an assumed role's session policy, if any
  const Policy* resource = nullptr;     // the bucket, stream or trust policy, if any
  std::string resource_account;         // whose the resource is
  bool identity_allows_all = false;     // an account root, within its own account
  // A role's trust policy: it must allow, whatever the identity's policies say (AWS's rule
  // for sts:AssumeRole; naming only the account still needs the identity's allow).
  bool resource_required = false;
};

enum class Decision { kAllow, kImplicitDeny, kExplicitDeny };
Decision Evaluate(const PolicySet& policies, const RequestContext& request);

}  // namespace millrace::iam
