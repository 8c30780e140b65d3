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
    {.name = "ShardCount", .type = FieldType::kInteger, .min_value = 1, .max_value = 100000},
    {.name = "StreamModeDetails", .type = FieldType::kStructure, .children = &kModeDetails},
    StreamNameField(true),
    {.name = "Tags", .type = FieldType::kMap, .min_len = 1, .max_len = 50},
    {.name = "MaxRecordSizeInKiB",
     .type = FieldType::kInteger,
     .min_value = streams::kDefaultMaxRecordKiB,
     .max_value = streams::kLargestMaxRecordKiB},
    {.name = "WarmThroughputMiBps",
     .type = FieldType::kInteger,
     .min_value = 0,
     .max_value = 10240},
};

void Handle(Context& ctx, Reply reply) {
  auto count = GetInt(ctx.body, "ShardCount");
  streams::StreamMode mode =
      count ? streams::StreamMode::kProvisioned : streams::StreamMode::kOnDemand;
  simdjson::dom::element details;
  if (ctx.body["StreamModeDetails"].get(details) == simdjson::SUCCESS) {
    auto m = GetString(details, "StreamMode");
    if (m && *m == "ON_DEMAND") mode = streams::StreamMode::kOnDemand;
    if (m && *m == "PROVISIONED") mode = streams::StreamMode::kProvisioned;
  }
  if (mode == streams::StreamMode::kProvisioned && !count)
    return reply.Error(
        Status::InvalidArgument("ShardCount must be specified for a stream in PROVISIONED mode."));
  std::vector<catalog::TagRow> tags;
  simdjson::dom::object tag_obj;
  if (ctx.body["Tags"].get(tag_obj) == simdjson::SUCCESS)
    for (auto [k, v] : tag_obj) tags.push_back({std::string(k), std::string(std::string_view(v))});
  streams::StreamLimits limits;
  if (auto kib = GetInt(ctx.body, "MaxRecordSizeInKiB"))
    limits.max_record_kib = static_cast<int>(*kib);
  if (auto warm = GetInt(ctx.body, "WarmThroughputMiBps"))
    limits.warm_target_mibps = static_cast<int>(*warm);
  Status st = ctx.streams->CreateStream(ctx.stream_name, count, mode, tags, limits);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kCreateStream{"CreateStream", &kSchema, StreamRef::kNameOrArn, Access::kAdmin,
                                  Handle};

}  // namespace millrace::kinesis
