// EnableEnhancedMonitoring, DisableEnhancedMonitoring: which shard-level metrics /metrics
// shows for the stream (streams::kShardMetricNames; "ALL" names them all).
#include <algorithm>

#include "common/encoding.h"
#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "ShardLevelMetrics",
     .type = FieldType::kList,
     .not_null = true,
     .min_len = 1,
     .max_len = 7,
     .enum_values = {"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
                     "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
                     "IteratorAgeMilliseconds", "ALL"}},
    StreamArnField(),
    StreamNameField(false),
};

void WriteMetricList(JsonWriter& w, uint8_t bits) {
  w.BeginArray();
  for (size_t i = 0; i < std::size(streams::kShardMetricNames); ++i)
    if (bits & (1u << i)) w.String(streams::kShardMetricNames[i]);
  w.EndArray();
}

void Change(Context& ctx, Reply reply, bool enable) {
  uint8_t bits = 0;
  simdjson::dom::array names;
  if (ctx.body["ShardLevelMetrics"].get(names) == simdjson::SUCCESS)
    for (simdjson::dom::element e : names) {
      std::string_view n;
      if (e.get(n) != simdjson::SUCCESS) continue;
      const uint8_t before = bits;
      if (n == "ALL") bits |= streams::kAllShardMetrics;
      for (size_t i = 0; i < std::size(streams::kShardMetricNames); ++i)
        if (n == streams::kShardMetricNames[i]) bits |= static_cast<uint8_t>(1u << i);
      if (bits == before && n != "ALL" &&
          std::find(std::begin(streams::kShardMetricNames), std::end(streams::kShardMetricNames),
                    n) == std::end(streams::kShardMetricNames))
        return reply.Error(
            400, "ValidationException",
            "1 validation error detected: Value '[" + Abbreviate(n, 128) +
                "]' at 'shardLevelMetrics' failed to satisfy constraint: Member must satisfy "
                "constraint: [Member must satisfy enum value set: [IncomingBytes, "
                "IncomingRecords, OutgoingBytes, OutgoingRecords, "
                "WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, "
                "IteratorAgeMilliseconds, ALL]]");
    }
  auto changed = ctx.streams->SetShardMetrics(ctx.stream_name, bits, enable);
  if (!changed.ok()) return reply.Error(changed.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("StreamName");
  w.String(ctx.stream_name);
  w.Key("CurrentShardLevelMetrics");
  WriteMetricList(w, changed->first);
  w.Key("DesiredShardLevelMetrics");
  WriteMetricList(w, changed->second);
  w.Key("StreamARN");
  w.String(ctx.streams->StreamArn(ctx.stream_name, ctx.region));
  w.EndObject();
  reply.Json(std::move(body));
}

void Enable(Context& ctx, Reply reply) { Change(ctx, std::move(reply), true); }
void Disable(Context& ctx, Reply reply) { Change(ctx, std::move(reply), false); }

}  // namespace

// The metrics shown in DescribeStream's and DescribeStreamSummary's EnhancedMonitoring.
void WriteEnhancedMonitoring(JsonWriter& w, uint8_t bits) {
  w.BeginArray();
  w.BeginObject();
  w.Key("ShardLevelMetrics");
  WriteMetricList(w, bits);
  w.EndObject();
  w.EndArray();
}

extern const Action kEnableEnhancedMonitoring{"EnableEnhancedMonitoring", &kSchema,
                                              StreamRef::kNameOrArn, Access::kAdmin, Enable};
extern const Action kDisableEnhancedMonitoring{"DisableEnhancedMonitoring", &kSchema,
                                               StreamRef::kNameOrArn, Access::kAdmin, Disable};

}  // namespace millrace::kinesis
