#include "firehose/service.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "common/request_id.h"
#include "control/json_util.h"
#include "delivery/spec.h"
#include "formats/naming.h"
#include "streams/sequence.h"

namespace millrace::firehose {
namespace {

constexpr std::string_view kTargetPrefix = "Firehose_20150804.";
constexpr std::string_view kDestinationId = "destinationId-000000000001";
// AWS's limits: a record's data 1,000 KiB; PutRecordBatch 500 records and 4 MiB.
constexpr size_t kMaxRecordBytes = 1000 * 1024;
constexpr size_t kMaxBatchRecords = 500;
constexpr size_t kMaxBatchBytes = 4 << 20;
constexpr size_t kMaxTags = 50;

using Element = simdjson::dom::element;

struct Failure {
  int status = 400;
  std::string type;
  std::string message;
};

http::Response Json(int status, std::string body, const std::string& request_id) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/x-amz-json-1.1");
  r.SetHeader("x-amzn-RequestId", request_id);
  r.SetHeader("x-amz-id-2", NewExtendedRequestId());
  return r;
}

http::Response ErrorAnswer(const Failure& f, const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("__type");
  w.String(f.type);
  w.Key("message");
  w.String(f.message);
  w.EndObject();
  return Json(f.status, std::move(body), request_id);
}

Failure Invalid(std::string message) {
  return {400, "InvalidArgumentException", std::move(message)};
}

Failure Validation(std::string_view value, const std::string& member, const std::string& rule) {
  return {400, "ValidationException",
          "1 validation error detected: Value '" + std::string(Abbreviate(value, 256)) + "' at '" +
              member + "' failed to satisfy constraint: " + rule};
}

// A member written only when it has a value (the patches of UpdateDestination).
void OptMember(JsonWriter& w, const char* key, const std::optional<std::string>& v) {
  if (!v) return;
  w.Key(key);
  w.String(*v);
}
void OptMember(JsonWriter& w, const char* key, const std::optional<int64_t>& v) {
  if (!v) return;
  w.Key(key);
  w.Int(*v);
}

// A Status from the control handlers or the streams, as Firehose's exceptions.
Failure FromStatus(const Status& st) {
  if (!st.type().empty()) return {400, st.type(), st.message()};
  switch (st.code()) {
    case Code::kInvalidArgument:
      return Invalid(st.message());
    case Code::kNotFound:
      return {400, "ResourceNotFoundException", st.message()};
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return {400, "ResourceInUseException", st.message()};
    case Code::kThrottled:
    case Code::kResourceExhausted:
      return {400, "LimitExceededException", st.message()};
    case Code::kUnavailable:
    case Code::kNoSpace:
      return {503, "ServiceUnavailableException", st.message()};
    default:
      LOG(kWarn) << "firehose: " << st.ToString();
      return {500, "ServiceUnavailableException", st.message()};
  }
}

std::optional<std::string_view> Str(Element e, const char* key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

std::optional<Element> Obj(Element e, const char* key) {
  Element v;
  if (e[key].get(v) != simdjson::SUCCESS || v.type() != simdjson::dom::element_type::OBJECT)
    return std::nullopt;
  return v;
}

std::optional<int64_t> Int(Element e, const char* key) {
  int64_t v;
  if (e[key].get(v) != simdjson::SUCCESS) return std::nullopt;
  return v;
}

bool True(Element e, const char* key) {
  bool v = false;
  return e[key].get(v) == simdjson::SUCCESS && v;
}

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::optional<Failure> CheckName(std::optional<std::string_view> name) {
  if (!name || name->empty() || name->size() > 64)
    return Validation(name.value_or("null"), "deliveryStreamName",
                      "Member must have length between 1 and 64");
  if (!ValidName(*name))
    return Validation(*name, "deliveryStreamName",
                      "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  return std::nullopt;
}

// Firehose's compression names and ours.
std::optional<std::string> CompressionOf(std::string_view firehose) {
  if (firehose.empty() || firehose == "UNCOMPRESSED") return std::string();
  if (firehose == "GZIP") return std::string("gzip");
  if (firehose == "Snappy") return std::string("snappy");
  return std::nullopt;
}

std::string FirehoseCompression(const std::string& ours) {
  if (ours.empty() || ours == "none") return "UNCOMPRESSED";
  if (ours == "gzip") return "GZIP";
  if (ours == "snappy") return "Snappy";
  if (ours == "zstd") return "ZSTD";
  return ours;
}

// A transformation's name from a LambdaArn: the function's name
// (arn:aws:lambda:<region>:<account>:function:<name>[:<version>]) or a bare name.
std::string FunctionName(std::string_view arn) {
  size_t f = arn.find(":function:");
  if (f == std::string_view::npos) return std::string(arn);
  std::string_view rest = arn.substr(f + 10);
  return std::string(rest.substr(0, rest.find(':')));
}

// What a delivery stream document holds (the Firehose side of a consumer).
struct Extra {
  std::string type = "KinesisStreamAsSource";  // or DirectPut
  std::string role_arn;
  std::string lambda_arn;  // as given, shown back
  bool made_dataset = false;
  std::map<std::string, std::string> tags;
  std::string sse_key_type;  // "" (none), AWS_OWNED_CMK or CUSTOMER_MANAGED_CMK
  std::string sse_key_arn;
  // A RedshiftDestinationConfiguration onto a PostgreSQL target: what Describe shows.
  std::string jdbc_url, username, table, columns;
};

std::string ExtraJson(const Extra& x) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("type");
  w.String(x.type);
  w.Key("role_arn");
  w.String(x.role_arn);
  w.Key("lambda_arn");
  w.String(x.lambda_arn);
  w.Key("made_dataset");
  w.Bool(x.made_dataset);
  w.Key("sse_key_type");
  w.String(x.sse_key_type);
  w.Key("sse_key_arn");
  w.String(x.sse_key_arn);
  for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"jdbc_url", &x.jdbc_url},
                             {"username", &x.username},
                             {"table", &x.table},
                             {"columns", &x.columns}})
    if (!v->empty()) {
      w.Key(k);
      w.String(*v);
    }
  w.Key("tags");
  w.BeginObject();
  for (const auto& [k, v] : x.tags) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  w.EndObject();
  return out;
}

Result<std::optional<catalog::DocRow>> LoadExtra(catalog::Catalog* catalog, const std::string& name,
                                                 Extra* x) {
  auto row = catalog->GetDoc(catalog::DocKind::kDeliveryStream, name);
  if (!row.ok()) return row.status();
  if (!*row) return row;
  simdjson::dom::parser parser;
  Element doc;
  if (parser.parse((*row)->spec).get(doc) != simdjson::SUCCESS)
    return Status::Corruption("delivery stream document " + name + " is not JSON");
  x->type = std::string(Str(doc, "type").value_or(x->type));
  x->role_arn = std::string(Str(doc, "role_arn").value_or(""));
  x->lambda_arn = std::string(Str(doc, "lambda_arn").value_or(""));
  x->made_dataset = True(doc, "made_dataset");
  x->sse_key_type = std::string(Str(doc, "sse_key_type").value_or(""));
  x->sse_key_arn = std::string(Str(doc, "sse_key_arn").value_or(""));
  x->jdbc_url = std::string(Str(doc, "jdbc_url").value_or(""));
  x->username = std::string(Str(doc, "username").value_or(""));
  x->table = std::string(Str(doc, "table").value_or(""));
  x->columns = std::string(Str(doc, "columns").value_or(""));
  simdjson::dom::object tags;
  if (doc["tags"].get(tags) == simdjson::SUCCESS)
    for (auto [k, v] : tags) {
      std::string_view value;
      if (v.get(value) == simdjson::SUCCESS) x->tags[std::string(k)] = std::string(value);
    }
  return row;
}

Status SaveExtra(catalog::Catalog* catalog, const std::string& name, const Extra& x, bool exists,
                 int64_t now) {
  if (!exists) {
    catalog::DocRow row;
    row.name = name;
    row.spec = ExtraJson(x);
    row.created_ms = row.updated_ms = now;
    return catalog->CreateDoc(catalog::DocKind::kDeliveryStream, row);
  }
  int64_t version = 0;
  return catalog->UpdateDoc(catalog::DocKind::kDeliveryStream, name, ExtraJson(x), now, &version);
}

// The destination members of CreateDeliveryStream that Millrace does not deliver to.
constexpr const char* kOtherDestinations[] = {
    "ElasticsearchDestinationConfiguration",
    "AmazonopensearchserviceDestinationConfiguration",
    "AmazonOpenSearchServerlessDestinationConfiguration",
    "SplunkDestinationConfiguration",
    "HttpEndpointDestinationConfiguration",
    "SnowflakeDestinationConfiguration",
    "IcebergDestinationConfiguration",
};

// An S3 destination (ExtendedS3DestinationConfiguration, S3DestinationConfiguration, or
// their Update forms) read into a dataset patch and a consumer patch. `creating`: every
// required member must be there.
struct Destination {
  std::optional<std::string> bucket;
  std::optional<std::string> prefix;        // the dataset's key_prefix
  std::optional<std::string> error_prefix;  // and error_prefix
  std::optional<std::string> compression;   // ours
  std::optional<std::string> file_type;     // "other" or "parquet"
  std::optional<int64_t> size_mib, interval_s;
  std::optional<std::string> transformation;  // "" to remove
  std::optional<std::string> lambda_arn;
  std::optional<int64_t> lambda_buffer_mib;
  std::optional<std::string> role_arn;
  std::optional<std::string> partition_query;  // MetadataExtraction's jq query ("" to remove)
  std::optional<std::string> delimiter;        // AppendDelimiterToRecord's ("" to remove)
  std::optional<std::string> file_extension;   // FileExtension ("": the format's)
  std::optional<std::string> time_zone;        // CustomTimeZone ("": UTC)
  std::optional<std::string> deaggregation;    // RecordDeAggregation's SubRecordType ("": none)
  std::optional<std::string> deaggregation_delimiter;  // and its Delimiter, decoded
  bool dynamic = false;                                // DynamicPartitioningConfiguration.Enabled
};

// Every member of a destination is used, accepted as what Millrace does anyway, or refused
// by name: none is ignored. The refusal of the first member not in `known`.
std::optional<Failure> OnlyKnownMembers(Element d, std::string_view where,
                                        std::initializer_list<std::string_view> known) {
  simdjson::dom::object members;
  if (d.get(members) != simdjson::SUCCESS) return std::nullopt;
  for (auto field : members)
    if (std::find(known.begin(), known.end(), field.key) == known.end())
      return Invalid(std::string(where) + "." + std::string(Abbreviate(field.key, 64)) +
                     " is not supported by Millrace (docs/firehose-api.md lists what is)");
  return std::nullopt;
}

std::optional<Failure> ReadDestination(Element d, const std::string& member, bool creating,
                                       Destination* out) {
  if (auto bad = OnlyKnownMembers(
          d, member,
          {"RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints",
           "CompressionFormat", "EncryptionConfiguration", "CloudWatchLoggingOptions",
           "ProcessingConfiguration", "S3BackupMode", "DataFormatConversionConfiguration",
           "DynamicPartitioningConfiguration", "CustomTimeZone", "FileExtension"}))
    return bad;
  if (auto tz = Str(d, "CustomTimeZone")) {
    // Times in names and prefixes in that zone, from the system's time zone database.
    out->time_zone = *tz == "UTC" ? "" : std::string(*tz);
    if (!out->time_zone->empty()) {
      if (!formats::TimeZone::ValidName(*tz))
        return Invalid("CustomTimeZone must be 0 to 50 of a-z A-Z / _ (\"Asia/Tokyo\")");
      if (!formats::TimeZone::Load(*tz).ok())
        return Invalid("CustomTimeZone " + std::string(Abbreviate(*tz, 64)) +
                       " is not a time zone of the server's time zone database");
    }
  }
  if (auto ext = Str(d, "FileExtension")) out->file_extension = std::string(*ext);
  if (auto role = Str(d, "RoleARN")) out->role_arn = std::string(*role);
  if (auto arn = Str(d, "BucketARN")) {
    constexpr std::string_view kS3 = ":s3:::";
    size_t at = arn->find(kS3);
    std::string bucket = at == std::string_view::npos || !arn->starts_with("arn:")
                             ? std::string()
                             : std::string(arn->substr(at + kS3.size()));
    if (bucket.empty() || delivery::BucketOf(bucket) != bucket)
      return Validation(
          *arn, member + ".bucketARN",
          "Member must satisfy regular expression pattern: arn:.*:s3:::[\\w\\.\\-]{1,255}");
    out->bucket = bucket;
  } else if (creating) {
    return Validation("null", member + ".bucketARN", "Member must not be null");
  }
  if (auto prefix = Str(d, "Prefix")) {
    Status st = formats::CheckCustomPrefix("Prefix", *prefix, false);
    if (!st.ok()) return Invalid(st.message());
    out->prefix = std::string(*prefix);
  }
  if (auto e = Str(d, "ErrorOutputPrefix")) {
    Status st = formats::CheckCustomPrefix("ErrorOutputPrefix", *e, true);
    if (!st.ok()) return Invalid(st.message());
    out->error_prefix = std::string(*e);
  }
  if (auto hints = Obj(d, "BufferingHints")) {
    if (auto mb = Int(*hints, "SizeInMBs")) {
      if (*mb < 1 || *mb > 128)
        return Validation(std::to_string(*mb), member + ".bufferingHints.sizeInMBs",
                          "Member must have value between 1 and 128");
      out->size_mib = *mb;
    }
    if (auto s = Int(*hints, "IntervalInSeconds")) {
      if (*s < 0 || *s > 900)
        return Validation(std::to_string(*s), member + ".bufferingHints.intervalInSeconds",
                          "Member must have value between 0 and 900");
      out->interval_s = *s;
    }
  }
  if (auto c = Str(d, "CompressionFormat")) {
    auto ours = CompressionOf(*c);
    if (!ours)
      return Invalid("CompressionFormat " + std::string(Abbreviate(*c, 32)) +
                     " is not supported by Millrace (UNCOMPRESSED, GZIP and Snappy are)");
    out->compression = *ours;
  }
  if (auto enc = Obj(d, "EncryptionConfiguration")) {
    if (Obj(*enc, "KMSEncryptionConfig"))
      return Invalid(
          "EncryptionConfiguration.KMSEncryptionConfig is not supported by Millrace: "
          "its buckets are not encrypted with KMS keys");
  }
  if (auto backup = Str(d, "S3BackupMode"); backup && *backup != "Disabled")
    return Invalid("S3BackupMode " + std::string(Abbreviate(*backup, 32)) +
                   " is not supported by Millrace");
  if (auto dyn = Obj(d, "DynamicPartitioningConfiguration")) out->dynamic = True(*dyn, "Enabled");
  if (auto proc = Obj(d, "ProcessingConfiguration")) {
    if (!True(*proc, "Enabled")) {
      out->transformation = "";
      out->partition_query = "";
      out->delimiter = "";
      out->deaggregation = "";
      out->deaggregation_delimiter = "";
    } else {
      simdjson::dom::array processors;
      if ((*proc)["Processors"].get(processors) != simdjson::SUCCESS)
        return Invalid("ProcessingConfiguration: Processors is required when Enabled is true");
      out->transformation = "";
      out->partition_query = "";
      out->delimiter = "";
      out->deaggregation = "";
      out->deaggregation_delimiter = "";
      for (Element p : processors) {
        std::string_view type = Str(p, "Type").value_or("");
        std::vector<std::pair<std::string_view, std::string_view>> params;
        simdjson::dom::array list;
        if (p["Parameters"].get(list) == simdjson::SUCCESS)
          for (Element param : list)
            params.emplace_back(Str(param, "ParameterName").value_or(""),
                                Str(param, "ParameterValue").value_or(""));
        auto unsupported = [&](std::string_view name) {
          return Invalid("ProcessingConfiguration: parameter " + std::string(Abbreviate(name, 64)) +
                         " of " + std::string(type) + " is not supported by Millrace");
        };
        if (type == "Lambda") {
          for (auto [name, value] : params) {
            if (name == "LambdaArn") {
              out->lambda_arn = std::string(value);
              out->transformation = FunctionName(value);
            } else if (name == "BufferSizeInMBs") {
              int64_t mb = std::atoll(std::string(value).c_str());
              if (mb < 1 || mb > 3)
                return Invalid("ProcessingConfiguration: BufferSizeInMBs must be between 1 and 3");
              out->lambda_buffer_mib = mb;
            } else if (name != "NumberOfRetries" && name != "RoleArn" &&
                       name != "BufferIntervalInSeconds") {
              return unsupported(name);
            }
          }
          if (out->transformation->empty())
            return Invalid(
                "ProcessingConfiguration: the Lambda processor needs a LambdaArn (the "
                "name or ARN of a Millrace transformation)");
        } else if (type == "MetadataExtraction") {
          for (auto [name, value] : params) {
            if (name == "MetadataExtractionQuery") {
              out->partition_query = std::string(value);
            } else if (name == "JsonParsingEngine") {
              if (value != "JQ-1.6")
                return Invalid("ProcessingConfiguration: JsonParsingEngine must be JQ-1.6");
            } else {
              return unsupported(name);
            }
          }
          if (out->partition_query->empty())
            return Invalid(
                "ProcessingConfiguration: MetadataExtraction needs a "
                "MetadataExtractionQuery (a jq expression)");
        } else if (type == "AppendDelimiterToRecord") {
          std::string delimiter = "\n";
          for (auto [name, value] : params) {
            if (name != "Delimiter") return unsupported(name);
            // Given escaped, as the console writes it: "\\n" is a newline.
            delimiter.clear();
            for (size_t i = 0; i < value.size(); ++i) {
              if (value[i] == '\\' && i + 1 < value.size()) {
                char e = value[++i];
                delimiter.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
              } else {
                delimiter.push_back(value[i]);
              }
            }
          }
          out->delimiter = delimiter;
        } else if (type == "RecordDeAggregation") {
          for (auto [name, value] : params) {
            if (name == "SubRecordType") {
              if (value != "JSON" && value != "DELIMITED")
                return Invalid("ProcessingConfiguration: SubRecordType must be JSON or DELIMITED");
              out->deaggregation = std::string(value);
            } else if (name == "Delimiter") {
              // Base64, as Firehose takes it ("IyMjIw==" for "####").
              std::string decoded;
              if (!Base64Decode(value, &decoded) || decoded.empty() || decoded.size() > 64)
                return Invalid(
                    "ProcessingConfiguration: Delimiter must be 1 to 64 bytes, base64-encoded");
              out->deaggregation_delimiter = decoded;
            } else {
              return unsupported(name);
            }
          }
          if (out->deaggregation->empty())
            return Invalid("ProcessingConfiguration: RecordDeAggregation needs a SubRecordType");
          if ((*out->deaggregation == "DELIMITED") != !out->deaggregation_delimiter->empty())
            return Invalid(
                "ProcessingConfiguration: a Delimiter is required with SubRecordType DELIMITED, "
                "and only then");
        } else {
          return Invalid("ProcessingConfiguration: processor " + std::string(Abbreviate(type, 64)) +
                         " is not supported by Millrace (Lambda, MetadataExtraction, "
                         "RecordDeAggregation and AppendDelimiterToRecord are)");
        }
      }
    }
  }
  if (creating) {
    // Firehose's rules: partition keys in the prefix need dynamic partitioning, and
    // dynamic partitioning needs them in the prefix.
    const std::vector<std::string> keys = formats::PartitionKeysOf(out->prefix.value_or(""));
    bool from_query = false, from_lambda = false;
    for (const auto& k : keys) (k.starts_with("lambda:") ? from_lambda : from_query) = true;
    if (out->dynamic && keys.empty())
      return Invalid(
          "with DynamicPartitioningConfiguration enabled, Prefix must use "
          "!{partitionKeyFromQuery:...} or !{partitionKeyFromLambda:...}");
    if (!out->dynamic && (!keys.empty() || !out->partition_query.value_or("").empty()))
      return Invalid(
          "partition keys in Prefix and MetadataExtraction need "
          "DynamicPartitioningConfiguration enabled");
    if (from_query && out->partition_query.value_or("").empty())
      return Invalid(
          "!{partitionKeyFromQuery:...} needs a MetadataExtraction processor with a "
          "MetadataExtractionQuery");
    if (from_lambda && out->transformation.value_or("").empty())
      return Invalid(
          "!{partitionKeyFromLambda:...} needs a Lambda processor (its result's "
          "metadata.partitionKeys)");
  }
  if (auto conv = Obj(d, "DataFormatConversionConfiguration"); conv && True(*conv, "Enabled")) {
    auto output = Obj(*conv, "OutputFormatConfiguration");
    auto serializer = output ? Obj(*output, "Serializer") : std::nullopt;
    if (!serializer || !Obj(*serializer, "ParquetSerDe"))
      return Invalid(
          "DataFormatConversionConfiguration: Millrace converts to Parquet only "
          "(OutputFormatConfiguration.Serializer.ParquetSerDe); ORC is not supported");
    if (out->compression && !out->compression->empty())
      return Invalid(
          "CompressionFormat must be UNCOMPRESSED when DataFormatConversion is "
          "enabled (the Parquet pages are compressed instead)");
    auto serde = Obj(*serializer, "ParquetSerDe");
    std::string codec = "snappy";
    if (auto c = Str(*serde, "Compression")) {
      if (*c == "GZIP")
        codec = "gzip";
      else if (*c == "UNCOMPRESSED")
        codec = "none";
      else if (*c != "SNAPPY")
        return Invalid("ParquetSerDe.Compression " + std::string(Abbreviate(*c, 32)) +
                       " is not supported (SNAPPY, GZIP and UNCOMPRESSED are)");
    }
    out->file_type = "parquet";
    out->compression = codec;
  } else if (conv) {
    out->file_type = "other";
  }
  return std::nullopt;
}

// A libpq connection string value, quoted ('it\'s').
std::string ConnValue(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

// The value of `key` in a connection string ConnValue wrote ("" if absent).
std::string DsnValue(std::string_view dsn, std::string_view key) {
  size_t i = 0;
  while (i < dsn.size()) {
    while (i < dsn.size() && dsn[i] == ' ') ++i;
    size_t eq = dsn.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string_view k = dsn.substr(i, eq - i);
    std::string v;
    i = eq + 1;
    if (i < dsn.size() && dsn[i] == '\'') {
      for (++i; i < dsn.size() && dsn[i] != '\''; ++i) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        v.push_back(dsn[i]);
      }
      ++i;  // the closing quote
    } else {
      while (i < dsn.size() && dsn[i] != ' ') v.push_back(dsn[i++]);
    }
    if (k == key) return v;
  }
  return "";
}

// RedshiftDestinationConfiguration onto a PostgreSQL target: the ClusterJDBCURL
// (jdbc:postgresql:// or jdbc:redshift://host[:port]/database) and Username/Password make
// the DSN; CopyCommand.DataTableName the table ("schema.table" or "table"),
// DataTableColumns the columns (text, cast by COPY into an existing table's types; none:
// inferred), CopyOptions' "csv" or "json" the records' form; S3Configuration's
// BufferingHints the buffer (its bucket, Firehose's staging area, is not used).
struct Redshift {
  std::string dsn, pg_schema = "public", table, input = "auto";
  std::vector<std::string> columns;
  std::string jdbc_url, username, columns_text;
};

std::optional<Failure> ReadRedshift(Element d, Redshift* r, Destination* dest) {
  if (auto bad = OnlyKnownMembers(d, "RedshiftDestinationConfiguration",
                                  {"RoleARN", "ClusterJDBCURL", "CopyCommand", "Username",
                                   "Password", "RetryOptions", "S3Configuration", "S3BackupMode",
                                   "CloudWatchLoggingOptions", "ProcessingConfiguration"}))
    return bad;
  if (auto proc = Obj(d, "ProcessingConfiguration"); proc && True(*proc, "Enabled"))
    return Invalid(
        "RedshiftDestinationConfiguration.ProcessingConfiguration is not supported "
        "by Millrace yet");
  if (auto backup = Str(d, "S3BackupMode"); backup && *backup != "Disabled")
    return Invalid("S3BackupMode " + std::string(Abbreviate(*backup, 32)) +
                   " is not supported by Millrace");
  if (auto role = Str(d, "RoleARN")) dest->role_arn = std::string(*role);
  const std::string url(Str(d, "ClusterJDBCURL").value_or(""));
  std::string rest;
  for (const char* scheme : {"jdbc:postgresql://", "jdbc:redshift://"})
    if (url.rfind(scheme, 0) == 0) rest = url.substr(std::strlen(scheme));
  const size_t slash = rest.find('/');
  if (rest.empty() || slash == std::string::npos || slash == 0)
    return Invalid(
        "ClusterJDBCURL must be jdbc:postgresql://host[:port]/database (or "
        "jdbc:redshift://...), not '" +
        std::string(Abbreviate(url, 128)) + "'");
  std::string hostport = rest.substr(0, slash);
  std::string db = rest.substr(slash + 1);
  db = db.substr(0, db.find('?'));
  std::string host = hostport, port = "5432";
  if (size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty() || db.empty() || port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos)
    return Invalid("ClusterJDBCURL must be jdbc:postgresql://host[:port]/database, not '" +
                   std::string(Abbreviate(url, 128)) + "'");
  const std::string user(Str(d, "Username").value_or(""));
  const std::string password(Str(d, "Password").value_or(""));
  if (user.empty()) return Invalid("RedshiftDestinationConfiguration.Username is required");
  r->dsn = "host=" + ConnValue(host) + " port=" + port + " dbname=" + ConnValue(db) +
           " user=" + ConnValue(user);
  if (!password.empty()) r->dsn += " password=" + ConnValue(password);
  r->jdbc_url = url;
  r->username = user;
  auto copy = Obj(d, "CopyCommand");
  const std::string table(copy ? Str(*copy, "DataTableName").value_or("") : "");
  if (table.empty()) return Invalid("CopyCommand.DataTableName is required");
  if (size_t dot = table.find('.'); dot != std::string::npos) {
    r->pg_schema = table.substr(0, dot);
    r->table = table.substr(dot + 1);
  } else {
    r->table = table;
  }
  r->columns_text = std::string(copy ? Str(*copy, "DataTableColumns").value_or("") : "");
  for (size_t start = 0; start < r->columns_text.size();) {
    size_t comma = r->columns_text.find(',', start);
    if (comma == std::string::npos) comma = r->columns_text.size();
    std::string col = r->columns_text.substr(start, comma - start);
    col.erase(0, col.find_first_not_of(' '));
    col.erase(col.find_last_not_of(' ') + 1);
    if (!col.empty()) r->columns.push_back(col);
    start = comma + 1;
  }
  std::string options(copy ? Str(*copy, "CopyOptions").value_or("") : "");
  for (char& ch : options) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (options.find("json") != std::string::npos)
    r->input = "json";
  else if (options.find("csv") != std::string::npos)
    r->input = "csv";
  if (auto s3 = Obj(d, "S3Configuration"))
    if (auto hints = Obj(*s3, "BufferingHints")) {
      if (auto mb = Int(*hints, "SizeInMBs"); mb && *mb >= 1 && *mb <= 128) dest->size_mib = *mb;
      if (auto s = Int(*hints, "IntervalInSeconds"); s && *s >= 0 && *s <= 900)
        dest->interval_s = *s;
    }
  return std::nullopt;
}

// The members every consumer body made here starts with.
void ConsumerHead(JsonWriter& w, const std::string& name, const std::string& stream,
                  const std::string& starting, const Destination& d) {
  w.Key("name");
  w.String(name);
  w.Key("stream");
  w.String(stream);
  w.Key("starting_position");
  w.String(starting);
  w.Key("buffer_size_mib");
  w.Int(d.size_mib.value_or(5));
  w.Key("buffer_interval_seconds");
  w.Int(d.interval_s.value_or(300));
}

// The dataset schema of a Redshift destination: DataTableColumns as text columns (none:
// inferred; in a merge patch, null removes the ones there were), the records' form.
void WriteRedshiftSchema(JsonWriter& w, const Redshift& r, bool patch) {
  w.BeginObject();
  if (!r.columns.empty()) {
    w.Key("columns");
    w.BeginArray();
    for (const auto& c : r.columns) {
      w.BeginObject();
      w.Key("name");
      w.String(c);
      w.Key("type");
      w.String("string");
      w.EndObject();
    }
    w.EndArray();
  } else if (patch) {
    w.Key("columns");
    w.Null();
  }
  w.Key("input");
  w.String(r.input);
  w.EndObject();
}

// The dataset target of a Redshift destination: its PostgreSQL connection and table.
void WriteRedshiftTarget(JsonWriter& w, const Redshift& r) {
  w.BeginObject();
  w.Key("type");
  w.String("postgresql");
  w.Key("dsn");
  w.String(r.dsn);
  w.Key("schema");
  w.String(r.pg_schema);
  w.Key("table");
  w.String(r.table);
  w.EndObject();
}

// The consumer body of a Redshift destination: a CSV dataset with a postgresql target.
std::string RedshiftBody(const std::string& name, const std::string& stream,
                         const std::string& starting, const Destination& d, const Redshift& r,
                         const std::string& dataset) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  ConsumerHead(w, name, stream, starting, d);
  w.Key("dataset");
  w.BeginObject();
  w.Key("name");
  w.String(dataset);
  w.Key("file_type");
  w.String("csv");
  w.Key("schema");
  WriteRedshiftSchema(w, r, /*patch=*/false);
  w.Key("target");
  WriteRedshiftTarget(w, r);
  w.EndObject();
  w.EndObject();
  return body;
}

// UpdateDestination of a Redshift (PostgreSQL) destination: the RedshiftDestinationUpdate
// laid over the configuration the stream has (a member given replaces the one it had, as
// in Firehose; the password stays unless given), read again by ReadRedshift, and applied as
// one new version: the dataset's target (and columns, for a new CopyCommand) and the
// consumer's buffer.
struct RedshiftUpdated {
  std::optional<Failure> failure;
};
Result<RedshiftUpdated> UpdateRedshift(const control::Env& env, const control::StoredConsumer& c,
                                       const control::StoredDataset& ds, Extra& x, Element update,
                                       int64_t now) {
  if (auto bad = OnlyKnownMembers(
          update, "RedshiftDestinationUpdate",
          {"RoleARN", "ClusterJDBCURL", "CopyCommand", "Username", "Password", "RetryOptions",
           "S3Update", "S3BackupMode", "CloudWatchLoggingOptions", "ProcessingConfiguration"}))
    return RedshiftUpdated{bad};
  std::string merged;
  {
    JsonWriter w(&merged);
    w.BeginObject();
    auto member = [&](const char* key, const std::string& current) {
      if (auto given = Str(update, key)) {
        w.Key(key);
        w.String(*given);
      } else if (!current.empty()) {
        w.Key(key);
        w.String(current);
      }
    };
    member("RoleARN", x.role_arn);
    member("ClusterJDBCURL", x.jdbc_url);
    member("Username", x.username);
    member("Password", DsnValue(ds.spec.target.dsn, "password"));
    w.Key("CopyCommand");
    if (auto copy = Obj(update, "CopyCommand")) {
      w.Raw(simdjson::minify(*copy));
    } else {
      const formats::InputFormat input = ds.spec.schema.input;
      w.BeginObject();
      w.Key("DataTableName");
      w.String(ds.spec.target.pg_schema + "." + ds.spec.target.table);
      w.Key("DataTableColumns");
      w.String(x.columns);
      w.Key("CopyOptions");
      w.String(input == formats::InputFormat::kJson  ? "json"
               : input == formats::InputFormat::kCsv ? "csv"
                                                     : "");
      w.EndObject();
    }
    w.Key("S3Configuration");
    w.BeginObject();
    w.Key("BufferingHints");
    auto s3 = Obj(update, "S3Update");
    auto hints = s3 ? Obj(*s3, "BufferingHints") : std::nullopt;
    if (hints) {
      w.Raw(simdjson::minify(*hints));
    } else {
      w.BeginObject();
      w.Key("SizeInMBs");
      w.Int(c.spec.buffer_size_mib);
      w.Key("IntervalInSeconds");
      w.Int(c.spec.buffer_interval_seconds);
      w.EndObject();
    }
    w.EndObject();
    for (const char* key :
         {"RetryOptions", "S3BackupMode", "CloudWatchLoggingOptions", "ProcessingConfiguration"})
      if (auto v = update[key]; v.error() == simdjson::SUCCESS) {
        w.Key(key);
        w.Raw(simdjson::minify(v.value()));
      }
    w.EndObject();
  }
  simdjson::dom::parser parser;
  Element config;
  if (parser.parse(merged).get(config) != simdjson::SUCCESS)
    return Status::Internal("firehose: an unreadable merged Redshift configuration");
  Redshift r;
  Destination dest;
  if (auto bad = ReadRedshift(config, &r, &dest)) return RedshiftUpdated{bad};

  std::string dpatch;
  {
    JsonWriter w(&dpatch);
    w.BeginObject();
    w.Key("target");
    WriteRedshiftTarget(w, r);
    if (Obj(update, "CopyCommand")) {  // the columns and the records' form, as at creation
      w.Key("schema");
      WriteRedshiftSchema(w, r, /*patch=*/true);
    }
    w.EndObject();
  }
  auto patched = control::MergePatch(delivery::DatasetJson(ds.spec, /*with_secrets=*/true), dpatch);
  if (!patched.ok()) return patched.status();
  auto spec = delivery::ParseDataset(*patched);
  if (!spec.ok()) return spec.status();
  const bool dataset_changed =
      delivery::DatasetJson(*spec, true) != delivery::DatasetJson(ds.spec, true);
  std::string cpatch;
  {
    JsonWriter w(&cpatch);
    w.BeginObject();
    if (dest.size_mib && *dest.size_mib != c.spec.buffer_size_mib) {
      w.Key("buffer_size_mib");
      w.Int(*dest.size_mib);
    }
    if (dest.interval_s && *dest.interval_s != c.spec.buffer_interval_seconds) {
      w.Key("buffer_interval_seconds");
      w.Int(*dest.interval_s);
    }
    w.EndObject();
  }
  if (dataset_changed && cpatch == "{}") {
    auto d = control::UpdateDataset(env, c.spec.dataset, dpatch);  // the consumer's new version
    if (!d.ok()) return d.status();
  } else {
    if (dataset_changed)  // written as is; the consumer's new version below restarts it with it
      MILLRACE_RETURN_IF_ERROR(env.catalog->UpdateDoc(catalog::DocKind::kDataset, c.spec.dataset,
                                                      delivery::DatasetJson(*spec, true), now,
                                                      nullptr));
    if (cpatch != "{}") {
      auto u = control::UpdateConsumer(env, c.spec.name, cpatch);
      if (!u.ok()) return u.status();
    }
  }
  x.jdbc_url = r.jdbc_url;
  x.username = r.username;
  x.table = r.pg_schema + "." + r.table;
  x.columns = r.columns_text;
  if (dest.role_arn) x.role_arn = *dest.role_arn;
  return RedshiftUpdated{};
}

// DeliveryStreamEncryptionConfigurationInput: its key type and ARN, or the refusal.
std::optional<Failure> ReadSse(Element input, std::string* type, std::string* arn) {
  *type = std::string(Str(input, "KeyType").value_or(""));
  *arn = std::string(Str(input, "KeyARN").value_or(""));
  if (*type != "AWS_OWNED_CMK" && *type != "CUSTOMER_MANAGED_CMK")
    return Validation(*type, "deliveryStreamEncryptionConfigurationInput.keyType",
                      "Member must satisfy enum value set: [AWS_OWNED_CMK, CUSTOMER_MANAGED_CMK]");
  if (*type == "CUSTOMER_MANAGED_CMK" && arn->empty())
    return Invalid("KeyARN is required when KeyType is CUSTOMER_MANAGED_CMK");
  if (*type == "AWS_OWNED_CMK" && !arn->empty())
    return Invalid("KeyARN must not be given when KeyType is AWS_OWNED_CMK");
  return std::nullopt;
}

std::string ConsumerBody(const std::string& name, const std::string& stream,
                         const std::string& starting, const Destination& d,
                         const std::string& dataset) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  ConsumerHead(w, name, stream, starting, d);
  if (d.partition_query && !d.partition_query->empty()) {
    w.Key("partition_query");
    w.String(*d.partition_query);
  }
  if (d.deaggregation && !d.deaggregation->empty()) {
    w.Key("deaggregation");
    w.String(*d.deaggregation);
    if (d.deaggregation_delimiter && !d.deaggregation_delimiter->empty()) {
      w.Key("deaggregation_delimiter");
      w.String(*d.deaggregation_delimiter);
    }
  }
  if (d.transformation && !d.transformation->empty()) {
    w.Key("transformation");
    w.String(*d.transformation);
    if (d.lambda_buffer_mib) {
      w.Key("transformation_buffer_mib");
      w.Int(*d.lambda_buffer_mib);
    }
  }
  w.Key("dataset");
  w.BeginObject();
  w.Key("name");
  w.String(dataset);
  w.Key("file_type");
  w.String(d.file_type.value_or("other"));
  if (d.delimiter && !d.delimiter->empty() && d.file_type.value_or("other") == "other") {
    w.Key("record_delimiter");
    w.String(*d.delimiter);
  }
  std::string compression = d.compression.value_or("");
  if (!compression.empty()) {
    w.Key("compression");
    w.String(compression);
  }
  if (d.prefix && !d.prefix->empty()) {
    w.Key("key_prefix");
    w.String(*d.prefix);
  }
  if (d.error_prefix && !d.error_prefix->empty()) {
    w.Key("error_prefix");
    w.String(*d.error_prefix);
  }
  if (d.file_extension && !d.file_extension->empty()) {
    w.Key("file_extension");
    w.String(*d.file_extension);
  }
  if (d.time_zone && !d.time_zone->empty()) {
    w.Key("time_zone");
    w.String(*d.time_zone);
  }
  w.Key("target");
  w.BeginObject();
  w.Key("type");
  w.String("local");
  w.Key("bucket");
  w.String(d.bucket.value_or(""));
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return body;
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms) / 1000.0);
  return buf;
}

// A partition key spreading a DirectPut stream's records over its shards (Firehose's
// records have none).
std::string NextPartitionKey() {
  static std::atomic<uint64_t> n{0};
  return std::to_string(n.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

std::string BackingStreamOf(const std::string& delivery_stream) {
  return "firehose-" + delivery_stream;
}
std::string DatasetOf(const std::string& delivery_stream) { return "firehose-" + delivery_stream; }

FirehoseService::FirehoseService(control::ControlApi* control, catalog::Catalog* catalog,
                                 streams::StreamManager* streams, iam::Directory* directory,
                                 bool auth, kms::KeyStore* keys)
    : control_(control),
      catalog_(catalog),
      streams_(streams),
      directory_(directory),
      auth_(auth),
      keys_(keys) {}

Status FirehoseService::SetSse(const std::string& stream, const std::string& key_type,
                               const std::string& key_arn) {
  if (!keys_) return Status::Internal("firehose: no key store");
  for (int waited_ms = 0;; waited_ms += 10) {
    auto s = streams_->Get(stream);
    if (!s.ok()) return s.status();
    {
      std::shared_lock<std::shared_mutex> l((*s)->mu);
      if ((*s)->status == streams::StreamStatus::kActive) break;
    }
    if (waited_ms >= 10000)
      return Status::Unavailable("the stream " + stream + " did not become ACTIVE");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (key_type.empty()) return streams_->SetEncryption(stream, "", "");
  // AWS_OWNED_CMK: the AWS managed key of the server's KMS API for Kinesis.
  const std::string key_id = key_type == "CUSTOMER_MANAGED_CMK" ? key_arn : "alias/aws/kinesis";
  auto seal = keys_->KeyForStreams(key_id);
  if (!seal.ok())
    return Status::InvalidArgument(seal.status().message()).WithType("InvalidKMSResourceException");
  return streams_->SetEncryption(stream, key_id, *seal);
}

bool FirehoseService::Handles(const http::Request& req) {
  const std::string* t = req.FindHeader("x-amz-target");
  return t != nullptr && t->starts_with(kTargetPrefix);
}

std::string FirehoseService::Arn(const std::string& name) const {
  return "arn:aws:firehose:" + streams_->options().region + ":" + streams_->options().account_id +
         ":deliverystream/" + name;
}

std::optional<http::Response> FirehoseService::CheckHead(const http::Request& head) {
  if (!auth_) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = "firehose";
  vo.region = streams_->options().region;
  std::optional<auth::AuthError> e = directory_->AuthenticateHead(head, vo);
  if (!e) return std::nullopt;
  return ErrorAnswer(Failure{e->kind == auth::AuthErrorKind::kRequestExpired ? 403 : 400,
                             std::string(auth::AuthErrorName(e->kind)), e->message},
                     NewRequestId());
}

void FirehoseService::Forget(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  direct_.erase(name);
}

Result<std::string> FirehoseService::DirectStream(const std::string& name) {
  const int64_t now = streams_->clock()->NowMillis();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = direct_.find(name);
    if (it != direct_.end() && now < it->second.expires_ms) return it->second.stream;
  }
  // Read again at most once a second: a delivery stream deleted as a consumer (control
  // API) stops taking records within that.
  Extra x;
  auto row = LoadExtra(catalog_, name, &x);
  if (!row.ok()) return row.status();
  auto consumer = catalog_->GetDoc(catalog::DocKind::kConsumer, name);
  if (!consumer.ok()) return consumer.status();
  if (!*consumer) {
    Forget(name);
    return Status::NotFound("Firehose " + name + " under account " +
                            streams_->options().account_id + " not found.");
  }
  if (x.type != "DirectPut" || !*row)
    return Status::InvalidArgument(
        "This operation is not permitted on KinesisStreamAsSource "
        "delivery stream type.");
  std::string stream = BackingStreamOf(name);
  std::lock_guard<std::mutex> l(mu_);
  direct_[name] = Cached{stream, now + kCacheMs};
  return stream;
}

void FirehoseService::Handle(http::Request&& req, http::Responder responder) {
  const std::string request_id = NewRequestId();
  auto fail = [&](const Failure& f) { responder.Send(ErrorAnswer(f, request_id)); };
  const std::string action(req.HeaderOr("x-amz-target", "").substr(kTargetPrefix.size()));
  if (req.method != "POST") return fail({400, "UnknownOperationException", ""});

  std::shared_ptr<const iam::Principal> principal;
  if (auth_) {
    auth::VerifyOptions vo;
    vo.service = "firehose";
    vo.region = streams_->options().region;
    auto result = directory_->Authenticate(req, vo);
    if (auto* e = std::get_if<auth::AuthError>(&result))
      return fail(Failure{e->kind == auth::AuthErrorKind::kRequestExpired ? 403 : 400,
                          std::string(auth::AuthErrorName(e->kind)), e->message});
    principal = std::get<iam::Authenticated>(result).principal;
  }
  static const char* const kActions[] = {"CreateDeliveryStream",
                                         "DescribeDeliveryStream",
                                         "ListDeliveryStreams",
                                         "DeleteDeliveryStream",
                                         "UpdateDestination",
                                         "PutRecord",
                                         "PutRecordBatch",
                                         "TagDeliveryStream",
                                         "UntagDeliveryStream",
                                         "ListTagsForDeliveryStream",
                                         "StartDeliveryStreamEncryption",
                                         "StopDeliveryStreamEncryption"};
  if (std::find_if(std::begin(kActions), std::end(kActions),
                   [&](const char* a) { return action == a; }) == std::end(kActions)) {
    if (action.empty() || action.size() > 64) return fail({400, "UnknownOperationException", ""});
    return fail(Invalid("Millrace's Firehose API does not offer " +
                        std::string(Abbreviate(action, 64)) +
                        " (docs/firehose-api.md lists its actions)"));
  }
  thread_local simdjson::dom::parser parser;
  Element doc;
  if (parser.parse(req.body.empty() ? std::string_view("{}") : std::string_view(req.body))
              .get(doc) != simdjson::SUCCESS ||
      doc.type() != simdjson::dom::element_type::OBJECT)
    return fail({400, "SerializationException", "The request body is not a JSON object"});
  const std::string name(Str(doc, "DeliveryStreamName").value_or(""));
  if (action != "ListDeliveryStreams")
    if (auto bad = CheckName(Str(doc, "DeliveryStreamName"))) return fail(*bad);

  if (principal) {
    const std::string resource = action == "ListDeliveryStreams" ? Arn("*") : Arn(name);
    iam::RequestContext rc =
        directory_->NewContext(*principal, req, "firehose:" + action, resource);
    iam::Decision d =
        directory_->Authorize(*principal, rc, nullptr, streams_->options().account_id);
    if (d != iam::Decision::kAllow)
      return fail({400, "AccessDeniedException",
                   "User: " + principal->ref.arn + " is not authorized to perform: firehose:" +
                       action + " on resource: " + resource +
                       (d == iam::Decision::kExplicitDeny
                            ? " with an explicit deny"
                            : " because no identity-based policy allows the firehose:" + action +
                                  " action")});
  }
  if (action == "PutRecord" || action == "PutRecordBatch")
    return Put(action, req, std::move(responder));

  control_->RunSerial(
      std::move(req), std::move(responder),
      [this, action, request_id](const control::Env& env, const http::Request& r) {
        simdjson::dom::parser p;
        Element body;
        if (p.parse(r.body.empty() ? std::string_view("{}") : std::string_view(r.body)).get(body) !=
            simdjson::SUCCESS)
          return ErrorAnswer({400, "SerializationException", "The request body is not JSON"},
                             request_id);
        const std::string name(Str(body, "DeliveryStreamName").value_or(""));
        const std::string account = streams_->options().account_id;
        const int64_t now = env.clock->NowMillis();
        auto not_found = [&] {
          return ErrorAnswer({400, "ResourceNotFoundException",
                              "Firehose " + name + " under account " + account + " not found."},
                             request_id);
        };
        auto failed = [&](const Status& st) { return ErrorAnswer(FromStatus(st), request_id); };
        auto ok = [&](std::string json) { return Json(200, std::move(json), request_id); };

        if (action == "CreateDeliveryStream") {
          auto existing = control::FindConsumer(env, name);
          if (!existing.ok()) return failed(existing.status());
          if (*existing)
            return ErrorAnswer(
                {400, "ResourceInUseException",
                 "Firehose " + name + " under accountId " + account + " already exists"},
                request_id);
          Extra x;
          x.type = std::string(Str(body, "DeliveryStreamType").value_or("DirectPut"));
          if (x.type != "DirectPut" && x.type != "KinesisStreamAsSource")
            return ErrorAnswer(
                Invalid("DeliveryStreamType " + std::string(Abbreviate(x.type, 64)) +
                        " is not supported by Millrace (DirectPut and KinesisStreamAsSource are)"),
                request_id);
          for (const char* other : kOtherDestinations)
            if (Obj(body, other))
              return ErrorAnswer(
                  Invalid(std::string(other) + ": Millrace delivers to S3 "
                                               "(ExtendedS3DestinationConfiguration) only"),
                  request_id);
          auto ext = Obj(body, "ExtendedS3DestinationConfiguration");
          auto plain = Obj(body, "S3DestinationConfiguration");
          auto redshift_config = Obj(body, "RedshiftDestinationConfiguration");
          if ((ext ? 1 : 0) + (plain ? 1 : 0) + (redshift_config ? 1 : 0) > 1)
            return ErrorAnswer(Invalid("give one destination: ExtendedS3DestinationConfiguration, "
                                       "S3DestinationConfiguration or "
                                       "RedshiftDestinationConfiguration"),
                               request_id);
          if (!ext && !plain && !redshift_config)
            return ErrorAnswer(Invalid("a destination is required: "
                                       "ExtendedS3DestinationConfiguration"),
                               request_id);
          Destination dest;
          std::optional<Redshift> redshift;
          if (redshift_config) {
            redshift.emplace();
            if (auto bad = ReadRedshift(*redshift_config, &*redshift, &dest))
              return ErrorAnswer(*bad, request_id);
            x.jdbc_url = redshift->jdbc_url;
            x.username = redshift->username;
            x.table = redshift->pg_schema + "." + redshift->table;
            x.columns = redshift->columns_text;
          } else {
            const std::string member =
                ext ? "extendedS3DestinationConfiguration" : "s3DestinationConfiguration";
            if (auto bad = ReadDestination(ext ? *ext : *plain, member, true, &dest))
              return ErrorAnswer(*bad, request_id);
          }
          x.role_arn = dest.role_arn.value_or("");
          x.lambda_arn = dest.lambda_arn.value_or("");
          if (auto sse = Obj(body, "DeliveryStreamEncryptionConfigurationInput")) {
            if (auto bad = ReadSse(*sse, &x.sse_key_type, &x.sse_key_arn))
              return ErrorAnswer(*bad, request_id);
            if (x.type != "DirectPut")
              return ErrorAnswer(Invalid("server-side encryption is for DirectPut delivery "
                                         "streams; encrypt the source stream instead "
                                         "(StartStreamEncryption)"),
                                 request_id);
            if (!keys_)
              return ErrorAnswer(Invalid("server-side encryption is not available"), request_id);
            auto key = keys_->KeyForStreams(
                x.sse_key_type == "CUSTOMER_MANAGED_CMK" ? x.sse_key_arn : "alias/aws/kinesis");
            if (!key.ok())
              return ErrorAnswer({400, "InvalidKMSResourceException", key.status().message()},
                                 request_id);
          }
          if (!redshift) {
            auto bucket = env.catalog->GetDoc(catalog::DocKind::kBucket, *dest.bucket);
            if (!bucket.ok()) return failed(bucket.status());
            if (!*bucket)
              return ErrorAnswer(Invalid("Bucket " + *dest.bucket +
                                         " does not exist in Millrace's S3 API: create it first "
                                         "(aws s3 mb s3://" +
                                         *dest.bucket + ")"),
                                 request_id);
          }
          std::string stream, starting = "TRIM_HORIZON";
          if (x.type == "KinesisStreamAsSource") {
            auto src = Obj(body, "KinesisStreamSourceConfiguration");
            auto arn = src ? Str(*src, "KinesisStreamARN") : std::nullopt;
            if (!arn)
              return ErrorAnswer(Invalid("KinesisStreamSourceConfiguration.KinesisStreamARN is "
                                         "required for a KinesisStreamAsSource delivery stream"),
                                 request_id);
            auto stream_name = control::StreamNameOf(env, std::string(*arn));
            if (!stream_name.ok()) return failed(stream_name.status());
            if (!streams_->Get(*stream_name).ok())
              return ErrorAnswer(
                  Invalid("Stream " + *stream_name + " under account " + account + " not found."),
                  request_id);
            stream = *stream_name;
            // Firehose reads a Kinesis source from LATEST (AWS's documentation).
            starting = "LATEST";
            if (auto role = Str(*src, "RoleARN"); role && x.role_arn.empty())
              x.role_arn = std::string(*role);
          } else {
            stream = BackingStreamOf(name);
            // One shard: 1 MiB/s and 1,000 records/s, AWS's DirectPut quota in most regions.
            Status st = streams_->CreateStream(stream, 1, streams::StreamMode::kProvisioned, {});
            if (st.code() == Code::kAlreadyExists)
              return ErrorAnswer(
                  {400, "ResourceInUseException",
                   "the stream " + stream + " that a DirectPut delivery stream named " + name +
                       " writes to exists already: delete it or choose another "
                       "name"},
                  request_id);
            if (!st.ok()) return failed(st);
          }
          auto undo_stream = [&] {
            if (x.type == "DirectPut") {
              Status st = streams_->DeleteStream(stream);
              if (!st.ok()) LOG(kWarn) << "firehose: undoing " << stream << ": " << st.ToString();
            }
          };
          x.made_dataset = true;
          auto created = control::CreateConsumer(
              env, redshift ? RedshiftBody(name, stream, starting, dest, *redshift, DatasetOf(name))
                            : ConsumerBody(name, stream, starting, dest, DatasetOf(name)));
          if (!created.ok()) {
            undo_stream();
            return failed(created.status());
          }
          if (auto tags_array = body["Tags"]; tags_array.error() == simdjson::SUCCESS) {
            simdjson::dom::array tags;
            if (tags_array.get(tags) == simdjson::SUCCESS)
              for (Element t : tags)
                x.tags[std::string(Str(t, "Key").value_or(""))] =
                    std::string(Str(t, "Value").value_or(""));
          }
          if (!x.sse_key_type.empty()) {
            Status sse = SetSse(stream, x.sse_key_type, x.sse_key_arn);
            if (!sse.ok()) {  // undone: no delivery stream half made
              (void)control::DeleteConsumer(env, name);
              (void)control::DeleteDataset(env, DatasetOf(name));
              undo_stream();
              return failed(sse);
            }
          }
          Status st = SaveExtra(env.catalog, name, x, false, now);
          if (!st.ok()) return failed(st);
          Forget(name);
          std::string out;
          JsonWriter w(&out);
          w.BeginObject();
          w.Key("DeliveryStreamARN");
          w.String(Arn(name));
          w.EndObject();
          return ok(std::move(out));
        }

        if (action == "ListDeliveryStreams") {
          auto consumers = control::AllConsumers(env);
          if (!consumers.ok()) return failed(consumers.status());
          int64_t limit = Int(body, "Limit").value_or(10);
          if (limit < 1 || limit > 10000)
            return ErrorAnswer(Validation(std::to_string(limit), "limit",
                                          "Member must have value between 1 and 10000"),
                               request_id);
          const std::string after(Str(body, "ExclusiveStartDeliveryStreamName").value_or(""));
          const std::string type(Str(body, "DeliveryStreamType").value_or(""));
          std::vector<std::string> names;
          for (const auto& c : *consumers) {
            if (!after.empty() && c.spec.name <= after) continue;
            if (!type.empty()) {
              Extra x;
              auto row = LoadExtra(env.catalog, c.spec.name, &x);
              if (!row.ok()) return failed(row.status());
              if (x.type != type) continue;
            }
            names.push_back(c.spec.name);
          }
          std::sort(names.begin(), names.end());
          const bool more = names.size() > static_cast<size_t>(limit);
          if (more) names.resize(static_cast<size_t>(limit));
          std::string out;
          JsonWriter w(&out);
          w.BeginObject();
          w.Key("DeliveryStreamNames");
          w.BeginArray();
          for (const auto& n : names) w.String(n);
          w.EndArray();
          w.Key("HasMoreDeliveryStreams");
          w.Bool(more);
          w.EndObject();
          return ok(std::move(out));
        }

        // The rest name an existing delivery stream: a consumer.
        auto consumer = control::FindConsumer(env, name);
        if (!consumer.ok()) return failed(consumer.status());
        if (!*consumer) return not_found();
        Extra x;
        auto extra_row = LoadExtra(env.catalog, name, &x);
        if (!extra_row.ok()) return failed(extra_row.status());
        const control::StoredConsumer& c = **consumer;

        if (action == "DeleteDeliveryStream") {
          auto deleted = control::DeleteConsumer(env, name);
          if (!deleted.ok()) return failed(deleted.status());
          if (*extra_row && x.made_dataset) {
            auto d = control::DeleteDataset(env, c.spec.dataset);
            if (!d.ok() && d.status().code() != Code::kNotFound)
              LOG(kWarn) << "firehose: deleting dataset " << c.spec.dataset << ": "
                         << d.status().ToString();
          }
          if (*extra_row && x.type == "DirectPut") {
            Status st = streams_->DeleteStream(c.spec.stream);
            if (!st.ok() && st.code() != Code::kNotFound)
              LOG(kWarn) << "firehose: deleting stream " << c.spec.stream << ": " << st.ToString();
          }
          if (*extra_row) {
            Status st = env.catalog->DeleteDoc(catalog::DocKind::kDeliveryStream, name);
            if (!st.ok()) return failed(st);
          }
          Forget(name);
          return ok("{}");
        }

        if (action == "TagDeliveryStream" || action == "UntagDeliveryStream") {
          if (action == "TagDeliveryStream") {
            simdjson::dom::array tags;
            if (body["Tags"].get(tags) != simdjson::SUCCESS || tags.size() == 0 ||
                tags.size() > kMaxTags)
              return ErrorAnswer(
                  Validation("Tags", "tags", "Member must have length between 1 and 50"),
                  request_id);
            for (Element t : tags) {
              std::string key(Str(t, "Key").value_or(""));
              if (key.empty() || key.size() > 128 || key.starts_with("aws:"))
                return ErrorAnswer(Invalid("tag key '" + std::string(Abbreviate(key, 128)) +
                                           "' must be 1 to 128 characters, not starting with aws:"),
                                   request_id);
              std::string value(Str(t, "Value").value_or(""));
              if (value.size() > 256)
                return ErrorAnswer(Invalid("tag value for " + key + " is longer than 256"),
                                   request_id);
              x.tags[key] = value;
            }
            if (x.tags.size() > kMaxTags)
              return ErrorAnswer(
                  {400, "LimitExceededException", "a delivery stream has at most 50 tags"},
                  request_id);
          } else {
            simdjson::dom::array keys;
            if (body["TagKeys"].get(keys) != simdjson::SUCCESS || keys.size() == 0 ||
                keys.size() > kMaxTags)
              return ErrorAnswer(
                  Validation("TagKeys", "tagKeys", "Member must have length between 1 and 50"),
                  request_id);
            for (Element k : keys) {
              std::string_view key;
              if (k.get(key) == simdjson::SUCCESS) x.tags.erase(std::string(key));
            }
          }
          Status st = SaveExtra(env.catalog, name, x, extra_row->has_value(), now);
          if (!st.ok()) return failed(st);
          return ok("{}");
        }

        if (action == "StartDeliveryStreamEncryption" || action == "StopDeliveryStreamEncryption") {
          if (!*extra_row || x.type != "DirectPut")
            return ErrorAnswer(Invalid("server-side encryption is for DirectPut delivery streams; "
                                       "encrypt the source stream instead "
                                       "(StartStreamEncryption)"),
                               request_id);
          std::string type, arn;
          if (action == "StartDeliveryStreamEncryption") {
            type = "AWS_OWNED_CMK";
            if (auto sse = Obj(body, "DeliveryStreamEncryptionConfigurationInput"))
              if (auto bad = ReadSse(*sse, &type, &arn)) return ErrorAnswer(*bad, request_id);
          }
          Status st = SetSse(c.spec.stream, type, arn);
          if (!st.ok()) return failed(st);
          x.sse_key_type = type;
          x.sse_key_arn = arn;
          st = SaveExtra(env.catalog, name, x, true, now);
          if (!st.ok()) return failed(st);
          return ok("{}");
        }

        if (action == "ListTagsForDeliveryStream") {
          int64_t limit = Int(body, "Limit").value_or(50);
          const std::string after(Str(body, "ExclusiveStartTagKey").value_or(""));
          std::string out;
          JsonWriter w(&out);
          w.BeginObject();
          w.Key("Tags");
          w.BeginArray();
          int64_t n = 0;
          bool more = false;
          for (const auto& [k, v] : x.tags) {
            if (!after.empty() && k <= after) continue;
            if (n == limit) {
              more = true;
              break;
            }
            ++n;
            w.BeginObject();
            w.Key("Key");
            w.String(k);
            w.Key("Value");
            w.String(v);
            w.EndObject();
          }
          w.EndArray();
          w.Key("HasMoreTags");
          w.Bool(more);
          w.EndObject();
          return ok(std::move(out));
        }

        auto dataset = control::FindDataset(env, c.spec.dataset);
        if (!dataset.ok()) return failed(dataset.status());

        if (action == "UpdateDestination") {
          const std::string current(Str(body, "CurrentDeliveryStreamVersionId").value_or(""));
          if (current != std::to_string(c.row.version))
            return ErrorAnswer(
                {400, "ConcurrentModificationException",
                 "Delivery stream " + name + " has version " + std::to_string(c.row.version) +
                     ", not " + std::string(Abbreviate(current, 32)) +
                     " (CurrentDeliveryStreamVersionId)"},
                request_id);
          if (Str(body, "DestinationId").value_or(kDestinationId) != kDestinationId)
            return ErrorAnswer(Invalid("DestinationId must be " + std::string(kDestinationId)),
                               request_id);
          for (const char* other :
               {"ElasticsearchDestinationUpdate", "SplunkDestinationUpdate",
                "HttpEndpointDestinationUpdate", "AmazonopensearchserviceDestinationUpdate"})
            if (Obj(body, other))
              return ErrorAnswer(
                  Invalid(std::string(other) + " is not supported by Millrace (UpdateDestination "
                                               "takes ExtendedS3DestinationUpdate, or "
                                               "RedshiftDestinationUpdate)"),
                  request_id);
          const bool is_redshift = *dataset && (*dataset)->spec.target.type == "postgresql";
          auto redshift_update = Obj(body, "RedshiftDestinationUpdate");
          if (redshift_update && !is_redshift)
            return ErrorAnswer(Invalid("RedshiftDestinationUpdate: delivery stream " + name +
                                       " delivers to S3 (ExtendedS3DestinationUpdate)"),
                               request_id);
          if (is_redshift) {
            if (!redshift_update)
              return ErrorAnswer(Invalid("delivery stream " + name +
                                         " delivers to Redshift (PostgreSQL): give "
                                         "RedshiftDestinationUpdate"),
                                 request_id);
            auto update = UpdateRedshift(env, c, **dataset, x, *redshift_update, now);
            if (!update.ok()) return failed(update.status());
            if (update->failure) return ErrorAnswer(*update->failure, request_id);
            Status st = SaveExtra(env.catalog, name, x, extra_row->has_value(), now);
            if (!st.ok()) return failed(st);
            return ok("{}");
          }
          auto ext = Obj(body, "ExtendedS3DestinationUpdate");
          auto plain = Obj(body, "S3DestinationUpdate");
          if (!ext && !plain)
            return ErrorAnswer(Invalid("give ExtendedS3DestinationUpdate"), request_id);
          Destination dest;
          if (auto bad = ReadDestination(
                  ext ? *ext : *plain, ext ? "extendedS3DestinationUpdate" : "s3DestinationUpdate",
                  false, &dest))
            return ErrorAnswer(*bad, request_id);
          // A dataset's bucket is fixed (control API): a new one would strand what the
          // dataset has written. Firehose moves on to the new bucket; we say no. A new
          // Prefix is a new key_prefix: the files written stay where they are.
          const delivery::DatasetSpec* ds = *dataset ? &(*dataset)->spec : nullptr;
          const std::string current_bucket =
              !ds ? ""
              : ds->target.type == "local" && ds->target.bucket.empty()
                  ? delivery::BucketOf(ds->name)
                  : ds->target.bucket;
          if (ds && dest.bucket && *dest.bucket != current_bucket)
            return ErrorAnswer(Invalid("changing BucketARN is not supported by Millrace: "
                                       "create another delivery stream to deliver elsewhere"),
                               request_id);
          // The dataset first (compression, format), then the consumer.
          std::string dpatch;
          {
            JsonWriter w(&dpatch);
            w.BeginObject();
            OptMember(w, "file_type", dest.file_type);
            OptMember(w, "compression", dest.compression);
            OptMember(w, "key_prefix", dest.prefix);
            OptMember(w, "error_prefix", dest.error_prefix);
            OptMember(w, "file_extension", dest.file_extension);
            OptMember(w, "time_zone", dest.time_zone);
            if (*dataset && (*dataset)->spec.file_type == "other")
              OptMember(w, "record_delimiter", dest.delimiter);
            w.EndObject();
          }

          std::string cpatch;
          {
            JsonWriter w(&cpatch);
            w.BeginObject();
            OptMember(w, "buffer_size_mib", dest.size_mib);
            OptMember(w, "buffer_interval_seconds", dest.interval_s);
            if (dest.transformation) {
              w.Key("transformation");
              if (dest.transformation->empty()) {
                w.Null();
              } else {
                w.String(*dest.transformation);
              }
            }
            OptMember(w, "transformation_buffer_mib", dest.lambda_buffer_mib);
            OptMember(w, "partition_query", dest.partition_query);
            OptMember(w, "deaggregation", dest.deaggregation);
            OptMember(w, "deaggregation_delimiter", dest.deaggregation_delimiter);
            w.EndObject();
          }
          if (dpatch != "{}" && cpatch == "{}") {
            auto d = control::UpdateDataset(env, c.spec.dataset, dpatch);  // a new version
            if (!d.ok()) return failed(d.status());
          } else if (dpatch != "{}" && *dataset) {
            // Both change: the dataset's document is written as is, and the consumer's new
            // version (below) restarts it with both, so the update is one new version.
            auto merged = control::MergePatch(
                delivery::DatasetJson((*dataset)->spec, /*with_secrets=*/true), dpatch);
            if (!merged.ok()) return failed(merged.status());
            auto spec = delivery::ParseDataset(*merged);
            if (!spec.ok()) return failed(spec.status());
            Status st = env.catalog->UpdateDoc(catalog::DocKind::kDataset, c.spec.dataset,
                                               delivery::DatasetJson(*spec, true), now, nullptr);
            if (!st.ok()) return failed(st);
          }
          if (cpatch != "{}") {
            auto u = control::UpdateConsumer(env, name, cpatch);
            if (!u.ok()) return failed(u.status());
          }
          if (dest.lambda_arn) x.lambda_arn = *dest.lambda_arn;
          if (dest.transformation && dest.transformation->empty()) x.lambda_arn.clear();
          if (dest.role_arn) x.role_arn = *dest.role_arn;
          Status st = SaveExtra(env.catalog, name, x, extra_row->has_value(), now);
          if (!st.ok()) return failed(st);
          return ok("{}");
        }

        // DescribeDeliveryStream.
        std::string status = "ACTIVE";
        int64_t stream_created = c.row.created_ms;
        bool sealed = false;
        if (auto s = streams_->Get(c.spec.stream); s.ok()) {
          std::shared_lock<std::shared_mutex> l((*s)->mu);
          if (x.type == "DirectPut" && (*s)->status == streams::StreamStatus::kCreating)
            status = "CREATING";
          sealed = x.type == "DirectPut" && !(*s)->seal_key_id.empty();
          stream_created = (*s)->created_ms;
        }
        std::string bucket, prefix, error_prefix, compression = "UNCOMPRESSED";
        std::string file_type = "other";
        if (*dataset) {
          const delivery::DatasetSpec& d = (*dataset)->spec;
          bucket = d.target.type == "local" && d.target.bucket.empty() ? delivery::BucketOf(d.name)
                                                                       : d.target.bucket;
          prefix = d.target.prefix + d.key_prefix;
          error_prefix = d.error_prefix.empty() ? "" : d.target.prefix + d.error_prefix;
          file_type = d.file_type;
          if (file_type != "parquet") compression = FirehoseCompression(d.compression);
        }
        std::string out;
        JsonWriter w(&out);
        w.BeginObject();
        w.Key("DeliveryStreamDescription");
        w.BeginObject();
        w.Key("DeliveryStreamName");
        w.String(name);
        w.Key("DeliveryStreamARN");
        w.String(Arn(name));
        w.Key("DeliveryStreamStatus");
        w.String(status);
        w.Key("DeliveryStreamEncryptionConfiguration");
        w.BeginObject();
        if (sealed && !x.sse_key_type.empty()) {
          if (x.sse_key_type == "CUSTOMER_MANAGED_CMK") {
            w.Key("KeyARN");
            w.String(x.sse_key_arn);
          }
          w.Key("KeyType");
          w.String(x.sse_key_type);
        }
        w.Key("Status");
        w.String(sealed ? "ENABLED" : "DISABLED");
        w.EndObject();
        w.Key("DeliveryStreamType");
        w.String(x.type);
        w.Key("VersionId");
        w.String(std::to_string(c.row.version));
        w.Key("CreateTimestamp");
        w.Raw(Seconds(c.row.created_ms));
        w.Key("LastUpdateTimestamp");
        w.Raw(Seconds(c.row.updated_ms));
        if (x.type == "KinesisStreamAsSource") {
          w.Key("Source");
          w.BeginObject();
          w.Key("KinesisStreamSourceDescription");
          w.BeginObject();
          w.Key("KinesisStreamARN");
          w.String(streams_->StreamArn(c.spec.stream, streams_->options().region));
          if (!x.role_arn.empty()) {
            w.Key("RoleARN");
            w.String(x.role_arn);
          }
          w.Key("DeliveryStartTimestamp");
          w.Raw(Seconds(std::max(stream_created, c.row.created_ms)));
          w.EndObject();
          w.EndObject();
        }
        auto s3_common = [&] {
          if (!x.role_arn.empty()) {
            w.Key("RoleARN");
            w.String(x.role_arn);
          }
          w.Key("BucketARN");
          w.String("arn:aws:s3:::" + bucket);
          w.Key("Prefix");
          w.String(prefix);
          if (!error_prefix.empty()) {
            w.Key("ErrorOutputPrefix");
            w.String(error_prefix);
          }
          w.Key("BufferingHints");
          w.BeginObject();
          w.Key("SizeInMBs");
          w.Int(c.spec.buffer_size_mib);
          w.Key("IntervalInSeconds");
          w.Int(c.spec.buffer_interval_seconds);
          w.EndObject();
          w.Key("CompressionFormat");
          w.String(compression);
          w.Key("EncryptionConfiguration");
          w.BeginObject();
          w.Key("NoEncryptionConfig");
          w.String("NoEncryption");
          w.EndObject();
          w.Key("CloudWatchLoggingOptions");
          w.BeginObject();
          w.Key("Enabled");
          w.Bool(false);
          w.EndObject();
        };
        w.Key("Destinations");
        w.BeginArray();
        w.BeginObject();
        w.Key("DestinationId");
        w.String(kDestinationId);
        if (*dataset && (*dataset)->spec.target.type == "postgresql") {
          const delivery::TargetSpec& t = (*dataset)->spec.target;
          w.Key("RedshiftDestinationDescription");
          w.BeginObject();
          if (!x.role_arn.empty()) {
            w.Key("RoleARN");
            w.String(x.role_arn);
          }
          w.Key("ClusterJDBCURL");
          w.String(x.jdbc_url);
          w.Key("CopyCommand");
          w.BeginObject();
          w.Key("DataTableName");
          w.String(t.pg_schema + "." + t.table);
          if (!x.columns.empty()) {
            w.Key("DataTableColumns");
            w.String(x.columns);
          }
          w.EndObject();
          w.Key("Username");
          w.String(x.username);
          w.Key("S3DestinationDescription");
          w.BeginObject();
          w.Key("BufferingHints");
          w.BeginObject();
          w.Key("SizeInMBs");
          w.Int(c.spec.buffer_size_mib);
          w.Key("IntervalInSeconds");
          w.Int(c.spec.buffer_interval_seconds);
          w.EndObject();
          w.Key("CompressionFormat");
          w.String("UNCOMPRESSED");
          w.EndObject();
          w.Key("S3BackupMode");
          w.String("Disabled");
          w.EndObject();
          w.EndObject();
          w.EndArray();
          w.Key("HasMoreDestinations");
          w.Bool(false);
          w.EndObject();
          w.EndObject();
          return ok(std::move(out));
        }
        w.Key("S3DestinationDescription");
        w.BeginObject();
        s3_common();
        w.EndObject();
        w.Key("ExtendedS3DestinationDescription");
        w.BeginObject();
        s3_common();
        const std::string delimiter = *dataset ? (*dataset)->spec.record_delimiter : "";
        if (*dataset && !(*dataset)->spec.file_extension.empty()) {
          w.Key("FileExtension");
          w.String((*dataset)->spec.file_extension);
        }
        if (*dataset && !(*dataset)->spec.time_zone.empty()) {
          w.Key("CustomTimeZone");
          w.String((*dataset)->spec.time_zone);
        }
        auto processor =
            [&](const char* type,
                std::initializer_list<std::pair<const char*, std::string>> parameters) {
              w.BeginObject();
              w.Key("Type");
              w.String(type);
              w.Key("Parameters");
              w.BeginArray();
              for (const auto& [name, value] : parameters) {
                w.BeginObject();
                w.Key("ParameterName");
                w.String(name);
                w.Key("ParameterValue");
                w.String(value);
                w.EndObject();
              }
              w.EndArray();
              w.EndObject();
            };
        w.Key("ProcessingConfiguration");
        w.BeginObject();
        w.Key("Enabled");
        w.Bool(!c.spec.transformation.empty() || !c.spec.partition_query.empty() ||
               !delimiter.empty() || !c.spec.deaggregation.empty());
        w.Key("Processors");
        w.BeginArray();
        if (!c.spec.deaggregation.empty()) {
          if (c.spec.deaggregation_delimiter.empty())
            processor("RecordDeAggregation", {{"SubRecordType", c.spec.deaggregation}});
          else
            processor("RecordDeAggregation",
                      {{"SubRecordType", c.spec.deaggregation},
                       {"Delimiter", Base64Encode(c.spec.deaggregation_delimiter)}});
        }
        if (!c.spec.transformation.empty())
          processor("Lambda",
                    {{"LambdaArn", x.lambda_arn.empty() ? c.spec.transformation : x.lambda_arn}});
        if (!c.spec.partition_query.empty())
          processor("MetadataExtraction", {{"MetadataExtractionQuery", c.spec.partition_query}});
        if (!delimiter.empty()) {
          std::string escaped;
          for (char ch : delimiter)
            escaped += ch == '\n'   ? "\\n"
                       : ch == '\t' ? "\\t"
                       : ch == '\r' ? "\\r"
                                    : std::string(1, ch);
          processor("AppendDelimiterToRecord", {{"Delimiter", escaped}});
        }
        w.EndArray();
        w.EndObject();
        w.Key("DynamicPartitioningConfiguration");
        w.BeginObject();
        w.Key("Enabled");
        w.Bool(!c.spec.partition_query.empty());
        w.EndObject();
        w.Key("S3BackupMode");
        w.String("Disabled");
        w.Key("DataFormatConversionConfiguration");
        w.BeginObject();
        w.Key("Enabled");
        w.Bool(file_type == "parquet");
        if (file_type == "parquet") {
          w.Key("OutputFormatConfiguration");
          w.Raw(R"({"Serializer":{"ParquetSerDe":{}}})");
        }
        w.EndObject();
        w.EndObject();
        w.EndObject();
        w.EndArray();
        w.Key("HasMoreDestinations");
        w.Bool(false);
        w.EndObject();
        w.EndObject();
        return ok(std::move(out));
      });
}

void FirehoseService::Put(const std::string& action, const http::Request& req,
                          http::Responder responder) {
  const std::string request_id = NewRequestId();
  auto fail = [&](const Failure& f) { responder.Send(ErrorAnswer(f, request_id)); };
  thread_local simdjson::dom::parser parser;
  Element doc;
  if (parser.parse(req.body).get(doc) != simdjson::SUCCESS)
    return fail({400, "SerializationException", "The request body is not a JSON object"});
  const std::string name(Str(doc, "DeliveryStreamName").value_or(""));
  std::vector<Element> records;
  const bool batch = action == "PutRecordBatch";
  if (batch) {
    simdjson::dom::array arr;
    if (doc["Records"].get(arr) != simdjson::SUCCESS)
      return fail(Validation("null", "records", "Member must not be null"));
    if (arr.size() == 0 || arr.size() > kMaxBatchRecords)
      return fail(Validation("[" + std::to_string(arr.size()) + " records]", "records",
                             "Member must have length between 1 and 500"));
    for (Element e : arr) records.push_back(e);
  } else {
    auto record = Obj(doc, "Record");
    if (!record) return fail(Validation("null", "record", "Member must not be null"));
    records.push_back(*record);
  }
  std::vector<streams::PutEntry> entries;
  entries.reserve(records.size());
  size_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string member =
        batch ? "records." + std::to_string(i + 1) + ".member.data" : "record.data";
    auto data = Str(records[i], "Data");
    if (!data) return fail(Validation("null", member, "Member must not be null"));
    streams::PutEntry e;
    if (!Base64Decode(*data, &e.data))
      return fail({400, "SerializationException", "Base64 encoded data is invalid at " + member});
    if (e.data.size() > kMaxRecordBytes)
      return fail(Validation("[" + std::to_string(e.data.size()) + " bytes]", member,
                             "Member must have length less than or equal to 1024000"));
    total += e.data.size();
    e.partition_key = NextPartitionKey();
    entries.push_back(std::move(e));
  }
  if (total > kMaxBatchBytes)
    return fail(Invalid("the records of a PutRecordBatch call must total at most 4 MiB, not " +
                        std::to_string(total) + " bytes"));
  auto stream_name = DirectStream(name);
  if (!stream_name.ok()) return fail(FromStatus(stream_name.status()));
  auto stream = streams_->Get(*stream_name);
  if (!stream.ok()) {
    Forget(name);
    return fail(
        {400, "ResourceNotFoundException",
         "Firehose " + name + " under account " + streams_->options().account_id + " not found."});
  }
  const uint64_t stream_id = (*stream)->id;
  auto shared = std::make_shared<http::Responder>(std::move(responder));
  streams_->Put(
      *stream, std::move(entries), /*all_or_nothing=*/!batch,
      [shared, stream_id, batch, request_id](Status st, std::vector<streams::PutOutcome> out) {
        if (!st.ok()) {
          Failure f = st.code() == Code::kThrottled
                          ? Failure{400, "ServiceUnavailableException", "Slow down."}
                          : FromStatus(st);
          return shared->Send(ErrorAnswer(f, request_id));
        }
        std::string body;
        JsonWriter w(&body);
        w.BeginObject();
        if (!batch) {
          const streams::PutOutcome& o = out[0];
          if (!o.status.ok()) {
            Failure f = o.status.code() == Code::kThrottled
                            ? Failure{400, "ServiceUnavailableException", "Slow down."}
                            : FromStatus(o.status);
            return shared->Send(ErrorAnswer(f, request_id));
          }
          w.Key("RecordId");
          w.String(streams::EncodeSequence(stream_id, o.shard_index, o.counter));
          w.Key("Encrypted");
          w.Bool(false);
        } else {
          size_t failed = 0;
          for (const auto& o : out) failed += o.status.ok() ? 0 : 1;
          w.Key("FailedPutCount");
          w.Int(static_cast<int64_t>(failed));
          w.Key("Encrypted");
          w.Bool(false);
          w.Key("RequestResponses");
          w.BeginArray();
          for (const auto& o : out) {
            w.BeginObject();
            if (o.status.ok()) {
              w.Key("RecordId");
              w.String(streams::EncodeSequence(stream_id, o.shard_index, o.counter));
            } else if (o.status.code() == Code::kThrottled) {
              w.Key("ErrorCode");
              w.String("ServiceUnavailableException");
              w.Key("ErrorMessage");
              w.String("Slow down.");
            } else {
              w.Key("ErrorCode");
              w.String("InternalFailure");
              w.Key("ErrorMessage");
              w.String(o.status.message());
            }
            w.EndObject();
          }
          w.EndArray();
        }
        w.EndObject();
        shared->Send(Json(200, std::move(body), request_id));
      });
}

}  // namespace millrace::firehose
