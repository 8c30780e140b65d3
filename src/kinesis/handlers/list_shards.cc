#include "common/encoding.h"
#include "kinesis/action.h"

namespace millrace::kinesis {

std::string EncodeShardToken(const std::string& stream, uint32_t last_index) {
  return Base64Encode(stream + "\n" + std::to_string(last_index));
}

bool DecodeShardToken(std::string_view token, std::string* stream, uint32_t* last_index) {
  std::string raw;
  if (!Base64Decode(token, &raw)) return false;
  size_t nl = raw.find('\n');
  if (nl == std::string::npos || nl == 0) return false;
  *stream = raw.substr(0, nl);
  auto idx = streams::ParseShardId(raw.substr(nl + 1));
  if (!idx) return false;
  *last_index = *idx;
  return true;
}

namespace {

const Fields kFilter = {
    {.name = "ShardId",
     .type = FieldType::kString,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    {.name = "Timestamp", .type = FieldType::kTimestamp},
    {.name = "Type",
     .type = FieldType::kString,
     .not_null = true,
     .enum_values = {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST",
                     "AT_TIMESTAMP", "FROM_TIMESTAMP"}},
};

const Fields kSchema = {
    {.name = "ExclusiveStartShardId",
     .type = FieldType::kString,
     .min_len = 1,
     .max_len = 128,
     .pattern = &kStreamNamePattern},
    {.name = "MaxResults", .type = FieldType::kInteger, .min_value = 1, .max_value = 10000},
    {.name = "NextToken", .type = FieldType::kString, .min_len = 1, .max_len = 1048576},
    {.name = "ShardFilter", .type = FieldType::kStructure, .children = &kFilter},
    StreamArnField(),
    {.name = "StreamCreationTimestamp", .type = FieldType::kTimestamp},
    StreamNameField(false),
};

void Handle(Context& ctx, Reply reply) {
  auto got = ctx.streams->Get(ctx.stream_name);
  if (!got.ok()) return reply.Error(got.status());
  const streams::Stream& s = **got;
  int limit = static_cast<int>(GetInt(ctx.body, "MaxResults").value_or(1000));
  std::optional<uint32_t> after;
  if (auto t = GetString(ctx.body, "NextToken")) {
    std::string name;
    uint32_t last;
    if (DecodeShardToken(*t, &name, &last)) after = last;
  } else if (auto start = GetString(ctx.body, "ExclusiveStartShardId")) {
    after = streams::ParseShardId(*start);
  }
  std::string filter;
  std::optional<uint32_t> filter_shard;
  std::optional<int64_t> filter_ts;
  simdjson::dom::element f;
  if (ctx.body["ShardFilter"].get(f) == simdjson::SUCCESS && f.is_object()) {
    filter = std::string(GetString(f, "Type").value_or(""));
    if (auto id = GetString(f, "ShardId")) filter_shard = streams::ParseShardId(*id);
    if (auto ts = GetNumber(f, "Timestamp")) filter_ts = static_cast<int64_t>(*ts * 1000);
    if (filter == "AFTER_SHARD_ID" && !filter_shard)
      return reply.Error(
          Status::InvalidArgument("Must specify ShardId for ShardFilter of type AFTER_SHARD_ID."));
    if ((filter == "AT_TIMESTAMP" || filter == "FROM_TIMESTAMP") && !filter_ts)
      return reply.Error(Status::InvalidArgument("Must specify Timestamp for ShardFilter of type " +
                                                 filter + "."));
  }
  std::string body;
  JsonWriter w(&body);
  std::shared_lock<std::shared_mutex> r(s.mu);
  w.BeginObject();
  w.Key("Shards");
  w.BeginArray();
  int n = 0;
  std::optional<uint32_t> last;
  bool more = false;
  for (const auto& sh : s.shards) {
    if (!ctx.streams->ShardVisible(s, *sh)) continue;
    if (after && sh->index <= *after) continue;
    if (filter == "AFTER_SHARD_ID" && sh->index <= *filter_shard) continue;
    if (filter == "AT_LATEST" && !sh->open()) continue;
    if (filter == "AT_TIMESTAMP" || filter == "FROM_TIMESTAMP") {
      // Shards open at the timestamp (AT) or created after it too (FROM).
      bool closed_before = sh->closed_ms && *sh->closed_ms < *filter_ts;
      bool created_after = sh->created_ms > *filter_ts;
      if (closed_before) continue;
      if (filter == "AT_TIMESTAMP" && created_after) continue;
    }
    if (filter == "AT_TRIM_HORIZON" && sh->parent && s.FindShard(*sh->parent) &&
        ctx.streams->ShardVisible(s, *s.FindShard(*sh->parent)))
      continue;  // only the oldest generation still in retention
    if (n == limit) {
      more = true;
      break;
    }
    WriteShard(w, s, *sh);
    last = sh->index;
    ++n;
  }
  w.EndArray();
  if (more && last) {
    w.Key("NextToken");
    w.String(EncodeShardToken(s.name, *last));
  }
  w.EndObject();
  r.unlock();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kListShards{"ListShards", &kSchema, StreamRef::kNameArnOrToken,
                                Access::kDescribe, Handle};

}  // namespace millrace::kinesis
