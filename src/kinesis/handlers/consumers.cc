// Enhanced fan-out: RegisterStreamConsumer, DescribeStreamConsumer, ListStreamConsumers,
// DeregisterStreamConsumer and SubscribeToShard (kinesis/fanout.h does the work).
#include "common/encoding.h"
#include "kinesis/action.h"
#include "kinesis/fanout.h"

namespace millrace::kinesis {
namespace {

Field ConsumerNameField(bool required) {
  return {.name = "ConsumerName",
          .type = FieldType::kString,
          .not_null = required,
          .min_len = 1,
          .max_len = 128,
          .pattern = &kStreamNamePattern};
}
Field ConsumerArnField(bool required) {
  return {.name = "ConsumerARN",
          .type = FieldType::kString,
          .not_null = required,
          .min_len = 1,
          .max_len = 2048,
          .pattern = &kResourceArnPattern};
}
Field StreamArnRequired() {
  Field f = StreamArnField();
  f.not_null = true;
  return f;
}

const Fields kRegisterSchema = {StreamArnRequired(), ConsumerNameField(true)};
const Fields kByConsumerSchema = {StreamArnField(), ConsumerNameField(false),
                                  ConsumerArnField(false)};
const Fields kListSchema = {
    StreamArnRequired(),
    {.name = "MaxResults", .type = FieldType::kInteger, .min_value = 1, .max_value = 10000},
    {.name = "NextToken", .type = FieldType::kString, .min_len = 1, .max_len = 1048576},
    {.name = "StreamCreationTimestamp", .type = FieldType::kTimestamp},
};
const Fields kStartingPosition = {
    {.name = "Type",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST",
                     "AT_TIMESTAMP"}},
    {.name = "SequenceNumber", .type = FieldType::kString, .pattern = &kSequencePattern},
    {.name = "Timestamp", .type = FieldType::kTimestamp},
};
const Fields kSubscribeSchema = {
    ConsumerArnField(true),
    ShardIdField(),
    {.name = "StartingPosition",
     .type = FieldType::kStructure,
     .not_null = true,
     .children = &kStartingPosition},
};

void WriteConsumer(JsonWriter& w, const StreamConsumer& c, bool with_stream) {
  w.BeginObject();
  w.Key("ConsumerName");
  w.String(c.name);
  w.Key("ConsumerARN");
  w.String(c.arn);
  w.Key("ConsumerStatus");
  w.String(c.active ? "ACTIVE" : "CREATING");
  w.Key("ConsumerCreationTimestamp");
  WriteTimestamp(w, c.created_ms);
  if (with_stream) {
    w.Key("StreamARN");
    w.String(c.stream_arn);
  }
  w.EndObject();
}

Result<StreamConsumer> Resolve(Context& ctx) {
  if (auto arn = GetString(ctx.body, "ConsumerARN"))
    return ctx.fanout->FindByArn(std::string(*arn));
  return ctx.fanout->Find(ctx.stream_name,
                          std::string(GetString(ctx.body, "ConsumerName").value_or("")));
}

void Register(Context& ctx, Reply reply) {
  auto c = ctx.fanout->Register(ctx.stream_name,
                                std::string(GetString(ctx.body, "ConsumerName").value_or("")));
  if (!c.ok()) return reply.Error(c.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("Consumer");
  WriteConsumer(w, *c, false);
  w.EndObject();
  reply.Json(std::move(body));
}

void Describe(Context& ctx, Reply reply) {
  auto c = Resolve(ctx);
  if (!c.ok()) return reply.Error(c.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("ConsumerDescription");
  WriteConsumer(w, *c, true);
  w.EndObject();
  reply.Json(std::move(body));
}

void Deregister(Context& ctx, Reply reply) {
  auto c = Resolve(ctx);
  if (!c.ok()) return reply.Error(c.status());
  Status st = ctx.fanout->Deregister(*c);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

// NextToken: base64 of "<stream name>\n<name of the last consumer returned>".
void List(Context& ctx, Reply reply) {
  auto all = ctx.fanout->List(ctx.stream_name);
  if (!all.ok()) return reply.Error(all.status());
  const size_t max = static_cast<size_t>(GetInt(ctx.body, "MaxResults").value_or(100));
  size_t from = 0;
  if (auto token = GetString(ctx.body, "NextToken")) {
    std::string decoded;
    size_t nl;
    if (!Base64Decode(*token, &decoded) || (nl = decoded.find('\n')) == std::string::npos ||
        decoded.substr(0, nl) != ctx.stream_name)
      return reply.Error(400, "InvalidArgumentException", "The NextToken is invalid.");
    const std::string after = decoded.substr(nl + 1);
    while (from < all->size() && (*all)[from].name != after) ++from;
    if (from < all->size()) ++from;
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("Consumers");
  w.BeginArray();
  size_t i = from;
  for (; i < all->size() && i - from < max; ++i) WriteConsumer(w, (*all)[i], false);
  w.EndArray();
  if (i < all->size()) {
    w.Key("NextToken");
    w.String(Base64Encode(ctx.stream_name + "\n" + (*all)[i - 1].name));
  }
  w.EndObject();
  reply.Json(std::move(body));
}

void Subscribe(Context& ctx, Reply reply) {
  auto c = ctx.fanout->FindByArn(std::string(GetString(ctx.body, "ConsumerARN").value_or("")));
  if (!c.ok()) return reply.Error(c.status());
  simdjson::dom::element pos = ctx.body["StartingPosition"].value_unsafe();
  streams::StreamManager::IteratorRequest req;
  req.shard_id = std::string(GetString(ctx.body, "ShardId").value_or(""));
  req.type = std::string(GetString(pos, "Type").value_or(""));
  if (auto seq = GetString(pos, "SequenceNumber")) req.sequence_number = std::string(*seq);
  if (auto ts = GetNumber(pos, "Timestamp")) req.timestamp_ms = static_cast<int64_t>(*ts * 1000.0);
  http::Response head;
  Status st = ctx.fanout->Subscribe(*c, req.shard_id, req, reply.cbor(), &head);
  if (!st.ok()) return reply.Error(st);
  reply.Send(std::move(head));
}

}  // namespace

extern const Action kRegisterStreamConsumer{"RegisterStreamConsumer", &kRegisterSchema,
                                            StreamRef::kArnOnly, Access::kAdmin, Register};
extern const Action kDescribeStreamConsumer{"DescribeStreamConsumer", &kByConsumerSchema,
                                            StreamRef::kConsumer, Access::kDescribe, Describe};
extern const Action kDeregisterStreamConsumer{"DeregisterStreamConsumer", &kByConsumerSchema,
                                              StreamRef::kConsumer, Access::kAdmin, Deregister};
extern const Action kListStreamConsumers{"ListStreamConsumers", &kListSchema, StreamRef::kArnOnly,
                                         Access::kDescribe, List};
extern const Action kSubscribeToShard{"SubscribeToShard", &kSubscribeSchema, StreamRef::kConsumer,
                                      Access::kRead, Subscribe};

}  // namespace millrace::kinesis
