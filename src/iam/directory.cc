#include "iam/directory.h"

#include <simdjson.h>

#include <cstring>

#include "auth/keystore.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "common/time_format.h"

namespace millrace::iam {

struct Directory::Snapshot {
  std::map<std::string, Found> keys;                              // long-term keys, by id
  std::map<std::string, std::shared_ptr<const Principal>> users;  // by "<account>/<name>"
  std::map<std::string, Role> roles;                              // by "<account>/<name>"
  std::map<std::string, PolicyPtr> bucket_policies;
  std::map<std::string, PolicyPtr> stream_policies;
};

namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  JsonWriter::Quote(s, &out);
  return out;
}

PolicyPtr ParseLogged(std::string_view json, bool resource, const std::string& what) {
  auto p = Policy::Parse(json, resource);
  if (!p.ok()) {
    LOG(kWarn) << "iam: ignoring " << what << ": " << p.status().message();
    return nullptr;
  }
  return *p;
}

// "Policies": [{"Name", "Document"}], "Attached": [arn] of a user or role document.
void ReadPolicies(simdjson::dom::element spec, const std::map<std::string, PolicyPtr>& managed,
                  const std::string& what, std::vector<PolicyPtr>* out) {
  simdjson::dom::array inline_policies;
  if (spec["Policies"].get(inline_policies) == simdjson::SUCCESS) {
    for (simdjson::dom::element p : inline_policies) {
      std::string_view doc;
      if (p["Document"].get(doc) != simdjson::SUCCESS) continue;
      if (auto parsed = ParseLogged(doc, false, what + "'s inline policy")) out->push_back(parsed);
    }
  }
  simdjson::dom::array attached;
  if (spec["Attached"].get(attached) == simdjson::SUCCESS) {
    for (simdjson::dom::element a : attached) {
      std::string_view arn;
      if (a.get(arn) != simdjson::SUCCESS) continue;
      auto it = managed.find(std::string(arn));
      if (it != managed.end()) {
        out->push_back(it->second);
      } else if (auto builtin = BuiltinPolicy(arn)) {
        if (auto parsed = ParseLogged(*builtin, false, std::string(arn))) out->push_back(parsed);
      }
    }
  }
}

std::string_view Str(simdjson::dom::element e, const char* key, std::string_view fallback = {}) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? v : fallback;
}

int64_t Int(simdjson::dom::element e, const char* key, int64_t fallback) {
  int64_t v;
  return e[key].get(v) == simdjson::SUCCESS ? v : fallback;
}

bool NameIs(const std::string& name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if ((name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]) != lower[i]) return false;
  return true;
}

// The request's Authorization and X-Amz-Security-Token headers, in one pass (a header
// whose length differs is passed over without comparing).
void FindAuthHeaders(const http::Request& req, const std::string** authorization,
                     const std::string** token) {
  for (const http::Header& h : req.headers) {
    if (!*authorization && NameIs(h.name, "authorization")) *authorization = &h.value;
    if (!*token && NameIs(h.name, "x-amz-security-token")) *token = &h.value;
  }
}

// The access key id a request names (Authorization's Credential= or X-Amz-Credential),
// and its session token; empty when absent.
std::string CredentialKeyId(const http::Request& req, const std::string* authorization) {
  if (const std::string* a = authorization) {
    size_t at = a->find("Credential=");
    if (at == std::string::npos) return {};
    at += 11;
    size_t end = a->find('/', at);
    return end == std::string::npos ? std::string()
                                    : a->substr(at, std::min<size_t>(end - at, 128));
  }
  auto cred = auth::QueryValue(req.query, "X-Amz-Credential");
  if (!cred) return {};
  size_t end = cred->find('/');
  return end == std::string::npos ? std::string() : cred->substr(0, std::min<size_t>(end, 128));
}

std::optional<std::string> SessionToken(const http::Request& req, const std::string* header) {
  if (header) return *header;
  if (req.query.empty()) return std::nullopt;
  return auth::QueryValue(req.query, "X-Amz-Security-Token");
}

auth::AuthError InvalidToken() {
  return {auth::AuthErrorKind::kInvalidToken,
          "The security token included in the request is invalid."};
}

}  // namespace

bool ValidIamName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("_+=,.@-", c)) return false;
  return true;
}

std::string NewId(std::string_view prefix) { return auth::RandomId(prefix, 17); }

std::string UserArn(const std::string& account, const std::string& path, const std::string& name) {
  return "arn:aws:iam::" + account + ":user" + (path.empty() ? "/" : path) + name;
}
std::string RoleArn(const std::string& account, const std::string& path, const std::string& name) {
  return "arn:aws:iam::" + account + ":role" + (path.empty() ? "/" : path) + name;
}
std::string PolicyArn(const std::string& account, const std::string& path,
                      const std::string& name) {
  return "arn:aws:iam::" + account + ":policy" + (path.empty() ? "/" : path) + name;
}

std::string ScopePolicy(const std::string& scope, const std::vector<std::string>& names,
                        const std::string& account) {
  auto statement = [](std::vector<std::string> actions, std::vector<std::string> resources) {
    std::string s = "{\"Effect\":\"Allow\",\"Action\":[";
    for (size_t i = 0; i < actions.size(); ++i) s += (i ? "," : "") + Quoted(actions[i]);
    s += "],\"Resource\":[";
    for (size_t i = 0; i < resources.size(); ++i) s += (i ? "," : "") + Quoted(resources[i]);
    return s + "]}";
  };
  std::vector<std::string> streams, buckets;
  for (const std::string& n : names) {
    streams.push_back(n == "*" ? "*" : "arn:aws:kinesis:*:" + account + ":stream/" + n);
    buckets.push_back(n == "*" ? "*" : "arn:aws:s3:::" + n);
    if (n != "*") buckets.push_back("arn:aws:s3:::" + n + "/*");
  }
  std::string body;
  const std::vector<std::string> describe = {"kinesis:DescribeStream",
                                             "kinesis:DescribeStreamSummary", "kinesis:ListShards"};
  if (scope == "admin") {
    body = statement({"*"}, {"*"});
  } else if (scope == "producer" || scope == "consumer") {
    std::vector<std::string> actions = describe;
    if (scope == "producer") {
      actions.insert(actions.end(), {"kinesis:PutRecord", "kinesis:PutRecords"});
    } else {
      actions.insert(actions.end(), {"kinesis:GetRecords", "kinesis:GetShardIterator",
                                     "kinesis:SubscribeToShard"});
    }
    body = statement(actions, streams);
  } else if (scope == "bucket-read" || scope == "bucket-write") {
    std::vector<std::string> actions = {"s3:Get*", "s3:List*"};
    if (scope == "bucket-write")
      actions.insert(actions.end(), {"s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"});
    body = statement(actions, buckets);
  } else {
    body = statement({"millrace:None"}, {"arn:aws:millrace:::none"});  // an unknown scope: nothing
  }
  return "{\"Version\":\"2012-10-17\",\"Statement\":[" + body + "]}";
}

std::optional<std::string> BuiltinPolicy(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::aws:policy/";
  if (!arn.starts_with(kPrefix)) return std::nullopt;
  std::string_view name = arn.substr(kPrefix.size());
  auto allow = [](std::string actions) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[" +
           actions + "],\"Resource\":\"*\"}]}";
  };
  if (name == "AdministratorAccess" || name == "MillraceAdmin") return allow("\"*\"");
  if (name == "ReadOnlyAccess")
    return allow(
        "\"s3:Get*\",\"s3:List*\",\"kinesis:Describe*\",\"kinesis:List*\","
        "\"kinesis:Get*\",\"iam:Get*\",\"iam:List*\",\"millrace:Get*\","
        "\"millrace:List*\"");
  if (name == "AmazonS3ReadOnlyAccess" || name == "MillraceBucketRead")
    return allow("\"s3:Get*\",\"s3:List*\"");
  if (name == "AmazonS3FullAccess") return allow("\"s3:*\"");
  if (name == "MillraceBucketWrite")
    return allow(
        "\"s3:Get*\",\"s3:List*\",\"s3:PutObject\",\"s3:DeleteObject\","
        "\"s3:AbortMultipartUpload\"");
  if (name == "AmazonKinesisReadOnlyAccess")
    return allow("\"kinesis:Get*\",\"kinesis:List*\",\"kinesis:Describe*\"");
  if (name == "AmazonKinesisFullAccess") return allow("\"kinesis:*\"");
  if (name == "MillraceProducer")
    return allow(
        "\"kinesis:PutRecord\",\"kinesis:PutRecords\",\"kinesis:DescribeStream\","
        "\"kinesis:DescribeStreamSummary\",\"kinesis:ListShards\"");
  if (name == "MillraceConsumer")
    return allow(
        "\"kinesis:GetRecords\",\"kinesis:GetShardIterator\","
        "\"kinesis:SubscribeToShard\",\"kinesis:DescribeStream\","
        "\"kinesis:DescribeStreamSummary\",\"kinesis:ListShards\"");
  return std::nullopt;
}

namespace {
// Each thread's last snapshot, so that the hot path takes no lock: valid while the
// directory's generation (bumped by every reload and Invalidate) is the one it was taken
// at, for 500 ms. Generations are unique across directories (one global counter).
std::atomic<uint64_t> g_generations{1};
struct ThreadSnapshot {
  uint64_t generation = 0;
  int64_t checked_ns = 0;
  std::shared_ptr<const void> snapshot;
};
thread_local ThreadSnapshot t_snapshot;
}  // namespace

Directory::Directory(catalog::Catalog* catalog, const Clock* clock, DirectoryOptions options)
    : catalog_(catalog),
      clock_(clock),
      options_(std::move(options)),
      generation_(g_generations.fetch_add(1)) {}

void Directory::Invalidate() {
  std::lock_guard<std::mutex> l(mu_);
  stale_ = true;
  generation_.store(g_generations.fetch_add(1), std::memory_order_release);
}

std::shared_ptr<const Directory::Snapshot> Directory::Current(bool force) {
  const int64_t now = clock_->MonotonicNanos();
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (!force && t_snapshot.generation == generation && now - t_snapshot.checked_ns < 500'000'000)
    return std::static_pointer_cast<const Snapshot>(t_snapshot.snapshot);
  uint64_t current_generation = 0;
  auto snap = CurrentLocked(force, now, &current_generation);
  t_snapshot.generation = current_generation;
  t_snapshot.checked_ns = now;
  t_snapshot.snapshot = snap;
  return snap;
}

std::shared_ptr<const Directory::Snapshot> Directory::CurrentLocked(bool force, int64_t now,
                                                                    uint64_t* generation) {
  std::lock_guard<std::mutex> l(mu_);
  std::shared_ptr<const Snapshot> snap = Reload(force, now);
  *generation = generation_.load(std::memory_order_acquire);  // consistent with snap: both
  return snap;                                                // change under mu_ only
}

std::shared_ptr<const Directory::Snapshot> Directory::Reload(bool force, int64_t now) {
  // Forced (an unknown key: perhaps just made by `millrace keys` or `share` in another
  // process) at most every 10 ms, so that a flood of unknown keys costs little.
  const int64_t interval = force ? 10'000'000 : 500'000'000;
  if (snapshot_ && !stale_ && now - last_check_ns_ < interval) return snapshot_;
  last_check_ns_ = now;
  auto version = catalog_->DataVersion();
  if (snapshot_ && !stale_ && version.ok() && *version == data_version_) return snapshot_;
  stale_ = false;
  auto s = std::make_shared<Snapshot>();
  thread_local simdjson::dom::parser parser;
  auto docs = [&](catalog::DocKind kind) {
    auto rows = catalog_->ListDocs(kind);
    if (!rows.ok()) {
      LOG(kError) << "iam: cannot read " << catalog::DocKindName(kind)
                  << " documents: " << rows.status().ToString();
      return std::vector<catalog::DocRow>{};
    }
    return std::move(*rows);
  };
  std::map<std::string, PolicyPtr> managed;  // by ARN
  for (const auto& row : docs(catalog::DocKind::kIamPolicy)) {
    simdjson::dom::element spec;
    if (parser.parse(row.spec).get(spec) != simdjson::SUCCESS) continue;
    if (auto p = ParseLogged(Str(spec, "Document"), false, "policy " + row.name))
      managed[std::string(Str(spec, "Arn"))] = p;
  }
  for (const auto& row : docs(catalog::DocKind::kIamUser)) {
    simdjson::dom::element spec;
    if (parser.parse(row.spec).get(spec) != simdjson::SUCCESS) continue;
    auto p = std::make_shared<Principal>();
    size_t slash = row.name.find('/');
    p->ref.account = row.name.substr(0, slash);
    p->username = row.name.substr(slash + 1);
    p->ref.arn = UserArn(p->ref.account, std::string(Str(spec, "Path", "/")), p->username);
    p->user_id = std::string(Str(spec, "UserId"));
    p->user_key = row.name;
    ReadPolicies(spec, managed, "user " + row.name, &p->policies);
    s->users[row.name] = p;
  }
  for (const auto& row : docs(catalog::DocKind::kIamRole)) {
    simdjson::dom::element spec;
    if (parser.parse(row.spec).get(spec) != simdjson::SUCCESS) continue;
    Role r;
    size_t slash = row.name.find('/');
    r.account = row.name.substr(0, slash);
    r.name = row.name.substr(slash + 1);
    r.path = std::string(Str(spec, "Path", "/"));
    r.id = std::string(Str(spec, "RoleId"));
    r.arn = RoleArn(r.account, r.path, r.name);
    r.description = std::string(Str(spec, "Description"));
    r.created_ms = row.created_ms;
    r.max_session_s = Int(spec, "MaxSessionDuration", 3600);
    r.trust = ParseLogged(Str(spec, "AssumeRolePolicyDocument"), true,
                          "role " + row.name + "'s trust policy");
    ReadPolicies(spec, managed, "role " + row.name, &r.policies);
    s->roles[row.name] = std::move(r);
  }
  for (const auto& row : docs(catalog::DocKind::kBucketPolicy))
    if (auto p = ParseLogged(row.spec, true, "bucket " + row.name + "'s policy"))
      s->bucket_policies[row.name] = p;
  for (const auto& row : docs(catalog::DocKind::kStreamPolicy))
    if (auto p = ParseLogged(row.spec, true, "stream " + row.name + "'s policy"))
      s->stream_policies[row.name] = p;
  auto keys = catalog_->ListKeys();
  if (!keys.ok()) LOG(kError) << "iam: cannot read access keys: " << keys.status().ToString();
  std::map<std::string, PolicyPtr> scope_policies;  // shared by keys of one scope and names
  for (const catalog::KeyRow& k : keys.ok() ? *keys : std::vector<catalog::KeyRow>{}) {
    if (k.revoked_ms) continue;
    auto p = std::make_shared<Principal>();
    if (k.scope == "user") {
      auto it = k.streams.empty() ? s->users.end() : s->users.find(k.streams[0]);
      if (it == s->users.end()) continue;  // the user was deleted
      *p = *it->second;
    } else {
      p->ref.account = options_.account_id;
      p->ref.arn = "arn:aws:iam::" + options_.account_id + ":user/" + k.access_key_id;
      p->user_id = k.access_key_id;
      std::string doc = ScopePolicy(k.scope, k.streams, options_.account_id);
      auto& shared = scope_policies[doc];
      if (!shared) shared = ParseLogged(doc, false, "key " + k.access_key_id);
      if (shared) p->policies.push_back(shared);
    }
    p->access_key_id = k.access_key_id;
    s->keys[k.access_key_id] = Found{k.secret, std::move(p)};
  }
  if (version.ok()) data_version_ = *version;
  snapshot_ = std::move(s);
  generation_.store(g_generations.fetch_add(1), std::memory_order_release);
  return snapshot_;
}

std::optional<Role> Directory::FindRole(const std::string& account, const std::string& name) {
  auto s = Current();
  auto it = s->roles.find(account + "/" + name);
  if (it == s->roles.end()) return std::nullopt;
  return it->second;
}

bool Directory::MayEverAllow(const Principal& p, std::string_view action, bool streams) {
  if (p.session_policy && !p.session_policy->MayAllowAction(action)) return false;
  for (const auto& policy : p.policies)
    if (policy->MayAllowAction(action)) return true;
  if (!streams) return false;
  auto s = Current();
  for (const auto& [arn, policy] : s->stream_policies)
    if (policy->MayAllowAction(action)) return true;
  return false;
}

PolicyPtr Directory::BucketPolicy(const std::string& bucket) {
  auto s = Current();
  auto it = s->bucket_policies.find(bucket);
  return it == s->bucket_policies.end() ? nullptr : it->second;
}

PolicyPtr Directory::StreamPolicy(const std::string& stream_arn) {
  auto s = Current();
  auto it = s->stream_policies.find(stream_arn);
  return it == s->stream_policies.end() ? nullptr : it->second;
}

SessionCredentials Directory::IssueSession(const Principal& principal, const Role* role,
                                           const std::string& session_name, int64_t duration_s,
                                           const std::string& session_policy, int64_t now_ms) {
  SessionCredentials c;
  c.access_key_id = auth::RandomId("ASIA", 16);
  c.secret_access_key = auth::RandomSecret();
  c.expires_ms = now_ms + duration_s * 1000;
  std::string payload;
  JsonWriter w(&payload);
  w.BeginObject();
  w.Key("v");
  w.Int(1);
  w.Key("s");
  w.String(c.secret_access_key);
  if (role) {
    w.Key("role");
    w.String(role->account + "/" + role->name);
    w.Key("n");
    w.String(session_name);
  } else if (!principal.user_key.empty()) {
    w.Key("user");
    w.String(principal.user_key);
  } else {
    w.Key("key");
    w.String(principal.access_key_id);
  }
  w.Key("i");
  w.Int(now_ms);
  w.Key("e");
  w.Int(c.expires_ms);
  if (!session_policy.empty()) {
    w.Key("sp");
    w.String(session_policy);
  }
  w.EndObject();
  c.session_token = catalog_->SealSecret(payload, "sts:" + c.access_key_id);
  return c;
}

std::variant<Directory::Found, auth::AuthError, std::monostate> Directory::Resolve(
    const std::string& id, const std::string* token, int64_t now_ms) {
  auto snap = Current();
  if (!id.starts_with("ASIA")) {
    auto it = snap->keys.find(id);
    if (it == snap->keys.end()) {
      snap = Current(/*force=*/true);
      it = snap->keys.find(id);
    }
    if (it == snap->keys.end()) return std::monostate{};
    // A long-term key with a session token is refused, as AWS refuses it.
    if (token && !token->empty()) return InvalidToken();
    return it->second;
  }
  if (!token || token->empty()) return InvalidToken();
  // Opened on every request (AES-GCM over a few hundred bytes: microseconds), so that
  // nothing about a session is kept in memory.
  std::string payload;
  if (token->size() > 8192 || !catalog_->UnsealSecret(*token, "sts:" + id, &payload))
    return InvalidToken();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(payload).get(doc) != simdjson::SUCCESS) return InvalidToken();
  Found f;
  f.secret = std::string(Str(doc, "s"));
  auto p = std::make_shared<Principal>();
  p->access_key_id = id;
  p->issued_ms = Int(doc, "i", 0);
  p->expires_ms = Int(doc, "e", 0);
  if (p->expires_ms <= now_ms)
    return auth::AuthError{auth::AuthErrorKind::kExpiredToken,
                           "The security token included in the request is expired"};
  if (std::string_view role_key = Str(doc, "role"); !role_key.empty()) {
    auto it = snap->roles.find(std::string(role_key));
    if (it == snap->roles.end()) return InvalidToken();  // the role is gone
    const Role& r = it->second;
    std::string session(Str(doc, "n"));
    p->ref.account = r.account;
    p->ref.arn = "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/" + session;
    p->ref.role_arn = r.arn;
    p->user_id = r.id + ":" + session;
    p->role_key = std::string(role_key);
    p->policies = r.policies;
  } else if (std::string_view user_key = Str(doc, "user"); !user_key.empty()) {
    auto it = snap->users.find(std::string(user_key));
    if (it == snap->users.end()) return InvalidToken();
    Principal copy = *it->second;
    copy.access_key_id = id;
    copy.issued_ms = p->issued_ms;
    copy.expires_ms = p->expires_ms;
    *p = std::move(copy);
  } else {
    auto it = snap->keys.find(std::string(Str(doc, "key")));
    if (it == snap->keys.end()) return InvalidToken();  // the key was revoked
    Principal copy = *it->second.principal;
    copy.access_key_id = id;
    copy.issued_ms = p->issued_ms;
    copy.expires_ms = p->expires_ms;
    *p = std::move(copy);
  }
  if (std::string_view sp = Str(doc, "sp"); !sp.empty())
    p->session_policy = ParseLogged(sp, false, "a session policy");
  f.principal = p;
  return f;
}

// A token's refusal, unless the request is refused earlier in the verifier's order (an
// unsigned x-amz-* header, a malformed scope, a stale time...): those come first, as they
// would for any key.
static auth::AuthError StructuralOr(const http::Request& req, const auth::VerifyOptions& options,
                                    int64_t now, const auth::AuthError& token_error) {
  auth::SecretLookup none = [](std::string_view) { return std::optional<std::string>(); };
  std::optional<auth::AuthError> e = auth::VerifyHead(req, none, now, options);
  if (e && e->kind != auth::AuthErrorKind::kUnrecognizedClient) return *e;
  return token_error;
}

std::variant<Authenticated, auth::AuthError> Directory::Authenticate(
    const http::Request& req, const auth::VerifyOptions& options) {
  const int64_t now = clock_->NowMillis();
  const std::string* authorization = nullptr;
  const std::string* token_header = nullptr;
  FindAuthHeaders(req, &authorization, &token_header);
  std::string id = CredentialKeyId(req, authorization);
  std::optional<std::string> token = SessionToken(req, token_header);
  std::optional<Found> found;
  if (!id.empty()) {
    auto r = Resolve(id, token ? &*token : nullptr, now);
    if (auto* e = std::get_if<auth::AuthError>(&r)) return StructuralOr(req, options, now, *e);
    if (auto* f = std::get_if<Found>(&r)) found = std::move(*f);
  }
  auth::SecretLookup lookup = [&](std::string_view asked) -> std::optional<std::string> {
    if (found && asked == id) return found->secret;
    return std::nullopt;
  };
  auth::VerifyResult vr = auth::Verify(req, lookup, now, options);
  if (!vr.ok()) return vr.error();
  return Authenticated{vr.identity(), found->principal};
}

std::optional<auth::AuthError> Directory::AuthenticateHead(const http::Request& head,
                                                           const auth::VerifyOptions& options) {
  const int64_t now = clock_->NowMillis();
  const std::string* authorization = nullptr;
  const std::string* token_header = nullptr;
  FindAuthHeaders(head, &authorization, &token_header);
  std::string id = CredentialKeyId(head, authorization);
  std::optional<std::string> token = SessionToken(head, token_header);
  std::optional<std::string> secret;
  if (!id.empty()) {
    auto r = Resolve(id, token ? &*token : nullptr, now);
    if (auto* e = std::get_if<auth::AuthError>(&r)) return StructuralOr(head, options, now, *e);
    if (auto* f = std::get_if<Found>(&r)) secret = f->secret;
  }
  auth::SecretLookup lookup = [&](std::string_view asked) -> std::optional<std::string> {
    if (secret && asked == id) return secret;
    return std::nullopt;
  };
  return auth::VerifyHead(head, lookup, now, options);
}

RequestContext Directory::NewContext(const Principal& p, const http::Request& req,
                                     std::string action, std::string resource) const {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.principal = p.ref;
  r.who = &p;
  r.request = &req;
  r.now_ms = clock_->NowMillis();
  return r;
}

bool GlobalKey(const RequestContext& r, std::string_view name, std::string* value) {
  const Principal& p = *r.who;
  if (name == "aws:principalarn") {
    *value = p.ref.role_arn.empty() ? p.ref.arn : p.ref.role_arn;
  } else if (name == "aws:principalaccount") {
    *value = p.ref.account;
  } else if (name == "aws:userid") {
    *value = p.user_id;
  } else if (name == "aws:principaltype") {
    *value = !p.role_key.empty() ? "AssumedRole" : "User";
  } else if (name == "aws:username") {
    if (p.username.empty()) return false;
    *value = p.username;
  } else if (name == "aws:sourceip") {
    if (!r.request) return false;
    std::string_view peer = r.request->remote_address;
    if (peer.starts_with("[")) {
      peer = peer.substr(1, peer.find(']') - 1);
    } else if (size_t colon = peer.rfind(':'); colon != std::string_view::npos) {
      peer = peer.substr(0, colon);
    }
    *value = std::string(peer);
  } else if (name == "aws:currenttime") {
    *value = Iso8601(r.now_ms / 1000, 0);
  } else if (name == "aws:epochtime") {
    *value = std::to_string(r.now_ms / 1000);
  } else if (name == "aws:securetransport") {
    *value = r.request && r.request->tls ? "true" : "false";
  } else if (name == "aws:tokenissuetime") {
    if (!p.temporary()) return false;
    *value = Iso8601(p.issued_ms / 1000, 0);
  } else {
    return false;
  }
  return true;
}

Decision Directory::Authorize(const Principal& p, const RequestContext& request,
                              const Policy* resource_policy, const std::string& resource_account,
                              bool trust) const {
  thread_local PolicySet set;  // reused: no allocation per request
  set.identity.clear();
  for (const auto& policy : p.policies) set.identity.push_back(policy.get());
  set.session = p.session_policy.get();
  set.resource = resource_policy;
  set.resource_account = resource_account;
  set.resource_required = trust;
  return Evaluate(set, request);
}

}  // namespace millrace::iam
