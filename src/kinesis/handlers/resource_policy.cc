// PutResourcePolicy, GetResourcePolicy, DeleteResourcePolicy: a stream's resource policy,
// evaluated with the caller's own policies on every request for the stream (iam::Directory).
#include "iam/store.h"
#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

Field ResourceArnOf() {
  return {.name = "ResourceARN",
          .type = FieldType::kString,
          .not_null = true,
          .min_len = 1,
          .max_len = 2048,
          .pattern = &kResourceArnPattern};
}

const Fields kPutSchema = {ResourceArnOf(),
                           {.name = "Policy",
                            .type = FieldType::kString,
                            .not_null = true,
                            .min_len = 1,
                            .max_len = 20480}};
const Fields kArnSchema = {ResourceArnOf()};

// The stream must exist; its policy is kept by the stream's ARN.
bool Exists(Context& ctx, Reply& reply) {
  auto s = ctx.streams->Get(ctx.stream_name);
  if (s.ok()) return true;
  reply.Error(s.status());
  return false;
}

void Put(Context& ctx, Reply reply) {
  if (!Exists(ctx, reply)) return;
  std::string policy(GetString(ctx.body, "Policy").value_or(""));
  if (auto e = ctx.iam->PutResourcePolicy(catalog::DocKind::kStreamPolicy, ctx.stream_arn, policy))
    return reply.Error(e->status >= 500 ? 500 : 400,
                       e->status >= 500 ? "InternalFailure" : "InvalidArgumentException",
                       e->message);
  ctx.invalidate();
  reply.Json("");
}

void Get(Context& ctx, Reply reply) {
  if (!Exists(ctx, reply)) return;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("Policy");
  w.String(
      ctx.iam->GetResourcePolicy(catalog::DocKind::kStreamPolicy, ctx.stream_arn).value_or("{}"));
  w.EndObject();
  reply.Json(std::move(body));
}

void Delete(Context& ctx, Reply reply) {
  if (!Exists(ctx, reply)) return;
  if (!ctx.iam->GetResourcePolicy(catalog::DocKind::kStreamPolicy, ctx.stream_arn))
    return reply.Error(400, "ResourceNotFoundException",
                       "No resource policy found for resource " + ctx.stream_arn + ".");
  if (auto e = ctx.iam->PutResourcePolicy(catalog::DocKind::kStreamPolicy, ctx.stream_arn, ""))
    return reply.Error(500, "InternalFailure", e->message);
  ctx.invalidate();
  reply.Json("");
}

}  // namespace

extern const Action kPutResourcePolicy{"PutResourcePolicy", &kPutSchema, StreamRef::kResourceArn,
                                       Access::kAdmin, Put};
extern const Action kGetResourcePolicy{"GetResourcePolicy", &kArnSchema, StreamRef::kResourceArn,
                                       Access::kAdmin, Get};
extern const Action kDeleteResourcePolicy{"DeleteResourcePolicy", &kArnSchema,
                                          StreamRef::kResourceArn, Access::kAdmin, Delete};

}  // namespace millrace::kinesis
