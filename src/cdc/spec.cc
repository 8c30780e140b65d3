#include "cdc/spec.h"

#include <simdjson.h>

#include <algorithm>
#include <set>

#include "common/crypto.h"
#include "common/json_writer.h"

namespace millrace::cdc {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Bad(std::string_view field, const std::string& why) {
  return Status::InvalidArgument(std::string(field) + ": " + why);
}

Status GetString(element obj, std::string_view key, std::string_view field, std::string* out,
                 bool required) {
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.is_null()) {
    if (required) return Bad(field, "is required");
    return Status::Ok();
  }
  if (v.type() != element_type::STRING) return Bad(field, "must be a string");
  *out = std::string(std::string_view(v));
  return Status::Ok();
}

Status CheckMembers(element obj, std::string_view prefix, std::set<std::string_view> allowed,
                    std::set<std::string_view> ignored) {
  for (auto field : simdjson::dom::object(obj)) {
    if (allowed.count(field.key) || ignored.count(field.key)) continue;
    std::string names;
    for (std::string_view a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    return Bad(std::string(prefix) + std::string(field.key),
               "unknown field (the fields are " + names + ")");
  }
  return Status::Ok();
}

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

Status CheckName(std::string_view field, std::string_view name) {
  if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), NameChar))
    return Bad(field, "must be 1 to 128 letters, digits, '_', '.' or '-', not '" +
                          std::string(name.substr(0, 128)) + "'");
  return Status::Ok();
}

// PostgreSQL identifiers we accept unquoted in a table list: [A-Za-z_][A-Za-z0-9_$]*, up
// to 63 bytes. (Quoted identifiers with other characters are not supported.)
bool Identifier(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  });
}

std::string PgName(const std::string& name) {
  std::string base = "millrace_";
  for (char c : name)
    base.push_back(std::isalnum(static_cast<unsigned char>(c))
                       ? static_cast<char>(std::tolower(static_cast<unsigned char>(c)))
                       : '_');
  bool exact = base.size() <= 63;
  for (char c : name)
    exact = exact && (std::islower(static_cast<unsigned char>(c)) ||
                      std::isdigit(static_cast<unsigned char>(c)) || c == '_');
  if (exact) return base;
  // Two names that fold to the same characters get different hashes.
  return base.substr(0, 54) + "_" + crypto::Sha256Hex(name).substr(0, 8);
}

}  // namespace

std::string ChangeStreamSpec::SlotName() const { return slot.empty() ? PgName(name) : slot; }
std::string ChangeStreamSpec::PublicationName() const {
  return publication.empty() ? PgName(name) : publication;
}

Result<std::string> QualifiedTable(std::string_view table) {
  size_t dot = table.find('.');
  std::string_view schema = dot == std::string_view::npos ? "public" : table.substr(0, dot);
  std::string_view name = dot == std::string_view::npos ? table : table.substr(dot + 1);
  if (!Identifier(schema) || !Identifier(name))
    return Bad("source.tables",
               "'" + std::string(table.substr(0, 130)) +
                   "' is not a table name (schema.table, letters, digits, '_' and '$')");
  return std::string(schema) + "." + std::string(name);
}

std::pair<std::string, std::string> SplitTable(const std::string& qualified) {
  size_t dot = qualified.find('.');
  return {qualified.substr(0, dot), qualified.substr(dot + 1)};
}

Result<ChangeStreamSpec> ParseChangeStreamSpec(std::string_view json) {
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  if (doc.type() != element_type::OBJECT)
    return Status::InvalidArgument("the body must be a JSON object");
  ChangeStreamSpec s;
  MILLRACE_RETURN_IF_ERROR(CheckMembers(
      doc, "", {"name", "source", "stream", "image_format", "snapshot", "paused"},
      {"version", "created_at", "updated_at", "state", "status", "last_error", "last_error_at",
       "slot", "publication", "lag", "snapshot_progress", "counters", "stream_arn", "confirmed_lsn",
       "created_stream", "consecutive_failures", "changes_per_second"}));
  MILLRACE_RETURN_IF_ERROR(GetString(doc, "name", "name", &s.name, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("name", s.name));
  MILLRACE_RETURN_IF_ERROR(GetString(doc, "stream", "stream", &s.stream, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("stream", s.stream));

  element src;
  if (doc["source"].get(src) != simdjson::SUCCESS || src.is_null())
    return Bad("source",
               "is required ({\"type\": \"postgresql\", \"dsn\": ..., \"tables\": [...]})");
  if (src.type() != element_type::OBJECT) return Bad("source", "must be an object");
  MILLRACE_RETURN_IF_ERROR(CheckMembers(
      src, "source.", {"type", "dsn", "tables", "publication", "slot"}, {"dsn_redacted"}));
  std::string type;
  MILLRACE_RETURN_IF_ERROR(GetString(src, "type", "source.type", &type, true));
  if (type != "postgresql")
    return Bad("source.type",
               "must be postgresql (the only source there is), not '" + type.substr(0, 64) + "'");
  MILLRACE_RETURN_IF_ERROR(GetString(src, "dsn", "source.dsn", &s.dsn, true));
  if (s.dsn.empty() || s.dsn.size() > 4096)
    return Bad("source.dsn", "must be a PostgreSQL connection string of 1 to 4096 bytes");
  element tables;
  if (src["tables"].get(tables) != simdjson::SUCCESS || tables.type() != element_type::ARRAY)
    return Bad("source.tables", "is required: an array of table names (\"public.shipment\")");
  std::set<std::string> seen;
  for (element t : simdjson::dom::array(tables)) {
    if (t.type() != element_type::STRING) return Bad("source.tables", "must hold strings");
    auto q = QualifiedTable(std::string_view(t));
    if (!q.ok()) return q.status();
    if (seen.insert(*q).second) s.tables.push_back(*q);
  }
  if (s.tables.empty()) return Bad("source.tables", "must name at least one table");
  if (s.tables.size() > 1000) return Bad("source.tables", "may name at most 1000 tables");
  MILLRACE_RETURN_IF_ERROR(
      GetString(src, "publication", "source.publication", &s.publication, false));
  MILLRACE_RETURN_IF_ERROR(GetString(src, "slot", "source.slot", &s.slot, false));
  if (!s.publication.empty() && !Identifier(s.publication))
    return Bad("source.publication", "must be a PostgreSQL identifier of up to 63 bytes");
  if (!s.slot.empty() &&
      (s.slot.size() > 63 || !std::all_of(s.slot.begin(), s.slot.end(), [](char c) {
         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
       })))
    return Bad("source.slot",
               "must be 1 to 63 lower case letters, digits and '_' (PostgreSQL's rule)");

  std::string image = "plain";
  MILLRACE_RETURN_IF_ERROR(GetString(doc, "image_format", "image_format", &image, false));
  if (image == "plain")
    s.image_format = ImageFormat::kPlain;
  else if (image == "dynamodb")
    s.image_format = ImageFormat::kDynamoDb;
  else
    return Bad("image_format", "must be plain or dynamodb, not '" + image.substr(0, 64) + "'");
  std::string snapshot = "initial";
  MILLRACE_RETURN_IF_ERROR(GetString(doc, "snapshot", "snapshot", &snapshot, false));
  if (snapshot == "initial")
    s.snapshot = SnapshotMode::kInitial;
  else if (snapshot == "never")
    s.snapshot = SnapshotMode::kNever;
  else
    return Bad("snapshot", "must be initial or never, not '" + snapshot.substr(0, 64) + "'");
  if (!s.slot.empty() && s.snapshot == SnapshotMode::kInitial)
    return Bad("snapshot",
               "'initial' needs a replication slot that Millrace creates (its snapshot is "
               "exported when the slot is made); with an existing source.slot use \"never\"");
  element paused;
  if (doc["paused"].get(paused) == simdjson::SUCCESS && !paused.is_null()) {
    if (paused.type() != element_type::BOOL) return Bad("paused", "must be true or false");
    s.paused = bool(paused);
  }
  return s;
}

std::string ChangeStreamSpecJson(const ChangeStreamSpec& s) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("name");
  w.String(s.name);
  w.Key("source");
  w.BeginObject();
  w.Key("type");
  w.String("postgresql");
  w.Key("dsn");
  w.String(s.dsn);
  w.Key("tables");
  w.BeginArray();
  for (const auto& t : s.tables) w.String(t);
  w.EndArray();
  if (!s.publication.empty()) {
    w.Key("publication");
    w.String(s.publication);
  }
  if (!s.slot.empty()) {
    w.Key("slot");
    w.String(s.slot);
  }
  w.EndObject();
  w.Key("stream");
  w.String(s.stream);
  w.Key("image_format");
  w.String(ImageFormatName(s.image_format));
  w.Key("snapshot");
  w.String(s.snapshot == SnapshotMode::kInitial ? "initial" : "never");
  w.Key("paused");
  w.Bool(s.paused);
  w.EndObject();
  return out;
}

}  // namespace millrace::cdc
