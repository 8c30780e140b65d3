#include "iam/store.h"

#include <simdjson.h>

#include <algorithm>

#include "auth/keystore.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "iam/directory.h"
#include "iam/policy.h"

namespace millrace::iam {
namespace {

IamError Conflict(std::string code, std::string message) {
  return IamError{409, std::move(code), std::move(message)};
}

IamError Invalid(std::string_view field, std::string_view value, std::string_view pattern) {
  return IamError{400, "ValidationError",
                  "1 validation error detected: Value '" + std::string(value.substr(0, 64)) +
                      "' at '" + std::string(field) +
                      "' failed to satisfy constraint: Member must satisfy regular expression "
                      "pattern: " +
                      std::string(pattern)};
}

std::optional<IamError> CheckName(std::string_view field, std::string_view value, size_t max) {
  if (ValidIamName(value, max)) return std::nullopt;
  return Invalid(field, value, "[\\w+=,.@-]+");
}

std::optional<IamError> CheckPath(std::string_view path) {
  if (path.size() > 512 || !path.starts_with("/") || !path.ends_with("/"))
    return Invalid("path", path, "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
  for (char c : path)
    if (c < 0x21 || c > 0x7e) return Invalid("path", path, "(\\u002F[\\u0021-\\u007E]+\\u002F)");
  return std::nullopt;
}

std::optional<IamError> CheckDocument(const std::string& document, bool resource) {
  auto p = Policy::Parse(document, resource);
  if (!p.ok()) return IamError{400, "MalformedPolicyDocument", p.status().message()};
  return std::nullopt;
}

void WritePolicies(JsonWriter& w, const std::vector<InlinePolicy>& policies,
                   const std::vector<std::string>& attached) {
  w.Key("Policies");
  w.BeginArray();
  for (const auto& p : policies) {
    w.BeginObject();
    w.Key("Name");
    w.String(p.name);
    w.Key("Document");
    w.String(p.document);
    w.EndObject();
  }
  w.EndArray();
  w.Key("Attached");
  w.BeginArray();
  for (const auto& a : attached) w.String(a);
  w.EndArray();
}

void ReadPolicies(simdjson::dom::element spec, std::vector<InlinePolicy>* policies,
                  std::vector<std::string>* attached) {
  simdjson::dom::array list;
  if (spec["Policies"].get(list) == simdjson::SUCCESS)
    for (simdjson::dom::element p : list) {
      std::string_view name, doc;
      if (p["Name"].get(name) == simdjson::SUCCESS && p["Document"].get(doc) == simdjson::SUCCESS)
        policies->push_back({std::string(name), std::string(doc)});
    }
  if (spec["Attached"].get(list) == simdjson::SUCCESS)
    for (simdjson::dom::element a : list) {
      std::string_view arn;
      if (a.get(arn) == simdjson::SUCCESS) attached->emplace_back(arn);
    }
}

std::string Text(simdjson::dom::element e, const char* key, std::string_view fallback = {}) {
  std::string_view v;
  return std::string(e[key].get(v) == simdjson::SUCCESS ? v : fallback);
}

// "arn:aws:iam::A:policy/path/Name" -> Name, if the ARN is account A's.
std::optional<std::string> PolicyNameOf(const std::string& account, const std::string& arn) {
  const std::string prefix = "arn:aws:iam::" + account + ":policy/";
  if (!arn.starts_with(prefix)) return std::nullopt;
  return arn.substr(arn.rfind('/') + 1);
}

int64_t Now() { return SystemClock::Default()->NowMillis(); }

}  // namespace

IamError NoSuchEntity(std::string message) {
  return IamError{404, "NoSuchEntity", std::move(message)};
}

std::optional<IamError> IamStore::CreateAccount(const std::string& id, const std::string& name) {
  if (id.size() != 12 || id.find_first_not_of("0123456789") != std::string::npos)
    return IamError{400, "ValidationError",
                    "an account id is 12 digits, not '" + id.substr(0, 32) + "'"};
  if (AccountExists(id))
    return Conflict("EntityAlreadyExists", "Account " + id + " already exists.");
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("Name");
  w.String(name);
  w.EndObject();
  catalog::DocRow row{id, spec, 1, Now(), Now()};
  Status st = catalog_->CreateDoc(catalog::DocKind::kAccount, row);
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

bool IamStore::AccountExists(const std::string& id) {
  if (id == operator_account_) return true;
  auto d = catalog_->GetDoc(catalog::DocKind::kAccount, id);
  return d.ok() && d->has_value();
}

std::vector<std::pair<std::string, std::string>> IamStore::ListAccounts() {
  std::vector<std::pair<std::string, std::string>> out{{operator_account_, "operator"}};
  auto rows = catalog_->ListDocs(catalog::DocKind::kAccount);
  if (!rows.ok()) return out;
  simdjson::dom::parser parser;
  for (const auto& r : *rows) {
    if (r.name.size() != 12) continue;  // the server's own "operator" record
    simdjson::dom::element spec;
    std::string name;
    if (parser.parse(r.spec).get(spec) == simdjson::SUCCESS) name = Text(spec, "Name");
    out.emplace_back(r.name, name);
  }
  return out;
}

std::variant<User, IamError> IamStore::LoadUser(const std::string& account,
                                                const std::string& name) {
  auto d = catalog_->GetDoc(catalog::DocKind::kIamUser, account + "/" + name);
  if (!d.ok()) return IamError{500, "ServiceFailure", d.status().message()};
  if (!*d) return NoSuchEntity("The user with name " + name.substr(0, 64) + " cannot be found.");
  simdjson::dom::parser parser;
  simdjson::dom::element spec;
  if (parser.parse((*d)->spec).get(spec) != simdjson::SUCCESS)
    return IamError{500, "ServiceFailure", "user document unreadable"};
  User u;
  u.account = account;
  u.name = name;
  u.path = Text(spec, "Path", "/");
  u.id = Text(spec, "UserId");
  u.created_ms = (*d)->created_ms;
  ReadPolicies(spec, &u.policies, &u.attached);
  return u;
}

std::optional<IamError> IamStore::SaveUser(const User& u, bool create) {
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("UserId");
  w.String(u.id);
  w.Key("Path");
  w.String(u.path);
  WritePolicies(w, u.policies, u.attached);
  w.EndObject();
  Status st;
  if (create) {
    st = catalog_->CreateDoc(
        catalog::DocKind::kIamUser,
        catalog::DocRow{u.account + "/" + u.name, spec, 1, u.created_ms, u.created_ms});
    if (st.code() == Code::kAlreadyExists)
      return Conflict("EntityAlreadyExists", "User with name " + u.name + " already exists.");
  } else {
    int64_t v;
    st = catalog_->UpdateDoc(catalog::DocKind::kIamUser, u.account + "/" + u.name, spec, Now(), &v);
  }
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::variant<User, IamError> IamStore::CreateUser(const std::string& account,
                                                  const std::string& name,
                                                  const std::string& path) {
  if (auto e = CheckName("userName", name, 64)) return *e;
  if (auto e = CheckPath(path)) return *e;
  User u;
  u.account = account;
  u.name = name;
  u.path = path;
  u.id = NewId("AIDA");
  u.created_ms = Now();
  if (auto e = SaveUser(u, true)) return *e;
  return u;
}

std::variant<User, IamError> IamStore::GetUser(const std::string& account,
                                               const std::string& name) {
  if (auto e = CheckName("userName", name, 64)) return *e;
  return LoadUser(account, name);
}

std::vector<User> IamStore::ListUsers(const std::string& account) {
  std::vector<User> out;
  auto rows = catalog_->ListDocs(catalog::DocKind::kIamUser);
  if (!rows.ok()) return out;
  for (const auto& r : *rows)
    if (r.name.starts_with(account + "/"))
      if (auto u = LoadUser(account, r.name.substr(account.size() + 1)); u.index() == 0)
        out.push_back(std::get<User>(std::move(u)));
  return out;
}

std::optional<IamError> IamStore::DeleteUser(const std::string& account, const std::string& name) {
  auto u = GetUser(account, name);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  const User& user = std::get<User>(u);
  auto keys = ListAccessKeys(account, name);
  if (auto* k = std::get_if<std::vector<AccessKeyInfo>>(&keys); k && !k->empty())
    return Conflict("DeleteConflict", "Cannot delete entity, must delete access keys first.");
  if (!user.policies.empty())
    return Conflict("DeleteConflict", "Cannot delete entity, must delete policies first.");
  if (!user.attached.empty())
    return Conflict("DeleteConflict", "Cannot delete entity, must detach all policies first.");
  Status st = catalog_->DeleteDoc(catalog::DocKind::kIamUser, account + "/" + name);
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::variant<AccessKeyInfo, IamError> IamStore::CreateAccessKey(const std::string& account,
                                                                const std::string& user) {
  auto existing = ListAccessKeys(account, user);
  if (auto* e = std::get_if<IamError>(&existing)) return *e;
  if (std::get<std::vector<AccessKeyInfo>>(existing).size() >= 2)
    return Conflict("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
  auth::AccessKey k = auth::GenerateKey("user", {account + "/" + user});
  catalog::KeyRow row;
  row.access_key_id = k.access_key_id;
  row.secret = k.secret;
  row.scope = "user";
  row.streams = k.streams;
  row.created_ms = Now();
  row.description = "user " + account + "/" + user;
  Status st = catalog_->CreateKey(row);
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return AccessKeyInfo{k.access_key_id, k.secret, user, row.created_ms};
}

std::variant<std::vector<AccessKeyInfo>, IamError> IamStore::ListAccessKeys(
    const std::string& account, const std::string& user) {
  auto u = GetUser(account, user);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  auto keys = catalog_->ListKeys();
  if (!keys.ok()) return IamError{500, "ServiceFailure", keys.status().message()};
  std::vector<AccessKeyInfo> out;
  for (const auto& k : *keys)
    if (!k.revoked_ms && k.scope == "user" && k.streams.size() == 1 &&
        k.streams[0] == account + "/" + user)
      out.push_back({k.access_key_id, "", user, k.created_ms});
  return out;
}

std::optional<IamError> IamStore::DeleteAccessKey(const std::string& account,
                                                  const std::string& user,
                                                  const std::string& access_key_id) {
  auto keys = ListAccessKeys(account, user);
  if (auto* e = std::get_if<IamError>(&keys)) return *e;
  for (const auto& k : std::get<std::vector<AccessKeyInfo>>(keys))
    if (k.access_key_id == access_key_id) {
      Status st = catalog_->RevokeKey(access_key_id, Now());
      if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
      return std::nullopt;
    }
  return NoSuchEntity("The Access Key with id " + access_key_id.substr(0, 32) +
                      " cannot be found.");
}

std::variant<RoleDoc, IamError> IamStore::LoadRole(const std::string& account,
                                                   const std::string& name) {
  auto d = catalog_->GetDoc(catalog::DocKind::kIamRole, account + "/" + name);
  if (!d.ok()) return IamError{500, "ServiceFailure", d.status().message()};
  if (!*d) return NoSuchEntity("The role with name " + name.substr(0, 64) + " cannot be found.");
  simdjson::dom::parser parser;
  simdjson::dom::element spec;
  if (parser.parse((*d)->spec).get(spec) != simdjson::SUCCESS)
    return IamError{500, "ServiceFailure", "role document unreadable"};
  RoleDoc r;
  r.account = account;
  r.name = name;
  r.path = Text(spec, "Path", "/");
  r.id = Text(spec, "RoleId");
  r.trust = Text(spec, "AssumeRolePolicyDocument");
  r.description = Text(spec, "Description");
  int64_t max = 3600;
  if (spec["MaxSessionDuration"].get(max) == simdjson::SUCCESS) r.max_session_s = max;
  r.created_ms = (*d)->created_ms;
  ReadPolicies(spec, &r.policies, &r.attached);
  return r;
}

std::optional<IamError> IamStore::SaveRole(const RoleDoc& r, bool create) {
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("RoleId");
  w.String(r.id);
  w.Key("Path");
  w.String(r.path);
  w.Key("AssumeRolePolicyDocument");
  w.String(r.trust);
  w.Key("Description");
  w.String(r.description);
  w.Key("MaxSessionDuration");
  w.Int(r.max_session_s);
  WritePolicies(w, r.policies, r.attached);
  w.EndObject();
  Status st;
  if (create) {
    st = catalog_->CreateDoc(
        catalog::DocKind::kIamRole,
        catalog::DocRow{r.account + "/" + r.name, spec, 1, r.created_ms, r.created_ms});
    if (st.code() == Code::kAlreadyExists)
      return Conflict("EntityAlreadyExists", "Role with name " + r.name + " already exists.");
  } else {
    int64_t v;
    st = catalog_->UpdateDoc(catalog::DocKind::kIamRole, r.account + "/" + r.name, spec, Now(), &v);
  }
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::variant<RoleDoc, IamError> IamStore::CreateRole(RoleDoc r) {
  if (auto e = CheckName("roleName", r.name, 64)) return *e;
  if (auto e = CheckPath(r.path)) return *e;
  if (auto e = CheckDocument(r.trust, true)) return *e;
  if (r.max_session_s < 3600 || r.max_session_s > 43200)
    return IamError{400, "ValidationError",
                    "1 validation error detected: Value '" + std::to_string(r.max_session_s) +
                        "' at 'maxSessionDuration' failed to satisfy constraint: Member must "
                        "have value less than or equal to 43200"};
  r.id = NewId("AROA");
  r.created_ms = Now();
  if (auto e = SaveRole(r, true)) return *e;
  return r;
}

std::variant<RoleDoc, IamError> IamStore::GetRole(const std::string& account,
                                                  const std::string& name) {
  if (auto e = CheckName("roleName", name, 64)) return *e;
  return LoadRole(account, name);
}

std::vector<RoleDoc> IamStore::ListRoles(const std::string& account) {
  std::vector<RoleDoc> out;
  auto rows = catalog_->ListDocs(catalog::DocKind::kIamRole);
  if (!rows.ok()) return out;
  for (const auto& row : *rows)
    if (row.name.starts_with(account + "/"))
      if (auto r = LoadRole(account, row.name.substr(account.size() + 1)); r.index() == 0)
        out.push_back(std::get<RoleDoc>(std::move(r)));
  return out;
}

std::optional<IamError> IamStore::DeleteRole(const std::string& account, const std::string& name) {
  auto r = GetRole(account, name);
  if (auto* e = std::get_if<IamError>(&r)) return *e;
  const RoleDoc& role = std::get<RoleDoc>(r);
  if (!role.policies.empty())
    return Conflict("DeleteConflict", "Cannot delete entity, must delete policies first.");
  if (!role.attached.empty())
    return Conflict("DeleteConflict", "Cannot delete entity, must detach all policies first.");
  Status st = catalog_->DeleteDoc(catalog::DocKind::kIamRole, account + "/" + name);
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::optional<IamError> IamStore::UpdateTrust(const std::string& account, const std::string& name,
                                              const std::string& document) {
  if (auto e = CheckDocument(document, true)) return *e;
  auto r = GetRole(account, name);
  if (auto* e = std::get_if<IamError>(&r)) return *e;
  RoleDoc role = std::get<RoleDoc>(std::move(r));
  role.trust = document;
  return SaveRole(role, false);
}

std::optional<IamError> IamStore::PutInline(bool role, const std::string& account,
                                            const std::string& owner,
                                            const std::string& policy_name,
                                            const std::string& document) {
  if (auto e = CheckName("policyName", policy_name, 128)) return *e;
  if (auto e = CheckDocument(document, false)) return *e;
  auto put = [&](std::vector<InlinePolicy>* list) {
    for (auto& p : *list)
      if (p.name == policy_name) {
        p.document = document;
        return;
      }
    list->push_back({policy_name, document});
  };
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    RoleDoc doc = std::get<RoleDoc>(std::move(r));
    put(&doc.policies);
    return SaveRole(doc, false);
  }
  auto u = GetUser(account, owner);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  User doc = std::get<User>(std::move(u));
  put(&doc.policies);
  return SaveUser(doc, false);
}

std::variant<InlinePolicy, IamError> IamStore::GetInline(bool role, const std::string& account,
                                                         const std::string& owner,
                                                         const std::string& policy_name) {
  std::vector<InlinePolicy> list;
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    list = std::get<RoleDoc>(r).policies;
  } else {
    auto u = GetUser(account, owner);
    if (auto* e = std::get_if<IamError>(&u)) return *e;
    list = std::get<User>(u).policies;
  }
  for (auto& p : list)
    if (p.name == policy_name) return p;
  return NoSuchEntity(std::string("The ") + (role ? "role" : "user") + " policy with name " +
                      policy_name.substr(0, 128) + " cannot be found.");
}

std::variant<std::vector<std::string>, IamError> IamStore::ListInline(bool role,
                                                                      const std::string& account,
                                                                      const std::string& owner) {
  std::vector<std::string> names;
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    for (const auto& p : std::get<RoleDoc>(r).policies) names.push_back(p.name);
  } else {
    auto u = GetUser(account, owner);
    if (auto* e = std::get_if<IamError>(&u)) return *e;
    for (const auto& p : std::get<User>(u).policies) names.push_back(p.name);
  }
  std::sort(names.begin(), names.end());  // as IAM lists them
  return names;
}

std::optional<IamError> IamStore::DeleteInline(bool role, const std::string& account,
                                               const std::string& owner,
                                               const std::string& policy_name) {
  auto drop = [&](std::vector<InlinePolicy>* list) {
    for (auto it = list->begin(); it != list->end(); ++it)
      if (it->name == policy_name) {
        list->erase(it);
        return true;
      }
    return false;
  };
  IamError missing =
      NoSuchEntity(std::string("The ") + (role ? "role" : "user") + " policy with name " +
                   policy_name.substr(0, 128) + " cannot be found.");
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    RoleDoc doc = std::get<RoleDoc>(std::move(r));
    if (!drop(&doc.policies)) return missing;
    return SaveRole(doc, false);
  }
  auto u = GetUser(account, owner);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  User doc = std::get<User>(std::move(u));
  if (!drop(&doc.policies)) return missing;
  return SaveUser(doc, false);
}

int IamStore::CountAttachments(const std::string& arn) {
  int n = 0;
  auto count = [&](catalog::DocKind kind) {
    auto rows = catalog_->ListDocs(kind);
    if (!rows.ok()) return;
    for (const auto& r : *rows)
      if (r.spec.find("\"" + arn + "\"") != std::string::npos) ++n;
  };
  count(catalog::DocKind::kIamUser);
  count(catalog::DocKind::kIamRole);
  return n;
}

std::variant<ManagedPolicy, IamError> IamStore::CreatePolicy(ManagedPolicy p) {
  if (auto e = CheckName("policyName", p.name, 128)) return *e;
  if (auto e = CheckPath(p.path)) return *e;
  if (auto e = CheckDocument(p.document, false)) return *e;
  p.id = NewId("ANPA");
  p.arn = PolicyArn(p.account, p.path, p.name);
  p.created_ms = Now();
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("PolicyId");
  w.String(p.id);
  w.Key("Arn");
  w.String(p.arn);
  w.Key("Path");
  w.String(p.path);
  w.Key("Description");
  w.String(p.description);
  w.Key("Document");
  w.String(p.document);
  w.EndObject();
  Status st = catalog_->CreateDoc(
      catalog::DocKind::kIamPolicy,
      catalog::DocRow{p.account + "/" + p.name, spec, 1, p.created_ms, p.created_ms});
  if (st.code() == Code::kAlreadyExists)
    return Conflict("EntityAlreadyExists", "A policy called " + p.name +
                                               " already exists. Duplicate names are not allowed.");
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return p;
}

std::variant<ManagedPolicy, IamError> IamStore::GetPolicy(const std::string& account,
                                                          const std::string& arn) {
  IamError missing =
      NoSuchEntity("Policy " + arn.substr(0, 256) + " does not exist or is not attachable.");
  if (auto builtin = BuiltinPolicy(arn)) {
    ManagedPolicy p;
    p.account = "aws";
    p.name = arn.substr(arn.rfind('/') + 1);
    p.arn = arn;
    p.id = "ANPAMILLRACEBUILTIN";
    p.document = *builtin;
    p.attachments = CountAttachments(arn);
    return p;
  }
  auto name = PolicyNameOf(account, arn);
  if (!name) return missing;
  auto d = catalog_->GetDoc(catalog::DocKind::kIamPolicy, account + "/" + *name);
  if (!d.ok()) return IamError{500, "ServiceFailure", d.status().message()};
  if (!*d) return missing;
  simdjson::dom::parser parser;
  simdjson::dom::element spec;
  if (parser.parse((*d)->spec).get(spec) != simdjson::SUCCESS) return missing;
  ManagedPolicy p;
  p.account = account;
  p.name = *name;
  p.path = Text(spec, "Path", "/");
  p.id = Text(spec, "PolicyId");
  p.arn = Text(spec, "Arn");
  p.description = Text(spec, "Description");
  p.document = Text(spec, "Document");
  p.created_ms = (*d)->created_ms;
  if (p.arn != arn) return missing;
  p.attachments = CountAttachments(arn);
  return p;
}

std::vector<ManagedPolicy> IamStore::ListPolicies(const std::string& account) {
  std::vector<ManagedPolicy> out;
  auto rows = catalog_->ListDocs(catalog::DocKind::kIamPolicy);
  if (!rows.ok()) return out;
  simdjson::dom::parser parser;
  for (const auto& r : *rows) {
    if (!r.name.starts_with(account + "/")) continue;
    simdjson::dom::element spec;
    if (parser.parse(r.spec).get(spec) != simdjson::SUCCESS) continue;
    auto p = GetPolicy(account, Text(spec, "Arn"));
    if (p.index() == 0) out.push_back(std::get<ManagedPolicy>(std::move(p)));
  }
  return out;
}

std::optional<IamError> IamStore::DeletePolicy(const std::string& account, const std::string& arn) {
  auto p = GetPolicy(account, arn);
  if (auto* e = std::get_if<IamError>(&p)) return *e;
  const ManagedPolicy& policy = std::get<ManagedPolicy>(p);
  if (policy.account != account)
    return IamError{403, "AccessDenied", "AWS-managed policies cannot be deleted."};
  if (policy.attachments > 0)
    return Conflict("DeleteConflict", "Cannot delete a policy attached to entities.");
  Status st = catalog_->DeleteDoc(catalog::DocKind::kIamPolicy, account + "/" + policy.name);
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::optional<IamError> IamStore::Attach(bool role, bool attach, const std::string& account,
                                         const std::string& owner, const std::string& arn) {
  if (attach) {
    auto p = GetPolicy(account, arn);
    if (auto* e = std::get_if<IamError>(&p)) return *e;
  }
  auto apply = [&](std::vector<std::string>* list) -> std::optional<IamError> {
    auto it = std::find(list->begin(), list->end(), arn);
    if (attach) {
      if (it == list->end()) list->push_back(arn);
    } else {
      if (it == list->end())
        return NoSuchEntity("Policy " + arn.substr(0, 256) + " was not found.");
      list->erase(it);
    }
    return std::nullopt;
  };
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    RoleDoc doc = std::get<RoleDoc>(std::move(r));
    if (auto e = apply(&doc.attached)) return e;
    return SaveRole(doc, false);
  }
  auto u = GetUser(account, owner);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  User doc = std::get<User>(std::move(u));
  if (auto e = apply(&doc.attached)) return e;
  return SaveUser(doc, false);
}

std::variant<std::vector<std::string>, IamError> IamStore::ListAttached(bool role,
                                                                        const std::string& account,
                                                                        const std::string& owner) {
  if (role) {
    auto r = GetRole(account, owner);
    if (auto* e = std::get_if<IamError>(&r)) return *e;
    return std::get<RoleDoc>(r).attached;
  }
  auto u = GetUser(account, owner);
  if (auto* e = std::get_if<IamError>(&u)) return *e;
  return std::get<User>(u).attached;
}

std::optional<IamError> IamStore::PutResourcePolicy(catalog::DocKind kind, const std::string& name,
                                                    const std::string& document) {
  if (document.empty()) {
    Status st = catalog_->DeleteDoc(kind, name);
    if (!st.ok() && st.code() != Code::kNotFound)
      return IamError{500, "ServiceFailure", st.message()};
    return std::nullopt;
  }
  if (auto e = CheckDocument(document, true)) return *e;
  Status st = catalog_->CreateDoc(kind, catalog::DocRow{name, document, 1, Now(), Now()});
  if (st.code() == Code::kAlreadyExists) {
    int64_t v;
    st = catalog_->UpdateDoc(kind, name, document, Now(), &v);
  }
  if (!st.ok()) return IamError{500, "ServiceFailure", st.message()};
  return std::nullopt;
}

std::optional<std::string> IamStore::GetResourcePolicy(catalog::DocKind kind,
                                                       const std::string& name) {
  auto d = catalog_->GetDoc(kind, name);
  if (!d.ok() || !*d) return std::nullopt;
  return (*d)->spec;
}

}  // namespace millrace::iam
