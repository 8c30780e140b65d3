#include "kms/service.h"

#include <simdjson.h>

#include <algorithm>
#include <regex>

#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "common/request_id.h"

namespace millrace::kms {
namespace {

constexpr std::string_view kTargetPrefix = "TrentService.";

struct Answer {
  int status = 200;
  std::string body;
};

Answer Error(int status, std::string_view type, const std::string& message) {
  Answer a;
  a.status = status;
  JsonWriter w(&a.body);
  w.BeginObject();
  w.Key("__type");
  w.String(type);
  w.Key("message");
  w.String(message);
  w.EndObject();
  return a;
}

// A Status from the key store: its KMS exception, or the one its code stands for.
Answer Error(const Status& st) {
  if (!st.type().empty()) return Error(400, st.type(), st.message());
  switch (st.code()) {
    case Code::kNotFound:
      return Error(400, "NotFoundException", st.message());
    case Code::kInvalidArgument:
      return Error(400, "ValidationException", st.message());
    case Code::kNoSpace:
    case Code::kUnavailable:
      return Error(503, "KMSInternalException", st.message());
    default:
      LOG(kWarn) << "kms: " << st.ToString();
      return Error(500, "KMSInternalException", st.message());
  }
}

Answer Validation(const std::string& value, const char* member, const std::string& constraint) {
  return Error(400, "ValidationException",
               "1 validation error detected: Value '" + std::string(Abbreviate(value, 256)) +
                   "' at '" + member + "' failed to satisfy constraint: " + constraint);
}

void Seconds(JsonWriter& w, int64_t ms) { w.Double(static_cast<double>(ms) / 1000.0); }

void WriteKeyMetadata(JsonWriter& w, const KeyStore& ks, const KeyInfo& k,
                      const std::string& account) {
  w.Key("KeyMetadata");
  w.BeginObject();
  w.Key("AWSAccountId");
  w.String(account);
  w.Key("KeyId");
  w.String(k.id);
  w.Key("Arn");
  w.String(ks.KeyArn(k.id));
  w.Key("CreationDate");
  Seconds(w, k.created_ms);
  w.Key("Enabled");
  w.Bool(k.state == "Enabled");
  w.Key("Description");
  w.String(k.description);
  w.Key("KeyUsage");
  w.String("ENCRYPT_DECRYPT");
  w.Key("KeyState");
  w.String(k.state);
  if (k.state == "PendingDeletion") {
    w.Key("DeletionDate");
    Seconds(w, k.deletion_ms);
  }
  w.Key("Origin");
  w.String("AWS_KMS");
  w.Key("KeyManager");
  w.String(k.manager);
  w.Key("CustomerMasterKeySpec");
  w.String("SYMMETRIC_DEFAULT");
  w.Key("KeySpec");
  w.String("SYMMETRIC_DEFAULT");
  w.Key("EncryptionAlgorithms");
  w.BeginArray();
  w.String("SYMMETRIC_DEFAULT");
  w.EndArray();
  w.Key("MultiRegion");
  w.Bool(false);
  w.EndObject();
}

std::optional<std::string_view> Str(simdjson::dom::element doc, const char* key) {
  std::string_view v;
  if (doc[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

bool Present(simdjson::dom::element doc, const char* key) {
  simdjson::dom::element e;
  return doc[key].get(e) == simdjson::SUCCESS && !e.is_null();
}

// The actions, each (keys, body) -> answer. Inputs were checked for their types by the
// caller only as far as "an object"; each checks its own members.
using Body = simdjson::dom::element;

Answer Ok(std::string body) { return Answer{200, std::move(body)}; }

Answer RequireKeyId(Body doc, std::string_view* ref) {
  auto v = Str(doc, "KeyId");
  if (!v || v->empty() || v->size() > 2048)
    return Validation(std::string(v.value_or("null")), "keyId",
                      "Member must have length between 1 and 2048");
  *ref = *v;
  return Answer{0, ""};
}

const std::regex& AliasPattern() {
  static const std::regex re("^alias/[a-zA-Z0-9:/_-]+$");
  return re;
}

Answer CheckAliasName(Body doc, std::string* alias, bool creating) {
  auto v = Str(doc, "AliasName");
  if (!v || v->empty() || v->size() > 256)
    return Validation(std::string(v.value_or("null")), "aliasName",
                      "Member must have length between 1 and 256");
  if (!std::regex_match(v->begin(), v->end(), AliasPattern()))
    return Validation(std::string(*v), "aliasName",
                      "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
  if (creating && v->starts_with("alias/aws/"))
    return Error(400, "InvalidAliasNameException",
                 "Alias must not begin with 'alias/aws/'. The alias/aws/ prefix is reserved for "
                 "AWS managed keys.");
  *alias = std::string(*v);
  return Answer{0, ""};
}

}  // namespace

bool KmsService::Handles(const http::Request& req) {
  return req.HeaderOr("x-amz-target", "").starts_with(kTargetPrefix);
}

std::optional<http::Response> KmsService::CheckHead(const http::Request& head) {
  if (!auth_) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = "kms";
  vo.region = region_;
  std::optional<auth::AuthError> e = directory_->AuthenticateHead(head, vo);
  if (!e) return std::nullopt;
  Answer a = Error(e->kind == auth::AuthErrorKind::kRequestExpired ? 403 : 400,
                   auth::AuthErrorName(e->kind), e->message);
  http::Response r;
  r.status = a.status;
  r.body = std::move(a.body);
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", NewRequestId());
  return r;
}

void KmsService::Handle(http::Request&& req, http::Responder responder) {
  const std::string request_id = NewRequestId();
  auto send = [&](Answer a) {
    http::Response r;
    r.status = a.status;
    r.body = std::move(a.body);
    r.SetHeader("Content-Type", "application/x-amz-json-1.1");
    r.SetHeader("x-amzn-RequestId", request_id);
    responder.Send(std::move(r));
  };
  const std::string action(req.HeaderOr("x-amz-target", "").substr(kTargetPrefix.size()));
  if (req.method != "POST")
    return send(Error(400, "UnsupportedOperationException", "KMS actions are POST requests"));

  std::shared_ptr<const iam::Principal> principal;
  if (auth_) {
    auth::VerifyOptions vo;
    vo.service = "kms";
    vo.region = region_;
    auto result = directory_->Authenticate(req, vo);
    if (auto* e = std::get_if<auth::AuthError>(&result))
      return send(Error(e->kind == auth::AuthErrorKind::kRequestExpired ? 403 : 400,
                        auth::AuthErrorName(e->kind), e->message));
    principal = std::get<iam::Authenticated>(result).principal;
  }
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body))
              .get(doc) != simdjson::SUCCESS ||
      doc.type() != simdjson::dom::element_type::OBJECT)
    return send(Error(400, "SerializationException", "The request body is not a JSON object"));

  static const char* const kActions[] = {"CreateKey",         "DescribeKey", "ListKeys",
                                         "EnableKey",         "DisableKey",  "ScheduleKeyDeletion",
                                         "CancelKeyDeletion", "CreateAlias", "UpdateAlias",
                                         "DeleteAlias",       "ListAliases"};
  if (std::find_if(std::begin(kActions), std::end(kActions),
                   [&](const char* a) { return action == a; }) == std::end(kActions)) {
    if (action.empty() || action.size() > 64)
      return send(Error(400, "UnknownOperationException", ""));
    return send(Error(400, "UnsupportedOperationException",
                      "Millrace's KMS API manages the keys that encrypt streams; it does not "
                      "offer " +
                          std::string(Abbreviate(action, 64)) +
                          " (docs/kms-api.md lists its actions)"));
  }

  // Authorization: kms:<Action> on the key or alias the request names (by its ARN), or on
  // every key of the account for CreateKey, ListKeys and ListAliases.
  if (principal) {
    std::string resource = "arn:aws:kms:" + region_ + ":" + account_ + ":key/*";
    std::string_view ref = Str(doc, "KeyId").value_or(Str(doc, "AliasName").value_or(""));
    if (!ref.empty() && ref.size() <= 2048) {
      resource = ref.starts_with("arn:")     ? std::string(ref)
                 : ref.starts_with("alias/") ? keys_->AliasArn(std::string(ref))
                                             : keys_->KeyArn(std::string(ref));
    }
    iam::RequestContext rc = directory_->NewContext(*principal, req, "kms:" + action, resource);
    iam::Decision d = directory_->Authorize(*principal, rc, nullptr, account_);
    if (d != iam::Decision::kAllow)
      return send(Error(
          400, "AccessDeniedException",
          "User: " + principal->ref.arn + " is not authorized to perform: kms:" + action +
              " on resource: " + resource +
              (d == iam::Decision::kExplicitDeny
                   ? " with an explicit deny"
                   : " because no identity-based policy allows the kms:" + action + " action")));
  }

  std::string body;
  JsonWriter w(&body);
  std::string_view ref;
  if (action == "CreateKey") {
    const std::string description(Str(doc, "Description").value_or(""));
    if (description.size() > 8192)
      return send(Validation(description, "description",
                             "Member must have length less than or equal to 8192"));
    for (const char* member : {"KeySpec", "CustomerMasterKeySpec"})
      if (auto v = Str(doc, member); v && *v != "SYMMETRIC_DEFAULT")
        return send(Error(400, "UnsupportedOperationException",
                          std::string(member) + " " + std::string(Abbreviate(*v, 64)) +
                              " is not offered: Millrace's keys are SYMMETRIC_DEFAULT"));
    if (auto v = Str(doc, "KeyUsage"); v && *v != "ENCRYPT_DECRYPT")
      return send(Error(400, "UnsupportedOperationException",
                        "KeyUsage " + std::string(Abbreviate(*v, 64)) +
                            " is not offered: Millrace's keys are ENCRYPT_DECRYPT"));
    if (auto v = Str(doc, "Origin"); v && *v != "AWS_KMS")
      return send(Error(400, "UnsupportedOperationException",
                        "Origin " + std::string(Abbreviate(*v, 64)) +
                            " is not offered: Millrace makes its keys' material (AWS_KMS)"));
    bool multi = false;
    if (doc["MultiRegion"].get(multi) == simdjson::SUCCESS && multi)
      return send(Error(400, "UnsupportedOperationException",
                        "Multi-Region keys are not offered: a Millrace server is one region"));
    if (Present(doc, "Policy"))
      return send(Error(400, "UnsupportedOperationException",
                        "Key policies are not offered: access to keys is granted by identity "
                        "policies (kms:<Action>)"));
    simdjson::dom::array tags;
    if (doc["Tags"].get(tags) == simdjson::SUCCESS && tags.size() > 0)
      return send(Error(400, "UnsupportedOperationException", "Tags on keys are not offered"));
    auto k = keys_->CreateKey(description);
    if (!k.ok()) return send(Error(k.status()));
    w.BeginObject();
    WriteKeyMetadata(w, *keys_, *k, account_);
    w.EndObject();
    return send(Ok(std::move(body)));
  }
  if (action == "ListKeys" || action == "ListAliases") {
    int64_t limit = 100;
    if (doc["Limit"].get(limit) == simdjson::SUCCESS && (limit < 1 || limit > 1000))
      return send(
          Validation(std::to_string(limit), "limit", "Member must have value between 1 and 1000"));
    const std::string marker(Str(doc, "Marker").value_or(""));
    std::vector<std::string> names;  // sorted: the marker is the last name returned
    std::vector<AliasInfo> aliases;
    std::vector<KeyInfo> keys;
    if (action == "ListKeys") {
      keys = keys_->ListKeys();
    } else {
      std::optional<std::string_view> key;
      if (auto v = Str(doc, "KeyId")) key = *v;
      auto a = keys_->ListAliases(key);
      if (!a.ok()) return send(Error(a.status()));
      aliases = std::move(*a);
    }
    w.BeginObject();
    w.Key(action == "ListKeys" ? "Keys" : "Aliases");
    w.BeginArray();
    int64_t n = 0;
    std::string last;
    bool more = false;
    auto emit = [&](const std::string& name, auto&& write) {
      if (!marker.empty() && name <= marker) return;
      if (n == limit) {
        more = true;
        return;
      }
      ++n;
      last = name;
      write();
    };
    for (const KeyInfo& k : keys)
      emit(k.id, [&] {
        w.BeginObject();
        w.Key("KeyId");
        w.String(k.id);
        w.Key("KeyArn");
        w.String(keys_->KeyArn(k.id));
        w.EndObject();
      });
    for (const AliasInfo& a : aliases)
      emit(a.name, [&] {
        w.BeginObject();
        w.Key("AliasName");
        w.String(a.name);
        w.Key("AliasArn");
        w.String(keys_->AliasArn(a.name));
        w.Key("TargetKeyId");
        w.String(a.target);
        w.Key("CreationDate");
        Seconds(w, a.created_ms);
        w.Key("LastUpdatedDate");
        Seconds(w, a.updated_ms);
        w.EndObject();
      });
    w.EndArray();
    if (more) {
      w.Key("NextMarker");
      w.String(last);
    }
    w.Key("Truncated");
    w.Bool(more);
    w.EndObject();
    return send(Ok(std::move(body)));
  }
  if (action == "CreateAlias" || action == "UpdateAlias" || action == "DeleteAlias") {
    std::string alias;
    if (Answer bad = CheckAliasName(doc, &alias, action != "DeleteAlias"); bad.status)
      return send(std::move(bad));
    Status st;
    if (action == "DeleteAlias") {
      st = keys_->DeleteAlias(alias);
    } else {
      auto target = Str(doc, "TargetKeyId");
      if (!target || target->empty() || target->size() > 2048)
        return send(Validation(std::string(target.value_or("null")), "targetKeyId",
                               "Member must have length between 1 and 2048"));
      if (target->starts_with("alias/") || target->find(":alias/") != std::string_view::npos)
        return send(Error(400, "ValidationException",
                          "Aliases must refer to keys. Not aliases"));  // KMS's own words
      st = action == "CreateAlias" ? keys_->CreateAlias(alias, *target)
                                   : keys_->UpdateAlias(alias, *target);
    }
    if (!st.ok()) return send(Error(st));
    return send(Ok(""));
  }
  // The rest name one key.
  if (Answer bad = RequireKeyId(doc, &ref); bad.status) return send(std::move(bad));
  Result<KeyInfo> k = Status::Internal("unreached");
  int64_t days = kMaxPendingDays;
  if (action == "DescribeKey") {
    k = keys_->Describe(ref);
  } else if (action == "EnableKey" || action == "DisableKey") {
    k = keys_->SetEnabled(ref, action == "EnableKey");
  } else if (action == "ScheduleKeyDeletion") {
    if (doc["PendingWindowInDays"].get(days) == simdjson::SUCCESS &&
        (days < kMinPendingDays || days > kMaxPendingDays))
      return send(Validation(std::to_string(days), "pendingWindowInDays",
                             "Member must have value between 7 and 30"));
    k = keys_->ScheduleDeletion(ref, static_cast<int>(days));
  } else {  // CancelKeyDeletion
    k = keys_->CancelDeletion(ref);
  }
  if (!k.ok()) return send(Error(k.status()));
  w.BeginObject();
  if (action == "DescribeKey") {
    WriteKeyMetadata(w, *keys_, *k, account_);
  } else if (action == "ScheduleKeyDeletion") {
    w.Key("KeyId");
    w.String(keys_->KeyArn(k->id));
    w.Key("DeletionDate");
    Seconds(w, k->deletion_ms);
    w.Key("KeyState");
    w.String(k->state);
    w.Key("PendingWindowInDays");
    w.Int(days);
  } else if (action == "CancelKeyDeletion") {
    w.Key("KeyId");
    w.String(keys_->KeyArn(k->id));
  }
  w.EndObject();
  send(Ok(action == "EnableKey" || action == "DisableKey" ? "" : std::move(body)));
}

}  // namespace millrace::kms
