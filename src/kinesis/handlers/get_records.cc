#include "kinesis/action.h"
#include "streams/sequence.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "Limit", .type = FieldType::kInteger, .min_value = 1, .max_value = 10000},
    {.name = "ShardIterator",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 512},
    StreamArnField(),
};

void Handle(Context& ctx, Reply reply) {
  int limit = static_cast<int>(GetInt(ctx.body, "Limit").value_or(10000));
  auto got = ctx.streams->GetRecords(std::string(GetString(ctx.body, "ShardIterator").value_or("")),
                                     limit);
  if (!got.ok()) return reply.Error(got.status());
  const streams::GetRecordsResult& r = *got;
  std::string body;
  size_t estimate = 64;
  for (const auto& rec : r.records)
    estimate += rec.data.size() * 4 / 3 + rec.partition_key.size() + 140;
  body.reserve(estimate);
  JsonWriter w(&body);
  w.BeginObject();
  WriteRecordList(w, r);
  if (r.next_iterator) {
    w.Key("NextShardIterator");
    w.String(*r.next_iterator);
  }
  w.Key("MillisBehindLatest");
  w.Int(r.millis_behind);
  if (!r.next_iterator) WriteChildShards(w, r);
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

void WriteRecordList(JsonWriter& w, const streams::GetRecordsResult& r) {
  const streams::Stream& s = *r.stream;
  w.Key("Records");
  w.BeginArray();
  for (const auto& rec : r.records) {
    w.BeginObject();
    w.Key("SequenceNumber");
    streams::AppendSequence(w.BeginRawString(), s.id, r.shard_index, rec.counter);
    w.EndRawString();
    w.Key("ApproximateArrivalTimestamp");
    WriteTimestamp(w, rec.arrival_ms);
    w.Key("Data");
    w.Base64(rec.data);
    w.Key("PartitionKey");
    w.String(rec.partition_key);
    if (rec.sealed) {
      w.Key("EncryptionType");
      w.PlainString("KMS");
    }
    w.EndObject();
  }
  w.EndArray();
}

void WriteChildShards(JsonWriter& w, const streams::GetRecordsResult& r) {
  const streams::Stream& s = *r.stream;
  std::shared_lock<std::shared_mutex> l(s.mu);
  w.Key("ChildShards");
  w.BeginArray();
  for (const streams::Shard* c : r.child_shards) {
    w.BeginObject();
    w.Key("ShardId");
    w.String(c->Id());
    w.Key("ParentShards");
    w.BeginArray();
    if (c->parent) w.String(streams::ShardIdOf(*c->parent));
    if (c->adjacent_parent) w.String(streams::ShardIdOf(*c->adjacent_parent));
    w.EndArray();
    w.Key("HashKeyRange");
    w.BeginObject();
    w.Key("StartingHashKey");
    w.String(Uint128ToDecimal(c->range.start));
    w.Key("EndingHashKey");
    w.String(Uint128ToDecimal(c->range.end));
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

extern const Action kGetRecords{"GetRecords", &kSchema, StreamRef::kIterator, Access::kRead,
                                Handle};

}  // namespace millrace::kinesis
