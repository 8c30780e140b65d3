#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {StreamArnField(), StreamNameField(false)};

void Handle(Context& ctx, Reply reply) {
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  const streams::Stream& s = **got;
  std::string body;
  JsonWriter w(&body);
  std::shared_lock<std::shared_mutex> r(s.mu);
  w.BeginObject();
  w.Key("StreamDescriptionSummary");
  w.BeginObject();
  w.Key("StreamName");
  w.String(s.name);
  w.Key("StreamARN");
  w.String(ctx.streams->StreamArn(s.name, ctx.region));
  w.Key("StreamStatus");
  w.String(streams::StatusName(s.status));
  w.Key("StreamModeDetails");
  w.BeginObject();
  w.Key("StreamMode");
  w.String(streams::ModeName(s.mode));
  w.EndObject();
  w.Key("RetentionPeriodHours");
  w.Int(s.retention_hours);
  w.Key("StreamCreationTimestamp");
  WriteTimestamp(w, s.created_ms);
  w.Key("EnhancedMonitoring");
  w.Raw("[{\"ShardLevelMetrics\":[]}]");
  w.Key("EncryptionType");
  w.String(s.encryption_type);
  w.Key("OpenShardCount");
  w.Int(s.OpenShardCount());
  w.Key("ConsumerCount");
  w.Int(0);
  w.EndObject();
  w.EndObject();
  r.unlock();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kDescribeStreamSummary{"DescribeStreamSummary", &kSchema, StreamRef::kNameOrArn,
                                           Access::kRead, Handle};

}  // namespace millrace::kinesis
