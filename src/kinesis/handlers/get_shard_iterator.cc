#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    ShardIdField(),
    {.name = "ShardIteratorType",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER",
                     "TRIM_HORIZON"}},
    {.name = "StartingSequenceNumber", .type = FieldType::kString, .pattern = &kSequencePattern},
    StreamArnField(),
    StreamNameField(false),
    {.name = "Timestamp", .type = FieldType::kTimestamp},
};

void Handle(Context& ctx, Reply reply) {
  streams::StreamManager::IteratorRequest req;
  req.shard_id = std::string(GetString(ctx.body, "ShardId").value_or(""));
  req.type = std::string(GetString(ctx.body, "ShardIteratorType").value_or(""));
  if (auto seq = GetString(ctx.body, "StartingSequenceNumber"))
    req.sequence_number = std::string(*seq);
  if (auto ts = GetNumber(ctx.body, "Timestamp"))
    req.timestamp_ms = static_cast<int64_t>(*ts * 1000.0);
  auto it = ctx.streams->GetShardIterator(ctx.stream_name, req);
  if (!it.ok()) return reply.Error(it.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("ShardIterator");
  w.String(*it);
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kGetShardIterator{"GetShardIterator", &kSchema, StreamRef::kNameOrArn,
                                      Access::kRead, Handle};

}  // namespace millrace::kinesis
