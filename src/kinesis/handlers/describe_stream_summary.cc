#include "kinesis/action.h"
#include "kinesis/fanout.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {StreamArnField(), StreamNameField(false)};

void Handle(Context& ctx, Reply reply) {
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  const streams::Stream& s = **got;
  const int consumers = ctx.fanout ? ctx.fanout->Count(ctx.stream_name) : 0;
  std::string body;
  JsonWriter w(&body);
  std::shared_lock<std::shared_mutex> r(s.mu);
  w.BeginObject();
  w.Key("StreamDescriptionSummary");
  w.BeginObject();
  WriteStreamIdentity(w, ctx, s);
  WriteStreamSettings(w, s);
  w.Key("OpenShardCount");
  w.Int(s.OpenShardCount());
  w.Key("ConsumerCount");
  w.Int(consumers);
  if (s.warm_target_mibps) {
    w.Key("WarmThroughput");
    w.BeginObject();
    w.Key("TargetMiBps");
    w.Int(*s.warm_target_mibps);
    // Millrace's on-demand streams have no cold limit to warm: the target is current once
    // the update is over (UpdateStreamWarmThroughput's answer had the one before).
    if (s.status != streams::StreamStatus::kUpdating) {
      w.Key("CurrentMiBps");
      w.Int(*s.warm_target_mibps);
    }
    w.EndObject();
  }
  w.Key("MaxRecordSizeInKiB");
  w.Int(s.max_record_kib);
  w.EndObject();
  w.EndObject();
  r.unlock();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kDescribeStreamSummary{"DescribeStreamSummary", &kSchema, StreamRef::kNameOrArn,
                                           Access::kDescribe, Handle};

}  // namespace millrace::kinesis
