#include "common/encoding.h"
#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

const Fields kSchema = {
    {.name = "ExclusiveStartStreamName",
     .type = FieldType::kString,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    {.name = "Limit", .type = FieldType::kInteger, .min_value = 1, .max_value = 10000},
    {.name = "NextToken", .type = FieldType::kString, .min_len = 1, .max_len = 1048576},
};

// NextToken: base64 of the last stream name returned.
void Handle(Context& ctx, Reply reply) {
  int limit = static_cast<int>(GetInt(ctx.body, "Limit").value_or(100));
  std::string after;
  if (auto t = GetString(ctx.body, "NextToken")) {
    if (GetString(ctx.body, "ExclusiveStartStreamName"))
      return reply.Error(Status::InvalidArgument(
          "NextToken and ExclusiveStartStreamName cannot be provided together."));
    if (!Base64Decode(*t, &after) || after.empty())
      return reply.Error(Status::InvalidArgument("The NextToken is invalid."));
  } else if (auto s = GetString(ctx.body, "ExclusiveStartStreamName")) {
    after = std::string(*s);
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  std::vector<std::shared_ptr<streams::Stream>> page;
  bool more = false;
  for (auto& s : ctx.streams->List()) {
    if (!after.empty() && s->name <= after) continue;
    if (static_cast<int>(page.size()) == limit) {
      more = true;
      break;
    }
    page.push_back(s);
  }
  w.Key("StreamNames");
  w.BeginArray();
  for (auto& s : page) w.String(s->name);
  w.EndArray();
  w.Key("HasMoreStreams");
  w.Bool(more);
  if (more) {
    w.Key("NextToken");
    w.String(Base64Encode(page.back()->name));
  }
  w.Key("StreamSummaries");
  w.BeginArray();
  for (auto& s : page) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    w.BeginObject();
    w.Key("StreamName");
    w.String(s->name);
    w.Key("StreamARN");
    w.String(ctx.streams->StreamArn(s->name, ctx.region));
    w.Key("StreamStatus");
    w.String(streams::StatusName(s->status));
    w.Key("StreamModeDetails");
    w.BeginObject();
    w.Key("StreamMode");
    w.String(streams::ModeName(s->mode));
    w.EndObject();
    w.Key("StreamCreationTimestamp");
    WriteTimestamp(w, s->created_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kListStreams{"ListStreams", &kSchema, StreamRef::kNone, Access::kAdmin, Handle};

}  // namespace millrace::kinesis
