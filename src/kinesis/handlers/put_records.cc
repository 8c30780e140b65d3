#include "kinesis/action.h"
#include "kinesis/records.h"
#include "streams/sequence.h"

namespace millrace::kinesis {
namespace {

const Fields kEntry = {
    {.name = "Data", .type = FieldType::kBlob, .not_null = true, .max_len = kLargestRecordBytes},
    {.name = "ExplicitHashKey", .type = FieldType::kString, .pattern = &kHashKeyPattern},
    {.name = "PartitionKey",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 256},
};

const Fields kSchema = {
    {.name = "Records",
     .type = FieldType::kList,
     .not_null = true,
     .min_len = 1,
     .max_len = 500,
     .member_str = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310",
     .children = &kEntry},
    StreamArnField(),
    StreamNameField(false),
};

// 10 MiB since AWS raised it from 5 MiB with large records (for every stream).
constexpr size_t kMaxRequestBytes = 10u << 20;

void Handle(Context& ctx, Reply reply) {
  simdjson::dom::array records = ctx.body["Records"].get_array().value_unsafe();
  std::vector<streams::PutEntry> entries(records.size());
  size_t i = 0, total = 0;
  for (simdjson::dom::element r : records) {
    Status st = ParsePutEntry(r, &entries[i]);
    if (!st.ok()) return reply.Error(st);
    total += entries[i].data.size() + entries[i].partition_key.size();
    ++i;
  }
  if (total > kMaxRequestBytes)
    return reply.Error(Status::InvalidArgument("Records size exceeds 10 MB limit"));
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  if (auto too_big = OversizedRecords(**got, entries, /*batch=*/true))
    return reply.Error(400, "ValidationException", *too_big);
  const uint64_t stream_id = (*got)->id;
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  ctx.streams->Put(
      *got, std::move(entries), /*all_or_nothing=*/false,
      [shared_reply, stream_id](Status st, std::vector<streams::PutOutcome> out) {
        if (!st.ok()) return shared_reply->Error(st);
        int failed = 0;
        for (const auto& o : out) failed += o.status.ok() ? 0 : 1;
        std::string body;
        body.reserve(32 + out.size() * 110);
        JsonWriter w(&body);
        w.BeginObject();
        w.Key("FailedRecordCount");
        w.Int(failed);
        w.Key("Records");
        w.BeginArray();
        for (const auto& o : out) {
          w.BeginObject();
          if (o.status.ok()) {
            w.Key("SequenceNumber");
            streams::AppendSequence(w.BeginRawString(), stream_id, o.shard_index, o.counter);
            w.EndRawString();
            w.Key("ShardId");
            w.PlainString(streams::ShardIdOf(o.shard_index));
          } else {
            w.Key("ErrorCode");
            w.String(o.status.code() == Code::kThrottled ? "ProvisionedThroughputExceededException"
                                                         : "InternalFailure");
            w.Key("ErrorMessage");
            w.String(o.status.message());
          }
          w.EndObject();
        }
        w.EndArray();
        if (!out.empty() && out[0].sealed) {  // every record of a call is sealed, or none
          w.Key("EncryptionType");
          w.PlainString("KMS");
        }
        w.EndObject();
        shared_reply->Json(std::move(body));
      });
}

}  // namespace

extern const Action kPutRecords{"PutRecords", &kSchema, StreamRef::kNameOrArn, Access::kWrite,
                                Handle};

}  // namespace millrace::kinesis
