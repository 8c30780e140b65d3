#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "EnforceConsumerDeletion", .type = FieldType::kBoolean},
    StreamArnField(),
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  Status st = ctx.streams->DeleteStream(ctx.stream_name);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

}  // namespace

extern const Action kDeleteStream{"DeleteStream", &kSchema, StreamRef::kNameOrArn, Access::kAdmin,
                                  Handle};

}  // namespace millrace::kinesis
