// The JSON of an invocation, kept apart from the process handling (worker.h): the request
// line sent to a worker and the validation of the line it answers with. Pure functions,
// thread-compatible. Pinned to docs/transform-protocol.md.
#pragma once

#include <string>
#include <vector>

#include "transform/types.h"

namespace millrace::transform {

// The per-invocation values of the Lambda context object.
struct RequestContext {
  std::string request_id;  // aws_request_id
  int64_t remaining_ms = 0;
};

// Appends Firehose's event for `records` to `out` (no newline).
void AppendEvent(const InvokeContext& ctx, const std::vector<InputRecord>& records,
                 std::string* out);

// The whole request line, newline included: for python3 the envelope
// {"context":{...},"event":{...}}, for exec the event alone.
std::string BuildRequest(const FunctionSpec& spec, const InvokeContext& ctx,
                         const RequestContext& rc, const std::vector<InputRecord>& records);

// Validates a response line (without its newline) against the input records and fills
// result->records in input order, or result->error. For python3 the line is the envelope
// {"ok": <result>} or {"error": {...}}; for exec it is the result itself (a top-level
// "errorMessage" member makes it a function error, as a Lambda error payload does).
void ParseResponse(Runtime runtime, std::string_view line, const std::vector<InputRecord>& inputs,
                   InvokeResult* result);

}  // namespace millrace::transform
