#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "AdjacentShardToMerge",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    {.name = "ShardToMerge",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    StreamArnField(),
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  Status st = ctx.streams->MergeShards(
      ctx.stream_name, std::string(GetString(ctx.body, "ShardToMerge").value_or("")),
      std::string(GetString(ctx.body, "AdjacentShardToMerge").value_or("")));
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kMergeShards{"MergeShards", &kSchema, StreamRef::kNameOrArn, Access::kAdmin,
                                 Handle};

}  // namespace millrace::kinesis
