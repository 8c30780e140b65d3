#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kModeDetails = {
    {.name = "StreamMode",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"PROVISIONED", "ON_DEMAND"}},
};

const Fields kSchema = {
    StreamArnField(/*required=*/true),
    {.name = "StreamModeDetails",
     .type = FieldType::kStructure,
     .not_null = true,
     .children = &kModeDetails},
};

void Handle(Context& ctx, Reply reply) {
  simdjson::dom::element details = ctx.body["StreamModeDetails"].value_unsafe();
  auto mode = GetString(details, "StreamMode").value_or("PROVISIONED") == "ON_DEMAND"
                  ? streams::StreamMode::kOnDemand
                  : streams::StreamMode::kProvisioned;
  Status st = ctx.streams->UpdateMode(ctx.stream_name, mode);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kUpdateStreamMode{"UpdateStreamMode", &kSchema, StreamRef::kArnOnly,
                                      Access::kAdmin, Handle};

}  // namespace millrace::kinesis
