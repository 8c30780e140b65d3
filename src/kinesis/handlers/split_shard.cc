#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "NewStartingHashKey",
     .type = FieldType::kString,
     .not_null = true,
     .pattern = &kHashKeyPattern},
    {.name = "ShardToSplit",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    StreamArnField(),
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  std::string_view key = GetString(ctx.body, "NewStartingHashKey").value_or("");
  auto hash = ParseUint128Decimal(key);
  if (!hash)
    return reply.Error(Status::InvalidArgument("NewStartingHashKey " + std::string(key) +
                                               " is not in the range [0, 2^128-1]."));
  Status st = ctx.streams->SplitShard(
      ctx.stream_name, std::string(GetString(ctx.body, "ShardToSplit").value_or("")), *hash);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kSplitShard{"SplitShard", &kSchema, StreamRef::kNameOrArn, Access::kAdmin,
                                Handle};

}  // namespace millrace::kinesis
