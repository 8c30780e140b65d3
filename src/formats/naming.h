// Object keys of dataset files, in Kinesis Data Firehose's layout (docs/format/datasets.md,
// "Naming"):
//
//   <prefix>YYYY/MM/DD/hh/<consumer>-<version>-YYYY-MM-DD-hh-mm-ss-<uuid><extension>
//   <prefix><error-output-type>/YYYY/MM/DD/hh/<the same file name>
//
// Times are UTC, or local times of the dataset's time zone (Firehose's CustomTimeZone), from
// the approximate arrival time of the oldest record in the file.
// The UUID is derived from what the file holds (DeterministicUuid), so a delivery redone
// after a crash writes the same key again. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "formats/time_zone.h"

namespace millrace::formats {

// Where records that could not be delivered go, each under its own folder: Firehose's
// !{firehose:error-output-type}.
enum class ErrorOutputType {
  kProcessingFailed,        // "processing-failed": the transformation failed
  kFormatConversionFailed,  // "format-conversion-failed": the record does not fit the format
};
const char* ErrorOutputTypeName(ErrorOutputType type);

struct FileName {
  std::string_view consumer;   // the consumer's name (Firehose: the delivery stream name)
  int64_t version = 1;         // 1, plus 1 for every configuration change of the consumer
  int64_t arrival_ms = 0;      // arrival of the oldest record in the file, ms since the epoch
  std::string_view uuid;       // DeterministicUuid() of the delivery
  std::string_view extension;  // FileExtension(spec): ".jsonl.gz", "" ...
  // The zone of the times in the name and its prefix (folders, !{timestamp:}); null: UTC.
  const TimeZone* zone = nullptr;
};

// "2024/04/01/10/": the hour folder of a time, ms since the epoch (UTC; times before
// 1970 count back from it; times outside the years 0000-9999 are clamped to them).
std::string TimePrefix(int64_t arrival_ms);
// "<consumer>-<version>-2024-04-01-10-00-00-<uuid><extension>": the last path component.
std::string ObjectFileName(const FileName& name);
// "<prefix>2024/04/01/10/<file name>". `prefix` is used as given: "" or ending in '/' to
// make it a folder.
std::string DataObjectKey(std::string_view prefix, const FileName& name);
// "<prefix>processing-failed/2024/04/01/10/<file name>" (or format-conversion-failed/).
std::string ErrorObjectKey(std::string_view prefix, ErrorOutputType type, const FileName& name);

// Custom prefixes with Firehose's expressions (docs/format/datasets.md, "Custom
// prefixes"), relative to the dataset's folder:
//   !{timestamp:<pattern>}     the oldest record's arrival (UTC) in a subset of Java's
//                              DateTimeFormatter: y (yyyy, yy), M, d, H, m, s (one letter:
//                              unpadded, two: padded) and 'quoted text'
//   !{firehose:random-string}  11 letters and digits, derived from the file's UUID (a
//                              delivery redone after a crash writes the same key)
//   !{firehose:error-output-type}  processing-failed | format-conversion-failed; only in
//                              an error prefix, and required in one that has expressions
// A prefix without expressions gets Firehose's default after it ("YYYY/MM/dd/HH/", and for
// errors "<error-output-type>/YYYY/MM/dd/HH/"); one with expressions is used as evaluated.
//   !{partitionKeyFromQuery:<key>}  a dynamic partition's value for the key (the
//                              consumer's partition query gives them), not in an error
//                              prefix
//   !{partitionKeyFromLambda:<key>}  the same from the transformation's result
//                              (metadata.partitionKeys), kept as "lambda:<key>" in the
//                              partition's values
// Other namespaces are refused. What a prefix evaluates to is checked to stay in the
// folder: no empty, "." or ".." parts, no leading '/'.
bool HasExpressions(std::string_view prefix);
// InvalidArgument naming `field` and what is wrong; empty prefixes are fine.
Status CheckCustomPrefix(std::string_view field, std::string_view prefix, bool error_prefix);
// The keys that !{partitionKeyFromQuery:...} expressions of a checked prefix name.
std::vector<std::string> PartitionKeysOf(std::string_view prefix);
// A file's dynamic partition: key -> value (values checked by the query: no '/').
using PartitionValues = std::map<std::string, std::string>;
// The key of a file under a checked prefix (DataObjectKey's layout for ""); `values` are
// the partition's (a key the prefix names and `values` lack evaluates to "").
std::string CustomObjectKey(std::string_view prefix, const FileName& name,
                            const PartitionValues* values = nullptr);
std::string CustomErrorKey(std::string_view prefix, ErrorOutputType type, const FileName& name);

// A UUID in the textual form of version 4 (8-4-4-4-12 lowercase hex digits, version nibble
// 4, variant bits 10) made from the first 16 bytes of SHA-256(seed) instead of random
// bytes: the same seed always gives the same UUID, different seeds collide no more often
// than random UUIDs do.
std::string DeterministicUuid(std::string_view seed);

}  // namespace millrace::formats
