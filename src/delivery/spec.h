// Dataset and consumer configurations: what the control API accepts (the JSON contract of
// the consumers issue) and what delivery runs. Parsing checks every field and answers, for
// a bad one, which field is wrong and why ("buffer_size_mib: must be between 1 and 128").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "formats/table_schema.h"
#include "transform/types.h"

namespace millrace::delivery {

struct TargetSpec {
  std::string type = "local";  // local | s3 | postgresql
  // postgresql only (pg_store.h): a libpq connection string, the table and its schema.
  std::string dsn;
  std::string table;
  std::string pg_schema = "public";
  // s3 only:
  std::string endpoint_url;
  std::string region;
  std::string bucket;
  std::string prefix;
  std::string access_key_id;
  std::string secret_access_key;
};

struct DatasetSpec {
  std::string name;
  std::string file_type;  // jsonl | csv | parquet | other
  // jsonl, other, csv: "" | gzip | zstd | snappy (the whole file). parquet: the page codec,
  // snappy (the default) | zstd | gzip | none.
  std::string compression;
  TargetSpec target;
  // csv and parquet only. Without columns, they are inferred from the first records
  // delivered (formats/infer.h) and stored here, "inferred": true until pinned.
  formats::TableSchema schema;
  // csv output: a header row, the delimiter.
  bool csv_header = true;
  char csv_delimiter = ',';
  // Firehose's custom prefixes, below the target's folder (formats/naming.h): where files
  // go ("" = "YYYY/MM/DD/hh/") and where records that failed go ("" = "<type>/YYYY/...").
  std::string key_prefix;
  std::string error_prefix;
  // other only: bytes appended after each record ("\n": Firehose's AppendDelimiterToRecord).
  std::string record_delimiter;
  // The files' extension instead of the format's (".jsonl.gz", ...): Firehose's
  // FileExtension. "" for the format's.
  std::string file_extension;
  // The time zone of file names and prefixes ("Asia/Tokyo"; "" for UTC): Firehose's
  // CustomTimeZone (formats/time_zone.h).
  std::string time_zone;

  bool typed() const { return file_type == "csv" || file_type == "parquet"; }
};

struct ConsumerSpec {
  std::string name;
  std::string stream;
  std::string dataset;
  int buffer_size_mib = 5;            // 1-128
  int buffer_interval_seconds = 300;  // 0-900
  std::string transformation;         // "" for none
  int transformation_buffer_mib = 1;  // 1-6: record data per invocation (Lambda's 6 MB payload)
  int transformation_workers = 2;     // 1-16: invocations at once for this consumer
  std::string starting_position = "TRIM_HORIZON";  // or LATEST
  // A jq expression (record_filter.h): only the records it keeps are delivered; "" for all.
  std::string filter;
  // A jq expression giving each record's dynamic partition keys (partition_query.h), for
  // the dataset's !{partitionKeyFromQuery:...}; "" for none.
  std::string partition_query;
  // Multi-record deaggregation (deaggregate.h): "" (none), "JSON" or "DELIMITED" (with
  // `deaggregation_delimiter`), applied to every record before the filter and partitioning.
  std::string deaggregation;
  std::string deaggregation_delimiter;
  // Paused: delivery runs no runner for it (its checkpoints and counters stay); resuming
  // goes on from the checkpoints. Shown as state PAUSED.
  bool paused = false;
};

// The S3 API's bucket of a local dataset (src/s3/): the dataset's name when it is a valid
// bucket name (3-63 of [a-z0-9.-], starting and ending with a letter or digit, not an IP
// address), else the name in lower case with other characters as '-', shortened, and "-"
// plus 8 hex digits of the name's SHA-256 ("PROD_ACME_Shipment" -> "prod-acme-shipment-
// 1a2b3c4d"): distinct datasets get distinct buckets.
std::string BucketOf(std::string_view dataset_name);
// Where a local dataset's files are: <data_dir>/datasets/<name>, or the folder of the bucket
// made through the S3 API that it names (<data_dir>/buckets/<bucket>), and below that its
// prefix.
std::string LocalRoot(const std::string& data_dir, const DatasetSpec& d);

// Names of datasets, consumers and transformations: 1-128 of [a-zA-Z0-9_.-].
Status CheckName(std::string_view field, std::string_view name);

Result<DatasetSpec> ParseDataset(std::string_view json);
// Checks every field but whether the filter compiles (CheckFilter: it costs milliseconds, and
// stored consumers are parsed often).
Result<ConsumerSpec> ParseConsumer(std::string_view json);
// InvalidArgument naming "filter" (or "partition_query") and jq's message if the consumer's
// filter (or partition query) does not compile.
Status CheckFilter(const ConsumerSpec& c);

// JSON for storage (`with_secrets`) and for API answers (secret_access_key omitted).
std::string DatasetJson(const DatasetSpec& d, bool with_secrets);
std::string ConsumerJson(const ConsumerSpec& c);

// The function to run for a stored transformation (its catalog document's spec and
// version): Corruption if the document lacks its runtime, handler or code directory.
Result<transform::FunctionSpec> FunctionOf(const std::string& name, std::string_view spec_json,
                                           int64_t version);

}  // namespace millrace::delivery
