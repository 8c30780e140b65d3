// A stream's limits and the account's settings: UpdateMaxRecordSize,
// UpdateStreamWarmThroughput, DescribeAccountSettings and UpdateAccountSettings.
#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kMaxRecordSizeSchema = {
    {.name = "MaxRecordSizeInKiB",
     .type = FieldType::kInteger,
     .not_null = true,
     .min_value = streams::kDefaultMaxRecordKiB,
     .max_value = streams::kLargestMaxRecordKiB},
    StreamArnField(),
    {.name = "StreamId", .type = FieldType::kString, .min_len = 1, .max_len = 24},
};

void UpdateMaxRecordSize(Context& ctx, Reply reply) {
  const int kib = static_cast<int>(*GetInt(ctx.body, "MaxRecordSizeInKiB"));
  Status st = ctx.streams->SetMaxRecordSize(ctx.stream_name, kib);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

const Fields kWarmSchema = {
    StreamArnField(),
    StreamNameField(false),
    {.name = "StreamId", .type = FieldType::kString, .min_len = 1, .max_len = 24},
    // AWS's limit: an on-demand stream scales to at most 10 GiB/s.
    {.name = "WarmThroughputMiBps",
     .type = FieldType::kInteger,
     .not_null = true,
     .min_value = 0,
     .max_value = 10240},
};

void UpdateStreamWarmThroughput(Context& ctx, Reply reply) {
  const int mibps = static_cast<int>(*GetInt(ctx.body, "WarmThroughputMiBps"));
  auto before = ctx.streams->SetWarmThroughput(ctx.stream_name, mibps);
  if (!before.ok()) return reply.Error(before.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("StreamARN");
  w.String(ctx.stream_arn);
  w.Key("StreamName");
  w.String(ctx.stream_name);
  w.Key("WarmThroughput");
  w.BeginObject();
  w.Key("TargetMiBps");
  w.Int(mibps);
  w.Key("CurrentMiBps");
  w.Int(*before);  // the update is asynchronous: current until the stream is ACTIVE again
  w.EndObject();
  w.EndObject();
  reply.Json(std::move(body));
}

void WriteCommitment(JsonWriter& w, const streams::BillingCommitment& c, int64_t now_ms) {
  w.Key("MinimumThroughputBillingCommitment");
  w.BeginObject();
  w.Key("Status");
  w.String(c.Status(now_ms));
  if (c.started_ms) {
    w.Key("StartedAt");
    WriteTimestamp(w, c.started_ms);
  }
  if (c.ended_ms) {
    w.Key("EndedAt");
    WriteTimestamp(w, c.ended_ms);
  }
  if (c.earliest_end_ms && !(c.ended_ms && now_ms >= c.ended_ms)) {
    w.Key("EarliestAllowedEndAt");
    WriteTimestamp(w, c.earliest_end_ms);
  }
  w.EndObject();
}

const Fields kDescribeAccountSchema = {};

void DescribeAccountSettings(Context& ctx, Reply reply) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  WriteCommitment(w, ctx.streams->GetBillingCommitment(), ctx.streams->clock()->NowMillis());
  w.EndObject();
  reply.Json(std::move(body));
}

const Fields kCommitmentInput = {
    {.name = "Status",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"ENABLED", "DISABLED"}},
};

const Fields kUpdateAccountSchema = {
    {.name = "MinimumThroughputBillingCommitment",
     .type = FieldType::kStructure,
     .not_null = true,
     .children = &kCommitmentInput},
};

void UpdateAccountSettings(Context& ctx, Reply reply) {
  simdjson::dom::element in = ctx.body["MinimumThroughputBillingCommitment"].value_unsafe();
  const bool enable = GetString(in, "Status").value_or("") == "ENABLED";
  auto c = ctx.streams->SetBillingCommitment(enable);
  if (!c.ok()) return reply.Error(c.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  WriteCommitment(w, *c, ctx.streams->clock()->NowMillis());
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kUpdateMaxRecordSize{"UpdateMaxRecordSize", &kMaxRecordSizeSchema,
                                         StreamRef::kArnOnly, Access::kAdmin, UpdateMaxRecordSize};
extern const Action kUpdateStreamWarmThroughput{"UpdateStreamWarmThroughput", &kWarmSchema,
                                                StreamRef::kNameOrArn, Access::kAdmin,
                                                UpdateStreamWarmThroughput};
extern const Action kDescribeAccountSettings{"DescribeAccountSettings", &kDescribeAccountSchema,
                                             StreamRef::kNone, Access::kAdmin,
                                             DescribeAccountSettings};
extern const Action kUpdateAccountSettings{"UpdateAccountSettings", &kUpdateAccountSchema,
                                           StreamRef::kNone, Access::kAdmin, UpdateAccountSettings};

}  // namespace millrace::kinesis
