#include "kinesis/action.h"
#include "kinesis/records.h"
#include "streams/sequence.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "Data", .type = FieldType::kBlob, .not_null = true, .max_len = kLargestRecordBytes},
    {.name = "ExplicitHashKey", .type = FieldType::kString, .pattern = &kHashKeyPattern},
    {.name = "PartitionKey",
     .type = FieldType::kString,
     .not_null = true,
     .min_len = 1,
     .max_len = 256},
    {.name = "SequenceNumberForOrdering", .type = FieldType::kString, .pattern = &kSequencePattern},
    StreamArnField(),
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  std::vector<streams::PutEntry> entries(1);
  Status st = ParsePutEntry(ctx.body, &entries[0]);
  if (!st.ok()) return reply.Error(st);
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  if (auto too_big = OversizedRecords(**got, entries, /*batch=*/false))
    return reply.Error(400, "ValidationException", *too_big);
  if (auto ordering = GetString(ctx.body, "SequenceNumberForOrdering"))
    if (Status bad = ctx.streams->CheckOrderingSequence(**got, entries[0], *ordering); !bad.ok())
      return reply.Error(bad);
  const uint64_t stream_id = (*got)->id;
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  ctx.streams->Put(*got, std::move(entries), /*all_or_nothing=*/true,
                   [shared_reply, stream_id](Status st, std::vector<streams::PutOutcome> out) {
                     if (!st.ok()) return shared_reply->Error(st);
                     const streams::PutOutcome& o = out[0];
                     if (!o.status.ok()) return shared_reply->Error(o.status);
                     std::string body;
                     body.reserve(128);
                     JsonWriter w(&body);
                     w.BeginObject();
                     w.Key("ShardId");
                     w.String(streams::ShardIdOf(o.shard_index));
                     w.Key("SequenceNumber");
                     w.String(streams::EncodeSequence(stream_id, o.shard_index, o.counter));
                     if (o.sealed) {
                       w.Key("EncryptionType");
                       w.String("KMS");
                     }
                     w.EndObject();
                     shared_reply->Json(std::move(body));
                   });
}

}  // namespace

extern const Action kPutRecord{"PutRecord", &kSchema, StreamRef::kNameOrArn, Access::kWrite,
                               Handle};

}  // namespace millrace::kinesis
