// The JSON line written to the error output for a record that could not be delivered, in
// the shapes Kinesis Data Firehose documents (docs/format/datasets.md, "Error records"):
//
// processing-failed/ (Firehose: "Handle failure in data transformation"):
//   {"attemptsMade":1,"arrivalTimestamp":1711965600000,"errorCode":"...","errorMessage":"...",
//    "attemptEndingTimestamp":1711965601000,"rawData":"<base64>","lambdaArn":"..."}
// format-conversion-failed/ (Firehose: "Handling errors for data format conversion"):
//   {"attemptsMade":1,"arrivalTimestamp":...,"lastErrorCode":"...","lastErrorMessage":"...",
//    "attemptEndingTimestamp":...,"rawData":"<base64>"}
//
// then, for records read from a Kinesis stream (every record, in Millrace), "sequenceNumber"
// (documented by Firehose for format conversion failures), and two Millrace additions a
// replay needs: "partitionKey" and "shardId". Numbers are JSON numbers, as Firehose writes
// them. Error files hold one such line per record, '\n'-terminated.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/naming.h"

namespace millrace::formats {

// errorCode values Millrace writes for format conversion failures.
inline constexpr char kErrorCodeParseError[] = "DataFormatConversion.ParseError";

struct FailedRecord {
  int64_t attempts_made = 1;
  int64_t arrival_ms = 0;       // when the stream accepted the record
  std::string_view error_code;  // "DataFormatConversion.ParseError", "Lambda.FunctionError"
  std::string_view error_message;
  int64_t attempt_ending_ms = 0;  // when Millrace gave up on the record
  std::string_view raw_data;      // the record's bytes as sent (written base64-encoded)
  std::string_view lambda_arn;    // processing-failed only: the transformation ("" if none)
  // Where the record came from; each field is left out when empty.
  std::string_view sequence_number;
  std::string_view partition_key;
  std::string_view shard_id;
};

// Appends the record's line, '\n' included, to `*out`.
void AppendFailedRecord(ErrorOutputType type, const FailedRecord& r, std::string* out);
std::string FailedRecordLine(ErrorOutputType type, const FailedRecord& r);

}  // namespace millrace::formats
