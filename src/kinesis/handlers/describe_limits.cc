#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {};

void Handle(Context& ctx, Reply reply) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("ShardLimit");
  w.Int(ctx.streams->options().shard_limit);
  w.Key("OpenShardCount");
  w.Int(ctx.streams->OpenShardsTotal());
  w.Key("OnDemandStreamCount");
  w.Int(ctx.streams->OnDemandStreamCount());
  w.Key("OnDemandStreamCountLimit");
  w.Int(ctx.streams->options().on_demand_stream_limit);
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kDescribeLimits{"DescribeLimits", &kSchema, StreamRef::kNone, Access::kAdmin,
                                    Handle};

}  // namespace millrace::kinesis
