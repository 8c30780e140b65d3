// Firehose's data-transformation error codes, the errorCode of processing-failed/ records.
// The list and where each comes from is in docs/transform-protocol.md, "Error codes".
#pragma once

namespace millrace::transform::errc {

inline constexpr char kFunctionError[] = "Lambda.FunctionError";
inline constexpr char kJsonProcessing[] = "Lambda.JsonProcessingException";
inline constexpr char kMissingRecordId[] = "Lambda.MissingRecordId";
inline constexpr char kDuplicatedRecordId[] = "Lambda.DuplicatedRecordId";
// Not an invocation error: the code of a record the function returned as ProcessingFailed.
inline constexpr char kProcessingFailedStatus[] = "Lambda.ProcessingFailedStatus";

inline constexpr char kMissingRecordIdMessage[] =
    "One or more record Ids were not returned. Ensure that the Lambda function returns all "
    "received record Ids.";
inline constexpr char kDuplicatedRecordIdMessage[] =
    "Multiple records were returned with the same record ID. Ensure that the Lambda function "
    "returns unique record IDs for each record.";
inline constexpr char kProcessingFailedStatusMessage[] = "ProcessingFailed status set for record";

}  // namespace millrace::transform::errc
