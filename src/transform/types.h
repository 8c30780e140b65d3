// The values of the transformation runtime: a function's spec, the records of one
// invocation, its per-record results, and the error an invocation can end in.
//
// The JSON shapes these map to (Firehose's event and result) and the worker wire protocol
// are specified in docs/transform-protocol.md.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace millrace::transform {

constexpr int kDefaultMemoryMb = 128;
constexpr int kMinMemoryMb = 128;
constexpr int kMaxMemoryMb = 10240;
constexpr int64_t kDefaultTimeoutMs = 60000;
constexpr int64_t kMaxTimeoutMs = 300000;
// Added to memory_mb for the worker's RLIMIT_AS: the interpreter's own mappings (python3
// with json/base64 loaded maps ~30 MiB of address space before the handler runs; glibc
// reserves more for arenas). See docs/transform-protocol.md, "Limits".
constexpr int kAddressSpaceHeadroomMb = 128;
// A response line longer than this is an invocation error (the worker is replaced).
constexpr size_t kMaxResponseBytes = 32u << 20;
// A printed line longer than this is cut (the rest of it is dropped).
constexpr size_t kMaxLogLineBytes = 256u << 10;

enum class Runtime { kPython3, kExec };
const char* RuntimeName(Runtime r);
// "python3" or "exec"; false otherwise.
bool ParseRuntime(const std::string& name, Runtime* out);

struct FunctionSpec {
  std::string name;  // the function's name, as context.function_name
  Runtime runtime = Runtime::kPython3;
  std::string handler;   // python3: "module.function"; exec: a path relative to code_dir
  std::string code_dir;  // the unpacked code: imported from (python3) / run in (both)
  int memory_mb = kDefaultMemoryMb;
  int64_t timeout_ms = kDefaultTimeoutMs;
  std::string version = "$LATEST";
  bool network = false;  // the sandbox leaves the network to the function only if set
};

// One Kinesis record as Firehose hands it to a function.
struct InputRecord {
  std::string record_id;
  std::string data;  // raw bytes; base64-encoded on the wire
  int64_t approximate_arrival_ms = 0;
  std::string shard_id;
  std::string partition_key;
  std::string sequence_number;
  int64_t subsequence_number = 0;
};

// Per-invocation values of the event's envelope.
struct InvokeContext {
  std::string invocation_id;  // Firehose's invocationId (a UUID); also tags captured logs
  std::string delivery_stream_arn;
  std::string source_kinesis_stream_arn;
  std::string region;
};

enum class RecordResult { kOk, kDropped, kProcessingFailed };
const char* RecordResultName(RecordResult r);

struct OutputRecord {
  std::string record_id;
  RecordResult result = RecordResult::kOk;
  std::string data;                     // decoded bytes (empty when the function gave none)
  std::optional<std::string> metadata;  // the "metadata" member as compact JSON, if present
};

// Why an invocation failed, for the caller's retry and metrics decisions. The Firehose
// error code (errc.h) is what goes into processing-failed/ records.
enum class ErrorKind {
  kFunctionError,  // the handler raised, or returned a non-result (Lambda "Unhandled")
  kTimeout,        // the worker passed timeout_ms and was killed
  kOutOfMemory,    // MemoryError in the worker, or killed for memory
  kCrash,          // the worker exited or was killed by a signal mid-invocation
  kBadResponse,    // unparsable or malformed result (JsonProcessingException)
  kRecordIds,      // missing, duplicated or unknown recordIds
  kSpawnFailed,    // the worker could not be started
  kShutdown,       // the pool is being destroyed
};

struct InvocationError {
  ErrorKind kind = ErrorKind::kFunctionError;
  std::string code;     // a Firehose error code, errc.h
  std::string message;  // what a human needs; for function errors, type and message
  // The function's stack trace (python3: the traceback's lines), at most kMaxTraceLines
  // lines of at most kMaxTraceLineBytes each.
  std::vector<std::string> stack_trace;
};
constexpr size_t kMaxTraceLines = 100;
constexpr size_t kMaxTraceLineBytes = 1024;

// The outcome of one invocation: records (in input order, one per input record) or error.
struct [[nodiscard]] InvokeResult {
  std::vector<OutputRecord> records;
  std::optional<InvocationError> error;
  pid_t worker_pid = 0;    // the worker that ran it (for tests and logs)
  std::string request_id;  // context.aws_request_id of this invocation
  int64_t duration_ms = 0;
  bool ok() const { return !error.has_value(); }
};

// A line the function printed (python3: stdout and stderr; exec: stderr), with the
// invocation it belongs to. invocation_id is empty for lines printed between invocations
// (at import time, for example).
struct LogLine {
  std::string function_name;
  std::string invocation_id;
  std::string request_id;
  pid_t worker_pid = 0;
  std::string text;  // without the trailing newline
  // An invocation's error as the server saw it ("[ERROR] ZeroDivisionError: ..." and the
  // traceback), rather than a line the function printed.
  bool error = false;
};
// Called on the invoking thread, in the order the worker printed; must be thread-safe
// when the pool runs concurrent invocations, and must not call back into the pool.
using LogSink = std::function<void(const LogLine&)>;

}  // namespace millrace::transform
