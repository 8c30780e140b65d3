#include "iam/query_service.h"

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>

#include "auth/sigv4.h"
#include "common/logging.h"
#include "common/request_id.h"
#include "common/time_format.h"
#include "common/xml_writer.h"

namespace millrace::iam {
namespace {

constexpr std::string_view kStsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr std::string_view kIamXmlns = "https://iam.amazonaws.com/doc/2010-05-08/";
constexpr size_t kMaxQueued = 256;

std::string RequestId() { return NewRequestId(); }

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
std::string FormDecode(std::string_view s) {
  std::string plus(s);
  for (char& c : plus)
    if (c == '+') c = ' ';
  return auth::UriDecode(plus);
}

std::map<std::string, std::string> ParseParams(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    size_t eq = pair.find('=');
    std::string name = FormDecode(pair.substr(0, eq));
    if (!name.empty() && !name.starts_with("X-Amz-"))
      out[name] = eq == std::string_view::npos ? "" : FormDecode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return out;
}

std::string ServiceOf(const http::Request& req) {
  std::string_view cred;
  if (const std::string* a = req.FindHeader("authorization")) {
    cred = *a;
  } else {
    cred = req.query;
  }
  if (cred.find("/sts/aws4_request") != std::string_view::npos ||
      cred.find("%2Fsts%2Faws4_request") != std::string_view::npos)
    return "sts";
  if (cred.find("/iam/aws4_request") != std::string_view::npos ||
      cred.find("%2Fiam%2Faws4_request") != std::string_view::npos)
    return "iam";
  return "";
}

struct Call {
  const http::Request& req;
  std::map<std::string, std::string> params;
  std::string service;  // "sts" or "iam"
  std::string action;
  std::string request_id;
  std::shared_ptr<const Principal> principal;
  std::string account;  // the caller's: where IAM actions act

  const std::string* Param(const char* name) const {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  }
  std::string ParamOr(const char* name, std::string fallback) const {
    const std::string* v = Param(name);
    return v ? *v : fallback;
  }
};

http::Response ErrorResponse(std::string_view xmlns, int status, std::string_view code,
                             std::string_view message, const std::string& request_id) {
  XmlWriter x("ErrorResponse", xmlns);
  x.Open("Error");
  x.Element("Type", status >= 500 ? "Receiver" : "Sender");
  x.Element("Code", code);
  x.Element("Message", message);
  x.Close("Error");
  x.Element("RequestId", request_id);
  http::Response r;
  r.status = status;
  r.body = x.Finish();
  r.SetHeader("Content-Type", "text/xml");
  r.SetHeader("x-amzn-RequestId", request_id);
  return r;
}

http::Response AuthErrorResponse(std::string_view xmlns, const auth::AuthError& e,
                                 const std::string& request_id) {
  switch (e.kind) {
    case auth::AuthErrorKind::kMissingAuthenticationToken:
      return ErrorResponse(xmlns, 403, "MissingAuthenticationToken",
                           "Request is missing Authentication Token", request_id);
    case auth::AuthErrorKind::kIncompleteSignature:
      return ErrorResponse(xmlns, 400, "IncompleteSignature", e.message, request_id);
    case auth::AuthErrorKind::kUnrecognizedClient:
    case auth::AuthErrorKind::kInvalidToken:
      return ErrorResponse(xmlns, 403, "InvalidClientTokenId",
                           "The security token included in the request is invalid.", request_id);
    case auth::AuthErrorKind::kExpiredToken:
      return ErrorResponse(xmlns, 400, "ExpiredToken", e.message, request_id);
    case auth::AuthErrorKind::kInvalidSignature:
      return ErrorResponse(xmlns, 403, "SignatureDoesNotMatch", e.message, request_id);
    case auth::AuthErrorKind::kRequestExpired:
      return ErrorResponse(xmlns, 403, "RequestExpired", e.message, request_id);
    case auth::AuthErrorKind::kContentSha256Mismatch:
      return ErrorResponse(xmlns, 400, "InvalidRequest", e.message, request_id);
  }
  return ErrorResponse(xmlns, 403, "AccessDenied", e.message, request_id);
}

std::string IsoSeconds(int64_t ms) { return Iso8601(ms / 1000, 0); }

// An answer: <{Action}Response><{Action}Result>...</><ResponseMetadata/></>.
class Answer {
 public:
  Answer(const Call& call)  // NOLINT: implicit
      : call_(call), x_(call.action + "Response", call.service == "sts" ? kStsXmlns : kIamXmlns) {
    x_.Open(call.action + "Result");
  }
  XmlWriter& x() { return x_; }
  http::Response Finish(bool has_result = true) {
    if (has_result) x_.Close(call_.action + "Result");
    x_.Open("ResponseMetadata");
    x_.Element("RequestId", call_.request_id);
    x_.Close("ResponseMetadata");
    http::Response r;
    r.body = x_.Finish();
    r.SetHeader("Content-Type", "text/xml");
    r.SetHeader("x-amzn-RequestId", call_.request_id);
    return r;
  }

 private:
  const Call& call_;
  XmlWriter x_;
};

// An answer with no result element (DeleteUser, PutUserPolicy, ...).
http::Response Empty(const Call& call) {
  XmlWriter x(call.action + "Response", kIamXmlns);
  x.Open("ResponseMetadata");
  x.Element("RequestId", call.request_id);
  x.Close("ResponseMetadata");
  http::Response r;
  r.body = x.Finish();
  r.SetHeader("Content-Type", "text/xml");
  r.SetHeader("x-amzn-RequestId", call.request_id);
  return r;
}

http::Response IamFailure(const Call& call, const IamError& e) {
  return ErrorResponse(call.service == "sts" ? kStsXmlns : kIamXmlns, e.status, e.code, e.message,
                       call.request_id);
}

std::optional<IamError> Required(const Call& call, const char* param, const char* field) {
  if (call.Param(param)) return std::nullopt;
  return IamError{400, "ValidationError",
                  std::string("1 validation error detected: Value null at '") + field +
                      "' failed to satisfy constraint: Member must not be null"};
}

void WriteUser(XmlWriter& x, const User& u) {
  x.Element("Path", u.path);
  x.Element("UserName", u.name);
  x.Element("UserId", u.id);
  x.Element("Arn", UserArn(u.account, u.path, u.name));
  x.Element("CreateDate", IsoSeconds(u.created_ms));
}

// Policy documents are answered URL-encoded, as IAM does (boto3 and the CLI decode them).
std::string EncodedDocument(const std::string& doc) { return auth::UriEncode(doc, false); }

void WriteRole(XmlWriter& x, const RoleDoc& r) {
  x.Element("Path", r.path);
  x.Element("RoleName", r.name);
  x.Element("RoleId", r.id);
  x.Element("Arn", RoleArn(r.account, r.path, r.name));
  x.Element("CreateDate", IsoSeconds(r.created_ms));
  x.Element("AssumeRolePolicyDocument", EncodedDocument(r.trust));
  if (!r.description.empty()) x.Element("Description", r.description);
  x.Element("MaxSessionDuration", std::to_string(r.max_session_s));
}

void WritePolicy(XmlWriter& x, const ManagedPolicy& p) {
  x.Element("PolicyName", p.name);
  x.Element("PolicyId", p.id);
  x.Element("Arn", p.arn);
  x.Element("Path", p.path);
  x.Element("DefaultVersionId", "v1");
  x.Element("AttachmentCount", std::to_string(p.attachments));
  x.Element("IsAttachable", "true");
  if (!p.description.empty()) x.Element("Description", p.description);
  x.Element("CreateDate", IsoSeconds(p.created_ms));
  x.Element("UpdateDate", IsoSeconds(p.created_ms));
}

// An answer of one element (<User>...</User>) or of a list (<Users><member>...), the
// shapes of IAM's Get*/Create* and List* answers.
template <typename T, typename W>
http::Response One(const Call& c, const char* element, const T& item, W write) {
  Answer a(c);
  a.x().Open(element);
  write(a.x(), item);
  a.x().Close(element);
  return a.Finish();
}

template <typename T, typename W>
http::Response Many(const Call& c, const char* element, const std::vector<T>& items, W write) {
  Answer a(c);
  a.x().Open(element);
  for (const T& item : items) {
    a.x().Open("member");
    write(a.x(), item);
    a.x().Close("member");
  }
  a.x().Close(element);
  a.x().Element("IsTruncated", "false");
  return a.Finish();
}

void WriteCredentials(XmlWriter& x, const SessionCredentials& creds) {
  x.Open("Credentials");
  x.Element("AccessKeyId", creds.access_key_id);
  x.Element("SecretAccessKey", creds.secret_access_key);
  x.Element("SessionToken", creds.session_token);
  x.Element("Expiration", IsoSeconds(creds.expires_ms));
  x.Close("Credentials");
}

}  // namespace

QueryService::QueryService(Directory* directory, IamStore* store, const Clock* clock, bool auth)
    : directory_(directory), store_(store), clock_(clock), auth_(auth) {
  queue_ = std::make_unique<http::WorkQueue>(
      /*workers=*/2, kMaxQueued, [this](const http::Request& req) { return Serve(req); },
      [](bool stopping) {
        return ErrorResponse(kStsXmlns, 503, stopping ? "ServiceUnavailable" : "Throttling",
                             stopping ? "the server is stopping" : "Rate exceeded", RequestId());
      });
}

QueryService::~QueryService() { queue_.reset(); }

bool QueryService::Handles(const http::Request& req) {
  if (req.FindHeader("x-amz-target")) return false;
  if (!ServiceOf(req).empty()) return true;
  std::string_view ct = req.HeaderOr("content-type", "");
  return req.method == "POST" && req.path == "/" &&
         ct.starts_with("application/x-www-form-urlencoded");
}

std::optional<http::Response> QueryService::CheckHead(const http::Request& head) {
  if (!auth_) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = ServiceOf(head);
  if (vo.service.empty()) vo.service = "sts";
  if (auto e = directory_->AuthenticateHead(head, vo))
    return AuthErrorResponse(vo.service == "iam" ? kIamXmlns : kStsXmlns, *e, RequestId());
  return std::nullopt;
}

void QueryService::Handle(http::Request&& request, http::Responder responder) {
  queue_->Submit(std::move(request), std::move(responder));
}

namespace {

using Handler = std::function<http::Response(Call&, Directory*, IamStore*, int64_t now_ms)>;

// "arn:aws:iam::A:role/path/Name" -> (A, Name).
std::optional<std::pair<std::string, std::string>> ParseRoleArn(const std::string& arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (!arn.starts_with(kPrefix) || arn.size() < kPrefix.size() + 12 + 6) return std::nullopt;
  std::string account = arn.substr(kPrefix.size(), 12);
  if (account.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(arn).substr(kPrefix.size() + 12);
  if (!rest.starts_with(":role/")) return std::nullopt;
  std::string name(rest.substr(rest.rfind('/') + 1));
  if (!ValidIamName(name, 64)) return std::nullopt;
  return std::make_pair(account, name);
}

bool ValidExternalId(const std::string& s) {
  if (s.size() < 2 || s.size() > 1224) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("_+=,.@:/-", c)) return false;
  return true;
}

http::Response AssumeRole(Call& c, Directory* dir, IamStore*, int64_t now) {
  for (auto [p, f] : {std::pair{"RoleArn", "roleArn"}, {"RoleSessionName", "roleSessionName"}})
    if (auto e = Required(c, p, f)) return IamFailure(c, *e);
  const std::string& role_arn = *c.Param("RoleArn");
  const std::string& session = *c.Param("RoleSessionName");
  if (role_arn.size() < 20 || role_arn.size() > 2048)
    return IamFailure(c, {400, "ValidationError",
                          "1 validation error detected: Value at 'roleArn' failed to satisfy "
                          "constraint: Member must have length between 20 and 2048"});
  if (session.size() < 2 || !ValidIamName(session, 64))
    return IamFailure(c, {400, "ValidationError",
                          "1 validation error detected: Value '" + session.substr(0, 64) +
                              "' at 'roleSessionName' failed to satisfy constraint: Member must "
                              "satisfy regular expression pattern: [\\w+=,.@-]*"});
  const std::string* external_id = c.Param("ExternalId");
  if (external_id && !ValidExternalId(*external_id))
    return IamFailure(c, {400, "ValidationError",
                          "1 validation error detected: Value at 'externalId' failed to satisfy "
                          "constraint: Member must satisfy regular expression pattern: "
                          "[\\w+=,.@:\\/-]* and have length between 2 and 1224"});
  int64_t duration = 3600;
  if (const std::string* d = c.Param("DurationSeconds")) {
    char* end;
    duration = std::strtoll(d->c_str(), &end, 10);
    if (d->empty() || *end || duration < 900 || duration > 43200)
      return IamFailure(c, {400, "ValidationError",
                            "1 validation error detected: Value '" + d->substr(0, 16) +
                                "' at 'durationSeconds' failed to satisfy constraint: Member must "
                                "have value between 900 and 43200"});
  }
  std::string session_policy = c.ParamOr("Policy", "");
  if (!session_policy.empty()) {
    if (session_policy.size() > 2048)
      return IamFailure(c, {400, "PackedPolicyTooLarge",
                            "Packed size of the session policies exceeds the allowed limit."});
    auto parsed = Policy::Parse(session_policy, false);
    if (!parsed.ok())
      return IamFailure(c, {400, "MalformedPolicyDocument", parsed.status().message()});
  }
  const Principal& caller = *c.principal;
  const IamError denied{
      403, "AccessDenied",
      "User: " + caller.ref.arn +
          " is not authorized to perform: sts:AssumeRole on resource: " + role_arn.substr(0, 2048)};
  auto where = ParseRoleArn(role_arn);
  std::optional<Role> role = where ? dir->FindRole(where->first, where->second) : std::nullopt;
  if (!role || role->arn != role_arn || !role->trust) return IamFailure(c, denied);
  RequestContext ctx = dir->NewContext(caller, c.req, "sts:AssumeRole", role->arn);
  if (external_id) ctx.keys["sts:externalid"] = *external_id;
  ctx.keys["sts:rolesessionname"] = session;
  if (dir->Authorize(caller, ctx, role->trust.get(), role->account, /*trust=*/true) !=
      Decision::kAllow)
    return IamFailure(c, denied);
  // Role chaining (a role session assuming a role) is limited to one hour, as AWS limits it.
  const int64_t max = caller.role_key.empty() ? role->max_session_s : 3600;
  if (duration > max)
    return IamFailure(c, {400, "ValidationError",
                          "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                          "this role."});
  SessionCredentials creds =
      dir->IssueSession(caller, &*role, session, duration, session_policy, now);
  Answer a(c);
  WriteCredentials(a.x(), creds);
  a.x().Open("AssumedRoleUser");
  a.x().Element("AssumedRoleId", role->id + ":" + session);
  a.x().Element("Arn",
                "arn:aws:sts::" + role->account + ":assumed-role/" + role->name + "/" + session);
  a.x().Close("AssumedRoleUser");
  if (!session_policy.empty())
    a.x().Element("PackedPolicySize",
                  std::to_string(std::min<size_t>(100, session_policy.size() * 100 / 2048)));
  return a.Finish();
}

http::Response GetCallerIdentity(Call& c, Directory*, IamStore*, int64_t) {
  Answer a(c);
  a.x().Element("Arn", c.principal->ref.arn);
  a.x().Element("UserId", c.principal->user_id);
  a.x().Element("Account", c.principal->ref.account);
  return a.Finish();
}

http::Response GetSessionToken(Call& c, Directory* dir, IamStore*, int64_t now) {
  if (!c.principal->role_key.empty() || c.principal->temporary())
    return IamFailure(
        c, {403, "AccessDenied", "Cannot call GetSessionToken with session credentials"});
  int64_t duration = 43200;
  if (const std::string* d = c.Param("DurationSeconds")) {
    char* end;
    duration = std::strtoll(d->c_str(), &end, 10);
    if (d->empty() || *end || duration < 900 || duration > 129600)
      return IamFailure(c, {400, "ValidationError",
                            "1 validation error detected: Value '" + d->substr(0, 16) +
                                "' at 'durationSeconds' failed to satisfy constraint: Member must "
                                "have value between 900 and 129600"});
  }
  SessionCredentials creds = dir->IssueSession(*c.principal, nullptr, "", duration, "", now);
  Answer a(c);
  WriteCredentials(a.x(), creds);
  return a.Finish();
}

// ---- IAM ---------------------------------------------------------------------------------

template <typename T>
const IamError* ErrorOf(const std::variant<T, IamError>& v) {
  return std::get_if<IamError>(&v);
}

http::Response CreateUser(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "UserName", "userName")) return IamFailure(c, *e);
  auto u = s->CreateUser(c.account, *c.Param("UserName"), c.ParamOr("Path", "/"));
  if (auto* e = ErrorOf(u)) return IamFailure(c, *e);
  return One(c, "User", std::get<User>(u), WriteUser);
}

http::Response GetUser(Call& c, Directory*, IamStore* s, int64_t) {
  std::string name = c.ParamOr("UserName", c.principal->username);
  if (name.empty() && !c.principal->role_key.empty())
    return IamFailure(c, {400, "ValidationError",
                          "Must specify userName when calling with non-User credentials"});
  if (name.empty()) {  // a scoped key of `millrace keys`: no IAM user behind it
    Answer a(c);
    a.x().Open("User");
    a.x().Element("Path", "/");
    a.x().Element("UserName", c.principal->access_key_id);
    a.x().Element("UserId", c.principal->user_id);
    a.x().Element("Arn", c.principal->ref.arn);
    a.x().Element("CreateDate", IsoSeconds(0));
    a.x().Close("User");
    return a.Finish();
  }
  auto u = s->GetUser(c.account, name);
  if (auto* e = ErrorOf(u)) return IamFailure(c, *e);
  return One(c, "User", std::get<User>(u), WriteUser);
}

http::Response ListUsers(Call& c, Directory*, IamStore* s, int64_t) {
  return Many(c, "Users", s->ListUsers(c.account), WriteUser);
}

http::Response DeleteUser(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "UserName", "userName")) return IamFailure(c, *e);
  if (auto e = s->DeleteUser(c.account, *c.Param("UserName"))) return IamFailure(c, *e);
  return Empty(c);
}

http::Response CreateAccessKey(Call& c, Directory*, IamStore* s, int64_t) {
  std::string user = c.ParamOr("UserName", c.principal->username);
  if (user.empty()) return IamFailure(c, *Required(c, "UserName", "userName"));
  auto k = s->CreateAccessKey(c.account, user);
  if (auto* e = ErrorOf(k)) return IamFailure(c, *e);
  const AccessKeyInfo& key = std::get<AccessKeyInfo>(k);
  Answer a(c);
  a.x().Open("AccessKey");
  a.x().Element("UserName", key.user);
  a.x().Element("AccessKeyId", key.access_key_id);
  a.x().Element("Status", "Active");
  a.x().Element("SecretAccessKey", key.secret);
  a.x().Element("CreateDate", IsoSeconds(key.created_ms));
  a.x().Close("AccessKey");
  return a.Finish();
}

http::Response ListAccessKeys(Call& c, Directory*, IamStore* s, int64_t) {
  std::string user = c.ParamOr("UserName", c.principal->username);
  if (user.empty()) return IamFailure(c, *Required(c, "UserName", "userName"));
  auto keys = s->ListAccessKeys(c.account, user);
  if (auto* e = ErrorOf(keys)) return IamFailure(c, *e);
  Answer a(c);
  a.x().Open("AccessKeyMetadata");
  for (const auto& k : std::get<std::vector<AccessKeyInfo>>(keys)) {
    a.x().Open("member");
    a.x().Element("UserName", k.user);
    a.x().Element("AccessKeyId", k.access_key_id);
    a.x().Element("Status", "Active");
    a.x().Element("CreateDate", IsoSeconds(k.created_ms));
    a.x().Close("member");
  }
  a.x().Close("AccessKeyMetadata");
  a.x().Element("IsTruncated", "false");
  return a.Finish();
}

http::Response DeleteAccessKey(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "AccessKeyId", "accessKeyId")) return IamFailure(c, *e);
  std::string user = c.ParamOr("UserName", c.principal->username);
  if (user.empty()) return IamFailure(c, *Required(c, "UserName", "userName"));
  if (auto e = s->DeleteAccessKey(c.account, user, *c.Param("AccessKeyId")))
    return IamFailure(c, *e);
  return Empty(c);
}

http::Response CreateRole(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "RoleName", "roleName")) return IamFailure(c, *e);
  if (auto e = Required(c, "AssumeRolePolicyDocument", "assumeRolePolicyDocument"))
    return IamFailure(c, *e);
  RoleDoc r;
  r.account = c.account;
  r.name = *c.Param("RoleName");
  r.path = c.ParamOr("Path", "/");
  r.trust = *c.Param("AssumeRolePolicyDocument");
  r.description = c.ParamOr("Description", "");
  r.max_session_s = std::atoll(c.ParamOr("MaxSessionDuration", "3600").c_str());
  auto made = s->CreateRole(std::move(r));
  if (auto* e = ErrorOf(made)) return IamFailure(c, *e);
  return One(c, "Role", std::get<RoleDoc>(made), WriteRole);
}

http::Response GetRole(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "RoleName", "roleName")) return IamFailure(c, *e);
  auto r = s->GetRole(c.account, *c.Param("RoleName"));
  if (auto* e = ErrorOf(r)) return IamFailure(c, *e);
  return One(c, "Role", std::get<RoleDoc>(r), WriteRole);
}

http::Response ListRoles(Call& c, Directory*, IamStore* s, int64_t) {
  return Many(c, "Roles", s->ListRoles(c.account), WriteRole);
}

http::Response DeleteRole(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "RoleName", "roleName")) return IamFailure(c, *e);
  if (auto e = s->DeleteRole(c.account, *c.Param("RoleName"))) return IamFailure(c, *e);
  return Empty(c);
}

http::Response UpdateAssumeRolePolicy(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "RoleName", "roleName")) return IamFailure(c, *e);
  if (auto e = Required(c, "PolicyDocument", "policyDocument")) return IamFailure(c, *e);
  if (auto e = s->UpdateTrust(c.account, *c.Param("RoleName"), *c.Param("PolicyDocument")))
    return IamFailure(c, *e);
  return Empty(c);
}

// Put/Get/Delete/List{User,Role}Policy share their shape.
std::function<http::Response(Call&, Directory*, IamStore*, int64_t)> Inline(bool role, char op) {
  return [role, op](Call& c, Directory*, IamStore* s, int64_t) -> http::Response {
    const char* owner_param = role ? "RoleName" : "UserName";
    if (auto e = Required(c, owner_param, role ? "roleName" : "userName")) return IamFailure(c, *e);
    const std::string& owner = *c.Param(owner_param);
    if (op == 'L') {
      auto names = s->ListInline(role, c.account, owner);
      if (auto* e = ErrorOf(names)) return IamFailure(c, *e);
      Answer a(c);
      a.x().Open("PolicyNames");
      for (const auto& n : std::get<std::vector<std::string>>(names)) a.x().Element("member", n);
      a.x().Close("PolicyNames");
      a.x().Element("IsTruncated", "false");
      return a.Finish();
    }
    if (auto e = Required(c, "PolicyName", "policyName")) return IamFailure(c, *e);
    const std::string& name = *c.Param("PolicyName");
    if (op == 'P') {
      if (auto e = Required(c, "PolicyDocument", "policyDocument")) return IamFailure(c, *e);
      if (auto e = s->PutInline(role, c.account, owner, name, *c.Param("PolicyDocument")))
        return IamFailure(c, *e);
      return Empty(c);
    }
    if (op == 'D') {
      if (auto e = s->DeleteInline(role, c.account, owner, name)) return IamFailure(c, *e);
      return Empty(c);
    }
    auto p = s->GetInline(role, c.account, owner, name);
    if (auto* e = ErrorOf(p)) return IamFailure(c, *e);
    Answer a(c);
    a.x().Element(owner_param, owner);
    a.x().Element("PolicyName", name);
    a.x().Element("PolicyDocument", EncodedDocument(std::get<InlinePolicy>(p).document));
    return a.Finish();
  };
}

http::Response CreatePolicy(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "PolicyName", "policyName")) return IamFailure(c, *e);
  if (auto e = Required(c, "PolicyDocument", "policyDocument")) return IamFailure(c, *e);
  ManagedPolicy p;
  p.account = c.account;
  p.name = *c.Param("PolicyName");
  p.path = c.ParamOr("Path", "/");
  p.document = *c.Param("PolicyDocument");
  p.description = c.ParamOr("Description", "");
  auto made = s->CreatePolicy(std::move(p));
  if (auto* e = ErrorOf(made)) return IamFailure(c, *e);
  return One(c, "Policy", std::get<ManagedPolicy>(made), WritePolicy);
}

http::Response GetPolicy(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "PolicyArn", "policyArn")) return IamFailure(c, *e);
  auto p = s->GetPolicy(c.account, *c.Param("PolicyArn"));
  if (auto* e = ErrorOf(p)) return IamFailure(c, *e);
  return One(c, "Policy", std::get<ManagedPolicy>(p), WritePolicy);
}

http::Response GetPolicyVersion(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "PolicyArn", "policyArn")) return IamFailure(c, *e);
  if (auto e = Required(c, "VersionId", "versionId")) return IamFailure(c, *e);
  auto p = s->GetPolicy(c.account, *c.Param("PolicyArn"));
  if (auto* e = ErrorOf(p)) return IamFailure(c, *e);
  if (*c.Param("VersionId") != "v1")
    return IamFailure(c, NoSuchEntity("Policy " + c.Param("PolicyArn")->substr(0, 256) +
                                      " version " + c.Param("VersionId")->substr(0, 16) +
                                      " does not exist or is not attachable."));
  const ManagedPolicy& policy = std::get<ManagedPolicy>(p);
  Answer a(c);
  a.x().Open("PolicyVersion");
  a.x().Element("Document", EncodedDocument(policy.document));
  a.x().Element("VersionId", "v1");
  a.x().Element("IsDefaultVersion", "true");
  a.x().Element("CreateDate", IsoSeconds(policy.created_ms));
  a.x().Close("PolicyVersion");
  return a.Finish();
}

http::Response ListPolicies(Call& c, Directory*, IamStore* s, int64_t) {
  Answer a(c);
  a.x().Open("Policies");
  std::string scope = c.ParamOr("Scope", "All");
  if (scope != "AWS")
    for (const ManagedPolicy& p : s->ListPolicies(c.account)) {
      a.x().Open("member");
      WritePolicy(a.x(), p);
      a.x().Close("member");
    }
  if (scope != "Local")
    for (const char* name :
         {"AdministratorAccess", "ReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonS3FullAccess",
          "AmazonKinesisReadOnlyAccess", "AmazonKinesisFullAccess", "MillraceAdmin",
          "MillraceProducer", "MillraceConsumer", "MillraceBucketRead", "MillraceBucketWrite"}) {
      auto p = s->GetPolicy(c.account, std::string("arn:aws:iam::aws:policy/") + name);
      if (p.index() != 0) continue;
      a.x().Open("member");
      WritePolicy(a.x(), std::get<ManagedPolicy>(p));
      a.x().Close("member");
    }
  a.x().Close("Policies");
  a.x().Element("IsTruncated", "false");
  return a.Finish();
}

http::Response DeletePolicy(Call& c, Directory*, IamStore* s, int64_t) {
  if (auto e = Required(c, "PolicyArn", "policyArn")) return IamFailure(c, *e);
  if (auto e = s->DeletePolicy(c.account, *c.Param("PolicyArn"))) return IamFailure(c, *e);
  return Empty(c);
}

std::function<http::Response(Call&, Directory*, IamStore*, int64_t)> Attachment(bool role,
                                                                                char op) {
  return [role, op](Call& c, Directory*, IamStore* s, int64_t) -> http::Response {
    const char* owner_param = role ? "RoleName" : "UserName";
    if (auto e = Required(c, owner_param, role ? "roleName" : "userName")) return IamFailure(c, *e);
    const std::string& owner = *c.Param(owner_param);
    if (op == 'L') {
      auto arns = s->ListAttached(role, c.account, owner);
      if (auto* e = ErrorOf(arns)) return IamFailure(c, *e);
      Answer a(c);
      a.x().Open("AttachedPolicies");
      for (const auto& arn : std::get<std::vector<std::string>>(arns)) {
        a.x().Open("member");
        a.x().Element("PolicyName", arn.substr(arn.rfind('/') + 1));
        a.x().Element("PolicyArn", arn);
        a.x().Close("member");
      }
      a.x().Close("AttachedPolicies");
      a.x().Element("IsTruncated", "false");
      return a.Finish();
    }
    if (auto e = Required(c, "PolicyArn", "policyArn")) return IamFailure(c, *e);
    if (auto e = s->Attach(role, op == 'A', c.account, owner, *c.Param("PolicyArn")))
      return IamFailure(c, *e);
    return Empty(c);
  };
}

struct ActionInfo {
  const char* service;
  Handler handle;
  bool writes;  // changes the directory: reload it after
  // The resource the action is authorized on, in the caller's account.
  std::function<std::string(const Call&)> resource;
};

std::string UserResource(const Call& c) {
  return "arn:aws:iam::" + c.account + ":user/" + c.ParamOr("UserName", c.principal->username);
}
std::string RoleResource(const Call& c) {
  return "arn:aws:iam::" + c.account + ":role/" + c.ParamOr("RoleName", "");
}
std::string PolicyResource(const Call& c) {
  if (const std::string* arn = c.Param("PolicyArn")) return *arn;
  return "arn:aws:iam::" + c.account + ":policy/" + c.ParamOr("PolicyName", "");
}
std::string AllOf(const Call& c, const char* kind) {
  return "arn:aws:iam::" + c.account + ":" + kind + "/*";
}

const std::map<std::string, ActionInfo>& Actions() {
  static const auto* table = new std::map<std::string, ActionInfo>{
      {"AssumeRole", {"sts", AssumeRole, false, nullptr}},
      {"GetCallerIdentity", {"sts", GetCallerIdentity, false, nullptr}},
      {"GetSessionToken", {"sts", GetSessionToken, false, nullptr}},
      {"CreateUser", {"iam", CreateUser, true, UserResource}},
      {"GetUser", {"iam", GetUser, false, UserResource}},
      {"ListUsers", {"iam", ListUsers, false, [](const Call& c) { return AllOf(c, "user"); }}},
      {"DeleteUser", {"iam", DeleteUser, true, UserResource}},
      {"CreateAccessKey", {"iam", CreateAccessKey, true, UserResource}},
      {"ListAccessKeys", {"iam", ListAccessKeys, false, UserResource}},
      {"DeleteAccessKey", {"iam", DeleteAccessKey, true, UserResource}},
      {"CreateRole", {"iam", CreateRole, true, RoleResource}},
      {"GetRole", {"iam", GetRole, false, RoleResource}},
      {"ListRoles", {"iam", ListRoles, false, [](const Call& c) { return AllOf(c, "role"); }}},
      {"DeleteRole", {"iam", DeleteRole, true, RoleResource}},
      {"UpdateAssumeRolePolicy", {"iam", UpdateAssumeRolePolicy, true, RoleResource}},
      {"PutUserPolicy", {"iam", Inline(false, 'P'), true, UserResource}},
      {"GetUserPolicy", {"iam", Inline(false, 'G'), false, UserResource}},
      {"DeleteUserPolicy", {"iam", Inline(false, 'D'), true, UserResource}},
      {"ListUserPolicies", {"iam", Inline(false, 'L'), false, UserResource}},
      {"PutRolePolicy", {"iam", Inline(true, 'P'), true, RoleResource}},
      {"GetRolePolicy", {"iam", Inline(true, 'G'), false, RoleResource}},
      {"DeleteRolePolicy", {"iam", Inline(true, 'D'), true, RoleResource}},
      {"ListRolePolicies", {"iam", Inline(true, 'L'), false, RoleResource}},
      {"CreatePolicy", {"iam", CreatePolicy, true, PolicyResource}},
      {"GetPolicy", {"iam", GetPolicy, false, PolicyResource}},
      {"GetPolicyVersion", {"iam", GetPolicyVersion, false, PolicyResource}},
      {"ListPolicies",
       {"iam", ListPolicies, false, [](const Call& c) { return AllOf(c, "policy"); }}},
      {"DeletePolicy", {"iam", DeletePolicy, true, PolicyResource}},
      {"AttachUserPolicy", {"iam", Attachment(false, 'A'), true, UserResource}},
      {"DetachUserPolicy", {"iam", Attachment(false, 'D'), true, UserResource}},
      {"ListAttachedUserPolicies", {"iam", Attachment(false, 'L'), false, UserResource}},
      {"AttachRolePolicy", {"iam", Attachment(true, 'A'), true, RoleResource}},
      {"DetachRolePolicy", {"iam", Attachment(true, 'D'), true, RoleResource}},
      {"ListAttachedRolePolicies", {"iam", Attachment(true, 'L'), false, RoleResource}},
  };
  return *table;
}

}  // namespace

http::Response QueryService::Serve(const http::Request& req) {
  Call call{req, {}, ServiceOf(req), "", RequestId(), nullptr, ""};
  // Authentication first: the body is parsed only for a caller whose signature holds (an
  // unsigned request is answered in STS's words, the scope naming no service).
  if (auth_) {
    if (call.service.empty()) call.service = "sts";
    auth::VerifyOptions vo;
    vo.service = call.service;
    auto result = directory_->Authenticate(req, vo);
    if (auto* e = std::get_if<auth::AuthError>(&result))
      return AuthErrorResponse(call.service == "iam" ? kIamXmlns : kStsXmlns, *e, call.request_id);
    call.principal = std::get<Authenticated>(result).principal;
  } else {
    auto admin = std::make_shared<Principal>();
    admin->ref.account = directory_->options().account_id;
    admin->ref.arn = "arn:aws:iam::" + admin->ref.account + ":root";
    admin->user_id = admin->ref.account;
    auto p = Policy::Parse(*BuiltinPolicy("arn:aws:iam::aws:policy/AdministratorAccess"), false);
    if (p.ok()) admin->policies.push_back(*p);
    call.principal = admin;
  }
  std::string_view ct = req.HeaderOr("content-type", "");
  if (req.method == "POST" && ct.starts_with("application/x-www-form-urlencoded"))
    call.params = ParseParams(req.body);
  for (auto& [k, v] : ParseParams(req.query)) call.params.emplace(k, v);
  call.action = call.ParamOr("Action", "");
  auto it = Actions().find(call.action);
  if (call.service.empty()) call.service = it != Actions().end() ? it->second.service : "sts";
  const std::string_view xmlns = call.service == "iam" ? kIamXmlns : kStsXmlns;
  if (it == Actions().end() || call.service != it->second.service)
    return ErrorResponse(xmlns, 400, "InvalidAction",
                         "Could not find operation " + call.action.substr(0, 64) + " for version " +
                             call.ParamOr("Version", "NO_VERSION_SPECIFIED").substr(0, 16),
                         call.request_id);
  call.account = call.principal->ref.account;
  const ActionInfo& info = it->second;
  if (info.resource) {
    std::string resource = info.resource(call);
    RequestContext ctx =
        directory_->NewContext(*call.principal, req, "iam:" + call.action, resource);
    if (directory_->Authorize(*call.principal, ctx, nullptr, call.account) != Decision::kAllow)
      return ErrorResponse(
          xmlns, 403, "AccessDenied",
          "User: " + call.principal->ref.arn + " is not authorized to perform: iam:" + call.action +
              " on resource: " + resource.substr(0, 512) +
              " because no identity-based policy allows the iam:" + call.action + " action",
          call.request_id);
  }
  if (!info.writes) return info.handle(call, directory_, store_, clock_->NowMillis());
  // Changes read a document, change it and write it back: one at a time, so that two
  // workers' PutUserPolicy calls on one user cannot lose either.
  std::lock_guard<std::mutex> l(write_mu_);
  http::Response r = info.handle(call, directory_, store_, clock_->NowMillis());
  if (r.status == 200) directory_->Invalidate();
  return r;
}

}  // namespace millrace::iam
