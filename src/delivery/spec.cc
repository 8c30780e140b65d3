#include "delivery/spec.h"

#include <simdjson.h>

#include <algorithm>

#include "cdc/pg_conn.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "delivery/partition_query.h"
#include "delivery/record_filter.h"
#include "formats/naming.h"

namespace millrace::delivery {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Bad(std::string_view field, const std::string& why) {
  return Status::InvalidArgument(std::string(field) + ": " + why);
}

// Reads an optional string member; a present non-string is an error naming the field.
Status OptString(element obj, std::string_view key, std::string_view field, std::string* out,
                 bool required = false) {
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.type() == element_type::NULL_VALUE) {
    if (required) return Bad(field, "is required");
    return Status::Ok();
  }
  if (v.type() != element_type::STRING) return Bad(field, "must be a string");
  *out = std::string(std::string_view(v));
  return Status::Ok();
}

Status OptInt(element obj, std::string_view key, int lo, int hi, int* out) {
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.type() == element_type::NULL_VALUE)
    return Status::Ok();
  int64_t i;
  if (v.get(i) != simdjson::SUCCESS) return Bad(key, "must be a whole number");
  if (i < lo || i > hi)
    return Bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                        ", not " + std::to_string(i));
  *out = static_cast<int>(i);
  return Status::Ok();
}

Result<element> ParseObject(simdjson::dom::parser& parser, std::string_view json) {
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  if (doc.type() != element_type::OBJECT)
    return Status::InvalidArgument("the body must be a JSON object");
  return doc;
}

// Refuses a member of `obj` that is neither in `fields` (what may be set) nor in `shown`
// (what answers show and a client may send back unchanged; ignored), naming it and the
// fields allowed: a misspelt field must never become a silent default.
Status CheckMembers(element obj, std::string_view prefix,
                    std::initializer_list<std::string_view> fields,
                    std::initializer_list<std::string_view> shown = {}) {
  for (auto [key, unused] : simdjson::dom::object(obj)) {
    if (std::find(fields.begin(), fields.end(), key) != fields.end() ||
        std::find(shown.begin(), shown.end(), key) != shown.end())
      continue;
    std::string allowed;
    for (std::string_view f : fields) allowed += (allowed.empty() ? "" : ", ") + std::string(f);
    std::string k(key.substr(0, 64));
    return Bad(std::string(prefix) + k, "unknown field (the fields are " + allowed + ")");
  }
  return Status::Ok();
}

}  // namespace

Status CheckName(std::string_view field, std::string_view name) {
  if (name.empty() || name.size() > 128) return Bad(field, "must be 1 to 128 characters");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return Bad(field, "may only contain letters, digits, '_', '.' and '-'");
  // A name becomes a folder: "." and ".." would leave the datasets folder, and a name that
  // another filesystem reserves (Windows' device names, a trailing dot) could not be
  // synced or copied there.
  if (name == "." || name == "..") return Bad(field, "cannot be '.' or '..'");
  if (name.back() == '.') return Bad(field, "cannot end with '.'");
  std::string stem(name.substr(0, name.find('.')));
  for (char& c : stem) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static constexpr std::string_view kReserved[] = {"CON", "PRN", "AUX", "NUL"};
  bool reserved =
      std::find(std::begin(kReserved), std::end(kReserved), stem) != std::end(kReserved);
  if (stem.size() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem[3] >= '0' &&
      stem[3] <= '9')
    reserved = true;
  if (reserved)
    return Bad(field, "'" + std::string(name) + "' is a name other filesystems reserve");
  return Status::Ok();
}

std::string BucketOf(std::string_view name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool valid = name.size() >= 3 && name.size() <= 63 && alnum(name.front()) && alnum(name.back());
  for (char c : name) valid = valid && (alnum(c) || c == '.' || c == '-');
  valid =
      valid && name.find("..") == std::string_view::npos &&
      !std::all_of(name.begin(), name.end(), [](char c) { return c == '.' || std::isdigit(c); });
  if (valid) return std::string(name);
  std::string b;
  for (char c : name) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    b.push_back(alnum(l) ? l : '-');
  }
  while (!b.empty() && b.front() == '-') b.erase(b.begin());
  if (b.size() > 54) b.resize(54);
  while (!b.empty() && b.back() == '-') b.pop_back();
  if (b.empty()) b = "dataset";
  return b + "-" + crypto::Sha256Hex(name).substr(0, 8);
}

Result<DatasetSpec> ParseDataset(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = ParseObject(parser, json);
  if (!doc.ok()) return doc.status();
  DatasetSpec d;
  MILLRACE_RETURN_IF_ERROR(
      CheckMembers(*doc, "",
                   {"name", "file_type", "compression", "target", "schema", "csv", "key_prefix",
                    "error_prefix", "record_delimiter", "file_extension", "time_zone"},
                   {"version", "created_at", "updated_at", "consumers", "bucket", "prefix"}));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "name", "name", &d.name, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("name", d.name));
  // "bucket" and "prefix" are what an answer shows; for a local dataset they may also be
  // given, at the top or in "target", to deliver into a bucket made through the S3 API.
  std::string top_bucket, top_prefix;
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "bucket", "bucket", &top_bucket));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "prefix", "prefix", &top_prefix));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "file_type", "file_type", &d.file_type, true));
  if (d.file_type != "jsonl" && d.file_type != "other" && d.file_type != "csv" &&
      d.file_type != "parquet")
    return Bad("file_type", "must be jsonl, csv, parquet or other, not '" + d.file_type + "'");
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "compression", "compression", &d.compression));
  if (d.file_type == "parquet") {
    if (d.compression.empty()) d.compression = "snappy";
    if (d.compression != "snappy" && d.compression != "zstd" && d.compression != "gzip" &&
        d.compression != "none")
      return Bad("compression",
                 "must be snappy, zstd, gzip or none for parquet, not '" + d.compression + "'");
  } else {
    if (d.compression == "none") d.compression.clear();
    if (!d.compression.empty() && d.compression != "gzip" && d.compression != "zstd" &&
        d.compression != "snappy")
      return Bad("compression", "must be gzip, zstd or snappy, not '" + d.compression + "'");
  }
  MILLRACE_RETURN_IF_ERROR(
      OptString(*doc, "record_delimiter", "record_delimiter", &d.record_delimiter));
  if (!d.record_delimiter.empty() && d.file_type != "other")
    return Bad("record_delimiter", "only applies to datasets of file_type other");
  if (d.record_delimiter.size() > 16) return Bad("record_delimiter", "must be at most 16 bytes");
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "file_extension", "file_extension", &d.file_extension));
  if (!d.file_extension.empty()) {
    // Firehose's rule: a period, then 0-9 a-z ! - _ . * ' ( ), at most 128 in all.
    bool ok = d.file_extension.size() <= 128 && d.file_extension.size() >= 2 &&
              d.file_extension[0] == '.';
    for (char ch : d.file_extension)
      ok = ok && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                  std::string_view("!-_.*'()").find(ch) != std::string_view::npos);
    if (!ok)
      return Bad("file_extension",
                 "must be a period then 1 to 127 of 0-9 a-z ! - _ . * ' ( ) (e.g. \".json\")");
  }
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "time_zone", "time_zone", &d.time_zone));
  if (d.time_zone == "UTC") d.time_zone.clear();  // the default, as Firehose takes it
  if (!d.time_zone.empty()) {
    auto zone = formats::TimeZone::Load(d.time_zone);
    if (!zone.ok()) return Bad("time_zone", zone.status().message());
  }
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "key_prefix", "key_prefix", &d.key_prefix));
  MILLRACE_RETURN_IF_ERROR(formats::CheckCustomPrefix("key_prefix", d.key_prefix, false));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "error_prefix", "error_prefix", &d.error_prefix));
  MILLRACE_RETURN_IF_ERROR(formats::CheckCustomPrefix("error_prefix", d.error_prefix, true));
  // Firehose's rule: expressions in the prefix need an error prefix with them.
  if (formats::HasExpressions(d.key_prefix) && d.error_prefix.empty())
    return Bad("error_prefix",
               "is required when key_prefix has expressions (as Firehose's ErrorOutputPrefix)");
  element schema;
  if ((*doc)["schema"].get(schema) == simdjson::SUCCESS &&
      schema.type() != element_type::NULL_VALUE) {
    if (!d.typed())
      return Bad("schema", "only csv and parquet datasets have a schema, not " + d.file_type);
    auto parsed = formats::ParseTableSchema(schema);
    if (!parsed.ok()) return parsed.status();
    d.schema = std::move(*parsed);
  }
  element csv;
  if ((*doc)["csv"].get(csv) == simdjson::SUCCESS && csv.type() != element_type::NULL_VALUE) {
    if (d.file_type != "csv") return Bad("csv", "only applies to csv datasets");
    if (csv.type() != element_type::OBJECT) return Bad("csv", "must be an object");
    MILLRACE_RETURN_IF_ERROR(CheckMembers(csv, "csv.", {"header", "delimiter"}));
    element v;
    if (csv["header"].get(v) == simdjson::SUCCESS && v.get(d.csv_header) != simdjson::SUCCESS)
      return Bad("csv.header", "must be a boolean");
    std::string delimiter = ",";
    MILLRACE_RETURN_IF_ERROR(OptString(csv, "delimiter", "csv.delimiter", &delimiter));
    if (delimiter.size() != 1 || delimiter[0] == '"' || delimiter[0] == '\n' ||
        delimiter[0] == '\r')
      return Bad("csv.delimiter", "must be one character other than '\"' and newlines");
    d.csv_delimiter = delimiter[0];
  }
  element target;
  if ((*doc)["target"].get(target) == simdjson::SUCCESS &&
      target.type() != element_type::NULL_VALUE) {
    if (target.type() != element_type::OBJECT) return Bad("target", "must be an object");
    MILLRACE_RETURN_IF_ERROR(OptString(target, "type", "target.type", &d.target.type, true));
    if (d.target.type == "s3") {
      MILLRACE_RETURN_IF_ERROR(CheckMembers(target, "target.",
                                            {"type", "endpoint_url", "region", "bucket", "prefix",
                                             "access_key_id", "secret_access_key"}));
      TargetSpec& t = d.target;
      MILLRACE_RETURN_IF_ERROR(
          OptString(target, "endpoint_url", "target.endpoint_url", &t.endpoint_url, true));
      if (t.endpoint_url.rfind("http://", 0) != 0 && t.endpoint_url.rfind("https://", 0) != 0)
        return Bad("target.endpoint_url", "must start with http:// or https://");
      t.region = "us-east-1";
      MILLRACE_RETURN_IF_ERROR(OptString(target, "region", "target.region", &t.region));
      MILLRACE_RETURN_IF_ERROR(OptString(target, "bucket", "target.bucket", &t.bucket, true));
      if (t.bucket.size() < 3 || t.bucket.size() > 63)
        return Bad("target.bucket", "must be 3 to 63 characters");
      MILLRACE_RETURN_IF_ERROR(OptString(target, "prefix", "target.prefix", &t.prefix));
      if (!t.prefix.empty() && t.prefix.front() == '/')
        return Bad("target.prefix", "must not start with '/'");
      MILLRACE_RETURN_IF_ERROR(
          OptString(target, "access_key_id", "target.access_key_id", &t.access_key_id, true));
      MILLRACE_RETURN_IF_ERROR(OptString(target, "secret_access_key", "target.secret_access_key",
                                         &t.secret_access_key, true));
    } else if (d.target.type == "postgresql") {
      MILLRACE_RETURN_IF_ERROR(CheckMembers(target, "target.", {"type", "dsn", "table", "schema"}));
      TargetSpec& t = d.target;
      MILLRACE_RETURN_IF_ERROR(OptString(target, "dsn", "target.dsn", &t.dsn, true));
      if (t.dsn.empty() || t.dsn.size() > 4096)
        return Bad("target.dsn", "must be a libpq connection string of 1 to 4096 bytes");
      MILLRACE_RETURN_IF_ERROR(OptString(target, "table", "target.table", &t.table, true));
      MILLRACE_RETURN_IF_ERROR(OptString(target, "schema", "target.schema", &t.pg_schema));
      for (const auto& [field, name] :
           {std::pair<const char*, const std::string*>{"target.table", &t.table},
            {"target.schema", &t.pg_schema}})
        if (name->empty() || name->size() > 63 || name->find('\0') != std::string::npos)
          return Bad(field, "must be a PostgreSQL name of 1 to 63 bytes");
      if (d.file_type != "csv")
        return Bad("target.type",
                   "a postgresql target loads CSV files with COPY: the dataset's file_type must "
                   "be csv, not " +
                       d.file_type);
      if (!d.compression.empty())
        return Bad("compression", "must be none for a postgresql target (COPY reads plain CSV)");
    } else if (d.target.type == "local") {
      MILLRACE_RETURN_IF_ERROR(CheckMembers(target, "target.", {"type", "bucket", "prefix"}));
      MILLRACE_RETURN_IF_ERROR(OptString(target, "bucket", "target.bucket", &d.target.bucket));
      MILLRACE_RETURN_IF_ERROR(OptString(target, "prefix", "target.prefix", &d.target.prefix));
    } else {
      return Bad("target.type", "must be local, s3 or postgresql, not '" + d.target.type + "'");
    }
  }
  if (d.target.type == "local") {
    TargetSpec& t = d.target;
    if (!top_bucket.empty() && !t.bucket.empty() && top_bucket != t.bucket)
      return Bad("bucket", "differs from target.bucket");
    if (!top_prefix.empty() && !t.prefix.empty() && top_prefix != t.prefix)
      return Bad("prefix", "differs from target.prefix");
    if (t.bucket.empty()) t.bucket = top_bucket;
    if (t.prefix.empty()) t.prefix = top_prefix;
    if (t.bucket == BucketOf(d.name)) t.bucket.clear();  // its own: the default
    if (!t.bucket.empty() && BucketOf(t.bucket) != t.bucket)
      return Bad("bucket", "'" + Abbreviate(t.bucket, 64) + "' is not a valid bucket name");
    if (!t.prefix.empty()) {
      bool ok = t.prefix.size() <= 512 && t.prefix.back() == '/' && t.prefix.front() != '/';
      size_t start = 0;
      while (ok && start < t.prefix.size()) {
        size_t slash = t.prefix.find('/', start);
        std::string_view seg(t.prefix.data() + start, slash - start);
        ok = !seg.empty() && seg != "." && seg != ".." && !seg.starts_with(".tmp-") &&
             !seg.ends_with(".tmp") && seg.find('\0') == std::string_view::npos;
        start = slash + 1;
      }
      if (!ok)
        return Bad("prefix",
                   "must be folders ending in '/' (\"raw/\", \"acme/orders/\"), without "
                   "empty, '.' or '..' parts, at most 512 bytes");
    }
  }
  return d;
}

std::string LocalRoot(const std::string& data_dir, const DatasetSpec& d) {
  std::string root = d.target.bucket.empty() ? data_dir + "/datasets/" + d.name
                                             : data_dir + "/buckets/" + d.target.bucket;
  if (!d.target.prefix.empty()) root += "/" + d.target.prefix.substr(0, d.target.prefix.size() - 1);
  return root;
}

Result<ConsumerSpec> ParseConsumer(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = ParseObject(parser, json);
  if (!doc.ok()) return doc.status();
  ConsumerSpec c;
  MILLRACE_RETURN_IF_ERROR(CheckMembers(
      *doc, "",
      {"name", "stream", "dataset", "buffer_size_mib", "buffer_interval_seconds", "transformation",
       "transformation_buffer_mib", "transformation_workers", "starting_position", "filter",
       "partition_query", "paused", "deaggregation", "deaggregation_delimiter"},
      {"version", "created_at", "updated_at", "status", "state", "last_error", "last_error_at",
       "consecutive_failures", "records_delivered", "objects_written", "records_failed", "lag",
       "records_behind", "millis_behind", "shards", "counters", "created_dataset"}));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "name", "name", &c.name, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("name", c.name));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "stream", "stream", &c.stream, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("stream", c.stream));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "dataset", "dataset", &c.dataset, true));
  MILLRACE_RETURN_IF_ERROR(CheckName("dataset", c.dataset));
  MILLRACE_RETURN_IF_ERROR(OptInt(*doc, "buffer_size_mib", 1, 128, &c.buffer_size_mib));
  MILLRACE_RETURN_IF_ERROR(
      OptInt(*doc, "buffer_interval_seconds", 0, 900, &c.buffer_interval_seconds));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "transformation", "transformation", &c.transformation));
  if (!c.transformation.empty())
    MILLRACE_RETURN_IF_ERROR(CheckName("transformation", c.transformation));
  MILLRACE_RETURN_IF_ERROR(
      OptInt(*doc, "transformation_buffer_mib", 1, 6, &c.transformation_buffer_mib));
  MILLRACE_RETURN_IF_ERROR(
      OptInt(*doc, "transformation_workers", 1, 16, &c.transformation_workers));
  MILLRACE_RETURN_IF_ERROR(
      OptString(*doc, "starting_position", "starting_position", &c.starting_position));
  if (c.starting_position != "TRIM_HORIZON" && c.starting_position != "LATEST")
    return Bad("starting_position",
               "must be TRIM_HORIZON or LATEST, not '" + c.starting_position + "'");
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "filter", "filter", &c.filter));
  if (c.filter.size() > RecordFilter::kMaxExpressionBytes)
    return Bad("filter",
               "is longer than " + std::to_string(RecordFilter::kMaxExpressionBytes) + " bytes");
  MILLRACE_RETURN_IF_ERROR(
      OptString(*doc, "partition_query", "partition_query", &c.partition_query));
  if (c.partition_query.size() > PartitionQuery::kMaxExpressionBytes)
    return Bad("partition_query",
               "is longer than " + std::to_string(PartitionQuery::kMaxExpressionBytes) + " bytes");
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "deaggregation", "deaggregation", &c.deaggregation));
  MILLRACE_RETURN_IF_ERROR(OptString(*doc, "deaggregation_delimiter", "deaggregation_delimiter",
                                     &c.deaggregation_delimiter));
  if (!c.deaggregation.empty() && c.deaggregation != "JSON" && c.deaggregation != "DELIMITED")
    return Bad("deaggregation", "must be JSON or DELIMITED (or \"\" for none), not '" +
                                    c.deaggregation.substr(0, 32) + "'");
  if ((c.deaggregation == "DELIMITED") != !c.deaggregation_delimiter.empty())
    return Bad("deaggregation_delimiter",
               "is required with deaggregation DELIMITED, and only then");
  if (c.deaggregation_delimiter.size() > 64)
    return Bad("deaggregation_delimiter", "at most 64 bytes");
  simdjson::dom::element paused;
  if ((*doc)["paused"].get(paused) == simdjson::SUCCESS &&
      paused.type() != simdjson::dom::element_type::NULL_VALUE &&
      paused.get(c.paused) != simdjson::SUCCESS)
    return Bad("paused", "must be a boolean");
  return c;
}

Status CheckFilter(const ConsumerSpec& c) {
  if (!c.filter.empty()) {
    auto compiled = RecordFilter::Compile(c.filter);  // ~15 ms: libjq 1.6 compiles its builtins
    if (!compiled.ok()) return Bad("filter", compiled.status().message());
  }
  if (!c.partition_query.empty()) {
    auto compiled = PartitionQuery::Compile(c.partition_query);
    if (!compiled.ok()) return Bad("partition_query", compiled.status().message());
  }
  return Status::Ok();
}

std::string DatasetJson(const DatasetSpec& d, bool with_secrets) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("name");
  w.String(d.name);
  w.Key("file_type");
  w.String(d.file_type);
  if (!d.compression.empty()) {
    w.Key("compression");
    w.String(d.compression);
  }
  if (d.typed()) {
    w.Key("schema");
    formats::WriteTableSchema(d.schema, &w);
  }
  if (!d.file_extension.empty()) {
    w.Key("file_extension");
    w.String(d.file_extension);
  }
  if (!d.time_zone.empty()) {
    w.Key("time_zone");
    w.String(d.time_zone);
  }
  if (!d.record_delimiter.empty()) {
    w.Key("record_delimiter");
    w.String(d.record_delimiter);
  }
  if (!d.key_prefix.empty()) {
    w.Key("key_prefix");
    w.String(d.key_prefix);
  }
  if (!d.error_prefix.empty()) {
    w.Key("error_prefix");
    w.String(d.error_prefix);
  }
  if (d.file_type == "csv") {
    w.Key("csv");
    w.BeginObject();
    w.Key("header");
    w.Bool(d.csv_header);
    w.Key("delimiter");
    w.String(std::string_view(&d.csv_delimiter, 1));
    w.EndObject();
  }
  w.Key("target");
  w.BeginObject();
  w.Key("type");
  w.String(d.target.type);
  if (d.target.type == "s3") {
    w.Key("endpoint_url");
    w.String(d.target.endpoint_url);
    w.Key("region");
    w.String(d.target.region);
    w.Key("bucket");
    w.String(d.target.bucket);
    w.Key("prefix");
    w.String(d.target.prefix);
    w.Key("access_key_id");
    w.String(d.target.access_key_id);
    if (with_secrets) {
      w.Key("secret_access_key");
      w.String(d.target.secret_access_key);
    }
  } else if (d.target.type == "postgresql") {
    w.Key("dsn");
    if (with_secrets) {
      w.String(d.target.dsn);
    } else {
      auto redacted = cdc::RedactDsn(d.target.dsn);
      w.String(redacted.ok() ? *redacted : "");
    }
    w.Key("schema");
    w.String(d.target.pg_schema);
    w.Key("table");
    w.String(d.target.table);
  } else if (!d.target.bucket.empty() || !d.target.prefix.empty()) {
    w.Key("bucket");
    w.String(d.target.bucket);
    w.Key("prefix");
    w.String(d.target.prefix);
  }
  w.EndObject();
  w.EndObject();
  return out;
}

std::string ConsumerJson(const ConsumerSpec& c) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("name");
  w.String(c.name);
  w.Key("stream");
  w.String(c.stream);
  w.Key("dataset");
  w.String(c.dataset);
  w.Key("buffer_size_mib");
  w.Int(c.buffer_size_mib);
  w.Key("buffer_interval_seconds");
  w.Int(c.buffer_interval_seconds);
  if (!c.transformation.empty()) {
    w.Key("transformation");
    w.String(c.transformation);
    w.Key("transformation_buffer_mib");
    w.Int(c.transformation_buffer_mib);
    w.Key("transformation_workers");
    w.Int(c.transformation_workers);
  }
  w.Key("starting_position");
  w.String(c.starting_position);
  if (!c.filter.empty()) {
    w.Key("filter");
    w.String(c.filter);
  }
  if (!c.partition_query.empty()) {
    w.Key("partition_query");
    w.String(c.partition_query);
  }
  if (!c.deaggregation.empty()) {
    w.Key("deaggregation");
    w.String(c.deaggregation);
    if (!c.deaggregation_delimiter.empty()) {
      w.Key("deaggregation_delimiter");
      w.String(c.deaggregation_delimiter);
    }
  }
  if (c.paused) {
    w.Key("paused");
    w.Bool(true);
  }
  w.EndObject();
  return out;
}

Result<transform::FunctionSpec> FunctionOf(const std::string& name, std::string_view spec_json,
                                           int64_t version) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto corrupt = [&name](const char* what) {
    return Status::Corruption("transformation " + name + " " + what);
  };
  if (parser.parse(spec_json).get(doc) != simdjson::SUCCESS)
    return corrupt("has an unreadable configuration");
  transform::FunctionSpec spec;
  spec.name = name;
  std::string_view runtime, handler, code_dir;
  int64_t memory = transform::kDefaultMemoryMb, timeout_s = 60;
  if (doc["runtime"].get(runtime) || doc["handler"].get(handler) || doc["code_dir"].get(code_dir) ||
      !transform::ParseRuntime(std::string(runtime), &spec.runtime))
    return corrupt("lacks runtime, handler or code_dir");
  if (doc["memory_size_mb"].get(memory) != simdjson::SUCCESS) memory = transform::kDefaultMemoryMb;
  if (doc["timeout_seconds"].get(timeout_s) != simdjson::SUCCESS) timeout_s = 60;
  bool network = false;
  if (doc["network"].get(network) == simdjson::SUCCESS) spec.network = network;
  spec.handler = std::string(handler);
  spec.code_dir = std::string(code_dir);
  spec.memory_mb = static_cast<int>(memory);
  spec.timeout_ms = timeout_s * 1000;
  spec.version = std::to_string(version);
  return spec;
}

}  // namespace millrace::delivery
