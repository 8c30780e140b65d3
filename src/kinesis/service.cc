#include "kinesis/service.h"

#include <cstdio>
#include <random>
#include <unordered_map>

#include "auth/sigv4.h"
#include "common/cbor.h"
#include "common/encoding.h"
#include "common/logging.h"
#include "common/request_id.h"
#include "kinesis/action.h"
#include "streams/sequence.h"

namespace millrace::kinesis {
namespace {

constexpr std::string_view kTargetPrefix = "Kinesis_20131202.";
constexpr std::string_view kAmzJson = "application/x-amz-json-1.1";
constexpr std::string_view kAmzCbor = "application/x-amz-cbor-1.1";

// The one place Status codes become Kinesis exceptions.
void MapError(const Status& st, int* http_status, std::string* type) {
  *http_status = 400;
  if (!st.type().empty()) {  // the KMS exceptions (kms/key_store.h)
    *type = st.type();
    return;
  }
  switch (st.code()) {
    case Code::kNotFound:
      *type = "ResourceNotFoundException";
      return;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      *type = "ResourceInUseException";
      return;
    case Code::kInvalidArgument:
      *type = "InvalidArgumentException";
      return;
    case Code::kResourceExhausted:
      *type = "LimitExceededException";
      return;
    case Code::kThrottled:
      *type = "ProvisionedThroughputExceededException";
      return;
    case Code::kExpired:
      *type = "ExpiredIteratorException";
      return;
    case Code::kPermissionDenied:
      *type = "AccessDeniedException";
      return;
    case Code::kUnauthenticated:
      *type = "UnrecognizedClientException";
      return;
    case Code::kNoSpace:
    case Code::kUnavailable:
      // Retryable by every SDK: the write was not acknowledged and may be sent again.
      *http_status = 503;
      *type = "ServiceUnavailable";
      return;
    default:
      *http_status = 500;
      *type = "InternalFailure";
      return;
  }
}

int AuthErrorStatus(const auth::AuthError& e) {
  return e.kind == auth::AuthErrorKind::kRequestExpired ? 403 : 400;
}

std::string ErrorBody(const std::string& type, const std::string& message,
                      const char* message_key = "message") {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("__type");
  w.String(type);
  if (!message.empty()) {
    w.Key(message_key);
    w.String(message);
  }
  w.EndObject();
  return body;
}

http::Response JsonResponse(int status, std::string body, const std::string& request_id,
                            bool cbor = false) {
  http::Response r;
  r.status = status;
  r.SetHeader("x-amzn-RequestId", request_id);
  r.SetHeader("x-amz-id-2", NewExtendedRequestId());
  if (cbor) {
    // The same answer, encoded for a CBOR client: the handlers only ever write JSON.
    r.SetHeader("Content-Type", std::string(kAmzCbor));
    if (body.empty()) return r;
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string encoded;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS ||
        !JsonToCbor(doc, KinesisCborMember, &encoded)) {
      LOG(kError) << "kinesis: an answer could not be encoded as CBOR: " << Abbreviate(body, 200);
      r.status = 500;
      encoded.clear();
      simdjson::dom::element err;
      std::string json = R"({"__type":"InternalFailure"})";
      if (parser.parse(json).get(err) == simdjson::SUCCESS)
        JsonToCbor(err, KinesisCborMember, &encoded);
    }
    r.body = std::move(encoded);
    return r;
  }
  r.body = std::move(body);
  r.SetHeader("Content-Type", std::string(kAmzJson));
  return r;
}

const std::unordered_map<std::string_view, const Action*>& ActionTable() {
  static const auto* table = [] {
    auto* t = new std::unordered_map<std::string_view, const Action*>();
    for (const Action* a : AllActions()) (*t)[a->name] = a;
    return t;
  }();
  return *table;
}

}  // namespace

// The Kinesis model's blob and timestamp members, by name: every blob member of its
// operations is "Data" (PutRecord, PutRecords, GetRecords, SubscribeToShard's events), every
// timestamp member is named ...Timestamp but for DescribeAccountSettings' and
// UpdateAccountSettings' EarliestAllowedEndAt, EndedAt and StartedAt (checked against
// botocore's service model in tests/e2e/test_cbor.py).
CborMember KinesisCborMember(std::string_view key) {
  if (key == "Data") return CborMember::kBlob;
  if (key.ends_with("Timestamp") || key == "EarliestAllowedEndAt" || key == "EndedAt" ||
      key == "StartedAt")
    return CborMember::kTimestamp;
  return CborMember::kPlain;
}

void Reply::Json(std::string body) {
  responder_.Send(JsonResponse(200, std::move(body), request_id_, cbor_));
}

void Reply::Error(int http_status, const std::string& type, const std::string& message) {
  http::Response r = JsonResponse(http_status, ErrorBody(type, message), request_id_, cbor_);
  if (http_status == 503) r.SetHeader("Retry-After", "1");  // every SDK retries a 503 anyway
  responder_.Send(std::move(r));
}

void Reply::Send(http::Response response) {
  response.SetHeader("x-amzn-RequestId", request_id_);
  response.SetHeader("x-amz-id-2", NewExtendedRequestId());
  responder_.Send(std::move(response));
}

void Reply::Error(const Status& st) {
  int code;
  std::string type;
  MapError(st, &code, &type);
  if (code >= 500) LOG(kWarn) << "kinesis: " << type << ": " << st.ToString();
  Error(code, type, st.message());
}

auth::VerifyOptions KinesisService::VerifyOptionsForKinesis() const {
  // The scope must name this service and this server's region: a signature made for S3,
  // or for another region, is no Kinesis signature (the server serves one region).
  auth::VerifyOptions vo;
  vo.service = "kinesis";
  vo.region = streams_->options().region;
  return vo;
}

std::optional<http::Response> KinesisService::CheckHead(const http::Request& head) const {
  if (!options_.auth) return std::nullopt;
  std::optional<auth::AuthError> e = directory_->AuthenticateHead(head, VerifyOptionsForKinesis());
  if (!e) return std::nullopt;
  const bool cbor = head.HeaderOr("content-type", "").starts_with(kAmzCbor);
  return JsonResponse(AuthErrorStatus(*e),
                      ErrorBody(std::string(auth::AuthErrorName(e->kind)), e->message),
                      NewRequestId(), cbor);
}

void KinesisService::Handle(http::Request&& req, http::Responder responder) {
  const std::string request_id = NewRequestId();
  auto raw = [&](int status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.SetHeader("x-amzn-RequestId", request_id);
    r.SetHeader("x-amz-id-2", NewExtendedRequestId());
    responder.Send(std::move(r));
  };
  if (req.method != "POST")
    return raw(403,
               "<AccessDeniedException>\n  <Message>Unable to determine service/operation "
               "name to be authorized</Message>\n</AccessDeniedException>\n");
  std::string_view content_type = req.HeaderOr("content-type", "");
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  const bool cbor = content_type == "application/x-amz-cbor-1.1";
  std::string_view target = req.HeaderOr("x-amz-target", "");
  const Action* action = nullptr;
  if (target.substr(0, kTargetPrefix.size()) == kTargetPrefix) {
    auto it = ActionTable().find(target.substr(kTargetPrefix.size()));
    if (it != ActionTable().end()) action = it->second;
  }
  Reply reply(std::move(responder), request_id, cbor);
  if (!cbor && content_type != kAmzJson && content_type != "application/json") {
    return reply.Error(404, "UnknownOperationException", "");
  }
  // Authentication first: the body is parsed only for a caller whose signature holds (the
  // signature covers the body's hash, which needs no parsing).
  Caller caller;
  std::string region = streams_->options().region;
  if (options_.auth) {
    auto result = directory_->Authenticate(req, VerifyOptionsForKinesis());
    if (auto* e = std::get_if<auth::AuthError>(&result))
      return reply.Error(AuthErrorStatus(*e), std::string(auth::AuthErrorName(e->kind)),
                         e->message);
    caller.principal = std::get<iam::Authenticated>(result).principal;
    caller.access_key_id = caller.principal->access_key_id;
  }

  if (req.body.empty())
    return reply.Error(400, action ? "SerializationException" : "UnknownOperationException", "");

  // A CBOR body becomes the JSON it stands for (after authentication: the signature
  // covers the bytes as sent); from here on both are one path.
  std::string transcoded;
  std::optional<CborBlobs> blobs;  // its byte strings, referenced from `transcoded`
  if (cbor) {
    if (auto error = CborToJson(req.body, &transcoded, &blobs.emplace()))
      return reply.Error(400, "SerializationException", *error);
  }
  const RequestBlobs blob_scope(blobs ? &*blobs : nullptr);
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(cbor ? transcoded : req.body).get(doc) != simdjson::SUCCESS ||
      doc.type() != simdjson::dom::element_type::OBJECT)
    return reply.Error(400, "SerializationException", "");
  // Every action of today's Kinesis API is in the table: anything else is a name AWS never
  // heard of either, and gets its bare answer.
  if (!action) return reply.Error(400, "UnknownOperationException", "");

  const std::string& account = streams_->options().account_id;
  auto access_denied = [&](const std::string& resource, bool explicit_deny) {
    return reply.Error(400, "AccessDeniedException",
                       "User: " + caller.principal->ref.arn +
                           " is not authorized to perform: kinesis:" + action->name +
                           " on resource: " + resource +
                           (explicit_deny ? " with an explicit deny"
                                          : " because no identity-based policy allows the "
                                            "kinesis:" +
                                                std::string(action->name) + " action"));
  };
  const std::string iam_action = std::string("kinesis:") + action->name;
  if (caller.principal && !directory_->MayEverAllow(*caller.principal, iam_action, true))
    return access_denied("arn:aws:kinesis:" + region + ":" + account + ":*", false);

  // Validation.
  if (auto failure = Validate(doc, *action->schema)) {
    if (failure->type == "SerializationException")
      return reply.Error(400, failure->type, failure->message);
    return reply.Error(400, failure->type, failure->message);
  }

  Context ctx;
  ctx.streams = streams_;
  ctx.caller = &caller;
  ctx.body = doc;
  ctx.region = region;
  std::string resource_override;  // a consumer's ARN, authorized instead of its stream's
  switch (action->stream_ref) {
    case StreamRef::kNameOrArn:
    case StreamRef::kArnOnly:
    case StreamRef::kNameArnOrToken: {
      auto name = GetString(doc, "StreamName");
      auto arn = GetString(doc, "StreamARN");
      auto token = GetString(doc, "NextToken");
      if (action->stream_ref == StreamRef::kNameArnOrToken) {
        if (token && name)
          return reply.Error(400, "InvalidArgumentException",
                             "NextToken and StreamName cannot be provided together.");
        if (token && GetString(doc, "ExclusiveStartShardId"))
          return reply.Error(400, "InvalidArgumentException",
                             "NextToken and ExclusiveStartShardId cannot be provided together.");
        if (!token && !name && !arn)
          return reply.Error(400, "InvalidArgumentException",
                             "Either NextToken or StreamName should be provided.");
        if (token) {
          uint32_t unused;
          if (!DecodeShardToken(*token, &ctx.stream_name, &unused))
            return reply.Error(400, "InvalidArgumentException", "The NextToken is invalid.");
          break;
        }
      }
      if (name) {
        ctx.stream_name = std::string(*name);
        if (arn) {
          auto from_arn = streams::StreamNameFromArn(*arn, account);
          if (!from_arn || *from_arn != ctx.stream_name)
            return reply.Error(400, "InvalidArgumentException",
                               "StreamARN and StreamName do not name the same stream.");
        }
      } else if (arn) {
        auto from_arn = streams::StreamNameFromArn(*arn, account);
        if (!from_arn)
          return reply.Error(400, "ResourceNotFoundException",
                             "Stream " + std::string(*arn) + " not found.");
        ctx.stream_name = *from_arn;
      } else {
        return reply.Error(400, "ValidationException",
                           "1 validation error detected: Value null at 'streamName' failed to "
                           "satisfy constraint: Member must not be null");
      }
      break;
    }
    case StreamRef::kResourceArn: {
      auto arn = GetString(doc, "ResourceARN");
      auto from_arn = arn ? streams::StreamNameFromArn(*arn, account) : std::nullopt;
      if (!from_arn)
        return reply.Error(400, "ResourceNotFoundException",
                           "Resource " + std::string(arn.value_or("")) + " not found.");
      ctx.stream_name = *from_arn;
      break;
    }
    case StreamRef::kConsumer: {
      if (auto consumer_arn = GetString(doc, "ConsumerARN")) {
        auto from_arn = streams::StreamNameFromArn(*consumer_arn, account);
        if (!from_arn)
          return reply.Error(400, "ResourceNotFoundException",
                             "Consumer " + std::string(*consumer_arn) + " under account " +
                                 account + " not found.");
        ctx.stream_name = *from_arn;
        resource_override = std::string(*consumer_arn);
        break;
      }
      auto arn = GetString(doc, "StreamARN");
      if (!arn || !GetString(doc, "ConsumerName"))
        return reply.Error(400, "InvalidArgumentException",
                           "Either ConsumerARN or both StreamARN and ConsumerName must be "
                           "provided.");
      auto from_arn = streams::StreamNameFromArn(*arn, account);
      if (!from_arn)
        return reply.Error(400, "ResourceNotFoundException",
                           "Stream " + std::string(*arn) + " not found.");
      ctx.stream_name = *from_arn;
      break;
    }
    case StreamRef::kIterator: {
      auto it = GetString(doc, "ShardIterator");
      auto name = streams_->StreamNameOfIterator(std::string(it.value_or("")));
      if (!name.ok()) return reply.Error(name.status());
      ctx.stream_name = *name;
      break;
    }
    case StreamRef::kNone:
      break;
  }

  // Authorization: the caller's policies and the stream's own, as AWS evaluates them.
  if (!ctx.stream_name.empty()) ctx.stream_arn = streams_->StreamArn(ctx.stream_name, region);
  if (caller.principal) {
    const std::string resource = !resource_override.empty() ? resource_override
                                 : ctx.stream_arn.empty()
                                     ? "arn:aws:kinesis:" + region + ":" + account + ":*"
                                     : ctx.stream_arn;
    iam::RequestContext rc = directory_->NewContext(*caller.principal, req, iam_action, resource);
    iam::PolicyPtr stream_policy =
        ctx.stream_arn.empty() ? nullptr : directory_->StreamPolicy(ctx.stream_arn);
    iam::Decision d = directory_->Authorize(*caller.principal, rc, stream_policy.get(), account);
    if (d != iam::Decision::kAllow)
      return access_denied(resource, d == iam::Decision::kExplicitDeny);
  }
  ctx.iam = iam_store_;
  ctx.fanout = fanout_;
  ctx.kms = kms_;
  ctx.invalidate = [this] { directory_->Invalidate(); };
  action->handle(ctx, std::move(reply));
}

void WriteTimestamp(JsonWriter& w, int64_t ms) {
  // Epoch seconds with the milliseconds as decimals ("1700000000.123", "1700000000.1",
  // "1700000000"), as Double would print them, without printf on the read path.
  if (ms < 0) return w.Double(static_cast<double>(ms) / 1000.0);
  char buf[32];
  int n = 0;
  int64_t secs = ms / 1000, frac = ms % 1000;
  char digits[24];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + secs % 10);
    secs /= 10;
  } while (secs > 0);
  while (d > 0) buf[n++] = digits[--d];
  if (frac != 0) {
    buf[n++] = '.';
    buf[n++] = static_cast<char>('0' + frac / 100);
    buf[n++] = static_cast<char>('0' + frac / 10 % 10);
    buf[n++] = static_cast<char>('0' + frac % 10);
    while (buf[n - 1] == '0') --n;
  }
  w.Raw(std::string_view(buf, n));
}

void WriteStreamIdentity(JsonWriter& w, const Context& ctx, const streams::Stream& s) {
  w.Key("StreamName");
  w.String(s.name);
  w.Key("StreamARN");
  w.String(ctx.streams->StreamArn(s.name, ctx.region));
  w.Key("StreamStatus");
  w.String(streams::StatusName(s.status));
  w.Key("StreamModeDetails");
  w.BeginObject();
  w.Key("StreamMode");
  w.String(streams::ModeName(s.mode));
  w.EndObject();
}

void WriteStreamSettings(JsonWriter& w, const streams::Stream& s) {
  w.Key("RetentionPeriodHours");
  w.Int(s.retention_hours);
  w.Key("StreamCreationTimestamp");
  WriteTimestamp(w, s.created_ms);
  w.Key("EnhancedMonitoring");
  WriteEnhancedMonitoring(w, s.shard_metrics);
  w.Key("EncryptionType");
  w.String(s.encryption_type);
  if (!s.key_id.empty()) {
    w.Key("KeyId");
    w.String(s.key_id);
  }
}

void WriteShard(JsonWriter& w, const streams::Stream& s, const streams::Shard& sh) {
  w.BeginObject();
  w.Key("ShardId");
  w.String(sh.Id());
  if (sh.parent) {
    w.Key("ParentShardId");
    w.String(streams::ShardIdOf(*sh.parent));
  }
  if (sh.adjacent_parent) {
    w.Key("AdjacentParentShardId");
    w.String(streams::ShardIdOf(*sh.adjacent_parent));
  }
  w.Key("HashKeyRange");
  w.BeginObject();
  w.Key("StartingHashKey");
  w.String(Uint128ToDecimal(sh.range.start));
  w.Key("EndingHashKey");
  w.String(Uint128ToDecimal(sh.range.end));
  w.EndObject();
  w.Key("SequenceNumberRange");
  w.BeginObject();
  w.Key("StartingSequenceNumber");
  w.String(streams::EncodeSequence(s.id, sh.index, sh.starting_counter));
  if (sh.ending_counter) {
    w.Key("EndingSequenceNumber");
    w.String(streams::EncodeSequence(s.id, sh.index, *sh.ending_counter));
  }
  w.EndObject();
  w.EndObject();
}

}  // namespace millrace::kinesis
