// The tag actions: AddTagsToStream, RemoveTagsFromStream, ListTagsForStream, and the newer
// TagResource, UntagResource, ListTagsForResource (by ARN). One concept, six actions.
#include <cctype>

#include "kinesis/action.h"

namespace millrace::kinesis {
namespace {

Field TagMap(bool required) {
  return {.name = "Tags",
          .type = FieldType::kMap,
          .not_null = required,
          .min_len = 1,
          .max_len = 50,
          .member_min_len = 0,
          .member_max_len = 256,
          .key_min_len = 1,
          .key_max_len = 128};
}

// AWS's tag pattern, ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$: letters, separators (a space; not a
// tab or a newline), digits and _ . : / = + - @. Its message still lists % among the valid
// characters; the pattern, which today's AWS applies, refuses it. Bytes >= 0x80 are taken as
// letters: the check does not classify Unicode beyond that.
bool ValidTagText(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || std::isalnum(c) || c == ' ') continue;
    if (std::string_view("_.:/=+-@").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  }
  return true;
}

constexpr char kInvalidTagMessage[] =
    "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white "
    "space, _ . / = + - % @.";
Field TagKeys() {
  return {.name = "TagKeys",
          .type = FieldType::kList,
          .not_null = true,
          .min_len = 1,
          .max_len = 50,
          .member_min_len = 1,
          .member_max_len = 128};
}
Field ResourceArn() {
  return {.name = "ResourceARN",
          .type = FieldType::kString,
          .not_null = true,
          .min_len = 1,
          .max_len = 2048,
          .pattern = &kResourceArnPattern};
}

const Fields kAddSchema = {StreamArnField(), StreamNameField(false), TagMap(true)};
const Fields kRemoveSchema = {StreamArnField(), StreamNameField(false), TagKeys()};
const Fields kListSchema = {
    {.name = "ExclusiveStartTagKey", .type = FieldType::kString, .min_len = 1, .max_len = 128},
    {.name = "Limit", .type = FieldType::kInteger, .min_value = 1, .max_value = 50},
    StreamArnField(),
    StreamNameField(false),
};
const Fields kTagResourceSchema = {ResourceArn(), TagMap(true)};
const Fields kUntagResourceSchema = {ResourceArn(), TagKeys()};
const Fields kListForResourceSchema = {ResourceArn()};

Status ReadTags(simdjson::dom::element body, std::vector<catalog::TagRow>* out) {
  simdjson::dom::object tags;
  if (body["Tags"].get(tags) != simdjson::SUCCESS) return Status::Ok();
  for (auto [k, v] : tags) {
    std::string_view value;
    if (v.get(value) != simdjson::SUCCESS) value = "";
    if (!ValidTagText(k) || !ValidTagText(value))
      return Status::InvalidArgument(kInvalidTagMessage);
    out->push_back({std::string(k), std::string(value)});
  }
  return Status::Ok();
}

std::vector<std::string> ReadKeys(simdjson::dom::element body) {
  std::vector<std::string> keys;
  simdjson::dom::array arr;
  if (body["TagKeys"].get(arr) == simdjson::SUCCESS)
    for (simdjson::dom::element k : arr) {
      std::string_view s;
      if (k.get(s) == simdjson::SUCCESS) keys.emplace_back(s);
    }
  return keys;
}

void Add(Context& ctx, Reply reply) {
  std::vector<catalog::TagRow> tags;
  Status st = ReadTags(ctx.body, &tags);
  if (st.ok()) st = ctx.streams->AddTags(ctx.stream_name, tags);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

void Remove(Context& ctx, Reply reply) {
  std::vector<std::string> keys = ReadKeys(ctx.body);
  for (const std::string& k : keys)
    if (!ValidTagText(k)) return reply.Error(Status::InvalidArgument(kInvalidTagMessage));
  Status st = ctx.streams->RemoveTags(ctx.stream_name, keys);
  if (!st.ok()) return reply.Error(st);
  reply.Json("");
}

void WriteTag(JsonWriter& w, const catalog::TagRow& t) {
  w.BeginObject();
  w.Key("Key");
  w.String(t.key);
  w.Key("Value");
  w.String(t.value);
  w.EndObject();
}

void List(Context& ctx, Reply reply) {
  auto tags = ctx.streams->ListTags(ctx.stream_name);
  if (!tags.ok()) return reply.Error(tags.status());
  int limit = static_cast<int>(GetInt(ctx.body, "Limit").value_or(50));
  std::string after(GetString(ctx.body, "ExclusiveStartTagKey").value_or(""));
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("Tags");
  w.BeginArray();
  int n = 0;
  bool more = false;
  for (const auto& t : *tags) {
    if (!after.empty() && t.key <= after) continue;
    if (n == limit) {
      more = true;
      break;
    }
    WriteTag(w, t);
    ++n;
  }
  w.EndArray();
  w.Key("HasMoreTags");
  w.Bool(more);
  w.EndObject();
  reply.Json(std::move(body));
}

void ListForResource(Context& ctx, Reply reply) {
  auto tags = ctx.streams->ListTags(ctx.stream_name);
  if (!tags.ok()) return reply.Error(tags.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("Tags");
  w.BeginArray();
  for (const auto& t : *tags) WriteTag(w, t);
  w.EndArray();
  w.EndObject();
  reply.Json(std::move(body));
}

}  // namespace

extern const Action kAddTagsToStream{"AddTagsToStream", &kAddSchema, StreamRef::kNameOrArn,
                                     Access::kAdmin, Add};
extern const Action kRemoveTagsFromStream{"RemoveTagsFromStream", &kRemoveSchema,
                                          StreamRef::kNameOrArn, Access::kAdmin, Remove};
extern const Action kListTagsForStream{"ListTagsForStream", &kListSchema, StreamRef::kNameOrArn,
                                       Access::kAdmin, List};
extern const Action kTagResource{"TagResource", &kTagResourceSchema, StreamRef::kResourceArn,
                                 Access::kAdmin, Add};
extern const Action kUntagResource{"UntagResource", &kUntagResourceSchema, StreamRef::kResourceArn,
                                   Access::kAdmin, Remove};
extern const Action kListTagsForResource{"ListTagsForResource", &kListForResourceSchema,
                                         StreamRef::kResourceArn, Access::kAdmin, ListForResource};

}  // namespace millrace::kinesis
