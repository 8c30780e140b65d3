#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "ScalingType",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"UNIFORM_SCALING"}},
    StreamArnField(),
    StreamNameField(false),
    {.name = "TargetShardCount",
     .type = FieldType::kInteger,
     .not_null = true,
     .min_value = 1,
     .max_value = 100000},
};

void Handle(Context& ctx, Reply reply) {
  int target = static_cast<int>(GetInt(ctx.body, "TargetShardCount").value_or(0));
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  int current;
  {
    std::shared_lock<std::shared_mutex> r((*got)->mu);
    current = (*got)->OpenShardCount();
  }
  Status st = ctx.streams->UpdateShardCount(ctx.stream_name, target);
  if (!st.ok()) return reply.Error(st);
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("StreamName");
  w.String(ctx.stream_name);
  w.Key("CurrentShardCount");
  w.Int(current);
  w.Key("TargetShardCount");
  w.Int(target);
  w.Key("StreamARN");
  w.String(ctx.streams->StreamArn(ctx.stream_name, ctx.region));
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kUpdateShardCount{"UpdateShardCount", &kSchema, StreamRef::kNameOrArn,
                                      Access::kAdmin, Handle};

}  // namespace millrace::kinesis
