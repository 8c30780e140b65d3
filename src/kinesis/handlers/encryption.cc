// Server-side encryption: StartStreamEncryption and StopStreamEncryption. The KeyId names a
// key of Millrace's own KMS API (kms/key_store.h): a key id, key ARN, alias name or alias
// ARN, or alias/aws/kinesis (the managed key, made on first use). Records put while a
// stream is encrypted are sealed at rest under that key (docs/format/log.md) and readable
// only while the key is enabled.
#include "kinesis/action.h"
#include "kms/key_store.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "EncryptionType",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"NONE", "KMS"}},
    {.name = "KeyId", .type = FieldType::kString, .not_null = true, .min_len = 1, .max_len = 2048},
    StreamArnField(),
    StreamNameField(false),
    {.name = "StreamId", .type = FieldType::kString, .min_len = 1, .max_len = 24},
};

// Both actions take EncryptionType KMS only; NONE is StopStreamEncryption's to say.
bool IsKms(Context& ctx, Reply& reply) {
  if (GetString(ctx.body, "EncryptionType").value_or("") == "KMS") return true;
  reply.Error(400, "InvalidArgumentException",
              "Encryption type NONE is not valid here: the only encryption type is KMS.");
  return false;
}

void Start(Context& ctx, Reply reply) {
  if (!IsKms(ctx, reply)) return;
  const std::string key_id(*GetString(ctx.body, "KeyId"));
  if (!ctx.kms) return reply.Error(Status::Internal("kinesis: no key store"));
  auto seal = ctx.kms->KeyForStreams(key_id);
  if (!seal.ok()) return reply.Error(seal.status());
  Status st = ctx.streams->SetEncryption(ctx.stream_name, key_id, *seal);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

void Stop(Context& ctx, Reply reply) {
  if (!IsKms(ctx, reply)) return;
  Status st = ctx.streams->SetEncryption(ctx.stream_name, "", "");
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kStartStreamEncryption{"StartStreamEncryption", &kSchema, StreamRef::kNameOrArn,
                                           Access::kAdmin, Start};
extern const Action kStopStreamEncryption{"StopStreamEncryption", &kSchema, StreamRef::kNameOrArn,
                                          Access::kAdmin, Stop};

}  // namespace millrace::kinesis
