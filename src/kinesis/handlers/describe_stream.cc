#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "ExclusiveStartShardId",
     .type = FieldType::kString,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    {.name = "Limit", .type = FieldType::kInteger, .min_value = 1, .max_value = 10000},
    StreamArnField(),
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  const streams::Stream& s = **got;
  int limit = static_cast<int>(GetInt(ctx.body, "Limit").value_or(100));
  auto start_after = GetString(ctx.body, "ExclusiveStartShardId");
  std::optional<uint32_t> after;
  if (start_after) after = streams::ParseShardId(*start_after);

  std::string body;
  JsonWriter w(&body);
  std::shared_lock<std::shared_mutex> r(s.mu);
  w.BeginObject();
  w.Key("StreamDescription");
  w.BeginObject();
  WriteStreamIdentity(w, ctx, s);
  w.Key("Shards");
  w.BeginArray();
  int n = 0;
  bool more = false;
  // A stream still CREATING has no shards to show yet (as AWS answers); ListShards refuses
  // it the same way GetShardIterator does.
  const bool creating = s.status == streams::StreamStatus::kCreating;
  for (const auto& sh : s.shards) {
    if (creating) break;
    if (!ctx.streams->ShardVisible(s, *sh)) continue;
    if (after && sh->index <= *after) continue;
    if (n == limit) {
      more = true;
      break;
    }
    WriteShard(w, s, *sh);
    ++n;
  }
  w.EndArray();
  w.Key("HasMoreShards");
  w.Bool(more);
  WriteStreamSettings(w, s);
  w.EndObject();
  w.EndObject();
  r.unlock();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kDescribeStream{"DescribeStream", &kSchema, StreamRef::kNameOrArn,
                                    Access::kDescribe, Handle};

}  // namespace millrace::kinesis
