// IncreaseStreamRetentionPeriod and DecreaseStreamRetentionPeriod.
#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "RetentionPeriodHours",
     .type = FieldType::kInteger,
     .not_null = true,
     .min_value = 1},  // above 8760 is InvalidArgumentException, from the manager
    StreamArnField(),
    StreamNameField(false),
};

void Change(Context& ctx, Reply reply, bool increase) {
  int hours = static_cast<int>(GetInt(ctx.body, "RetentionPeriodHours").value_or(0));
  Status st = ctx.streams->SetRetention(ctx.stream_name, hours, increase);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

void Increase(Context& ctx, Reply reply) { Change(ctx, std::move(reply), true); }
void Decrease(Context& ctx, Reply reply) { Change(ctx, std::move(reply), false); }

}  // namespace

extern const Action kIncreaseStreamRetentionPeriod{"IncreaseStreamRetentionPeriod", &kSchema,
                                                   StreamRef::kNameOrArn, Access::kAdmin, Increase};
extern const Action kDecreaseStreamRetentionPeriod{"DecreaseStreamRetentionPeriod", &kSchema,
                                                   StreamRef::kNameOrArn, Access::kAdmin, Decrease};

}  // namespace millrace::kinesis
