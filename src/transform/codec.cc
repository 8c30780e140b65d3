#include "transform/codec.h"

#include <simdjson.h>

#include <unordered_map>

#include "common/encoding.h"
#include "common/json_writer.h"
#include "transform/errc.h"

namespace millrace::transform {
namespace {

InvocationError Err(ErrorKind kind, const char* code, std::string message) {
  return InvocationError{kind, code, std::move(message)};
}

std::string ArnOf(const FunctionSpec& spec) {
  return "arn:aws:lambda:local:000000000000:function:" + spec.name;
}

// Builds the error of a Lambda error payload {"errorType","errorMessage",...}.
InvocationError FunctionErrorOf(simdjson::dom::object err) {
  std::string_view type = "Unhandled", message;
  if (err["errorType"].get(type) != simdjson::SUCCESS) type = "Unhandled";
  if (err["errorMessage"].get(message) != simdjson::SUCCESS) message = {};
  ErrorKind kind = ErrorKind::kFunctionError;
  if (type == "Runtime.OutOfMemory") kind = ErrorKind::kOutOfMemory;
  std::string text = std::string(type);
  if (!message.empty()) text += ": " + std::string(message);
  InvocationError e = Err(kind, errc::kFunctionError, std::move(text));
  simdjson::dom::array trace;
  if (err["stackTrace"].get(trace) == simdjson::SUCCESS) {
    for (simdjson::dom::element line : trace) {
      if (e.stack_trace.size() == kMaxTraceLines) {
        e.stack_trace.push_back("...");
        break;
      }
      std::string_view l;
      if (line.get(l) != simdjson::SUCCESS) continue;
      e.stack_trace.emplace_back(l.substr(0, kMaxTraceLineBytes));
    }
  }
  return e;
}

void ValidateRecords(simdjson::dom::element result, const std::vector<InputRecord>& inputs,
                     InvokeResult* out) {
  simdjson::dom::array records;
  if (result["records"].get(records) != simdjson::SUCCESS) {
    out->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                     "the result is not an object with a \"records\" array");
    return;
  }
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) index.emplace(inputs[i].record_id, i);
  std::vector<OutputRecord> outs(inputs.size());
  std::vector<bool> seen(inputs.size(), false);
  bool unknown = false;
  for (simdjson::dom::element rec : records) {
    std::string_view id, status;
    if (rec["recordId"].get(id) != simdjson::SUCCESS ||
        rec["result"].get(status) != simdjson::SUCCESS) {
      out->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                       "a result record lacks a string \"recordId\" or \"result\"");
      return;
    }
    RecordResult r;
    if (status == "Ok") {
      r = RecordResult::kOk;
    } else if (status == "Dropped") {
      r = RecordResult::kDropped;
    } else if (status == "ProcessingFailed") {
      r = RecordResult::kProcessingFailed;
    } else {
      out->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                       "record " + std::string(id) + ": result \"" + std::string(status) +
                           "\" is not Ok, Dropped or ProcessingFailed");
      return;
    }
    auto it = index.find(id);
    if (it == index.end()) {
      unknown = true;
      continue;
    }
    if (seen[it->second]) {
      out->error =
          Err(ErrorKind::kRecordIds, errc::kDuplicatedRecordId,
              std::string(errc::kDuplicatedRecordIdMessage) + " (" + std::string(id) + ")");
      return;
    }
    seen[it->second] = true;
    OutputRecord& o = outs[it->second];
    o.record_id = std::string(id);
    o.result = r;
    simdjson::dom::element data;
    if (rec["data"].get(data) == simdjson::SUCCESS && !data.is_null()) {
      std::string_view b64;
      if (data.get(b64) != simdjson::SUCCESS) {
        out->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                         "record " + std::string(id) + ": \"data\" is not a string");
        return;
      }
      if (!Base64Decode(b64, &o.data)) {
        out->error = Err(ErrorKind::kBadResponse, errc::kFunctionError,
                         "record " + std::string(id) + ": \"data\" is not valid base64");
        return;
      }
    } else if (r == RecordResult::kOk) {
      out->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                       "record " + std::string(id) + ": an Ok record has no \"data\"");
      return;
    }
    simdjson::dom::element meta;
    if (rec["metadata"].get(meta) == simdjson::SUCCESS && !meta.is_null())
      o.metadata = simdjson::minify(meta);
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!seen[i]) {
      out->error = Err(ErrorKind::kRecordIds, errc::kMissingRecordId,
                       std::string(errc::kMissingRecordIdMessage) +
                           " (first missing: " + inputs[i].record_id + ")");
      return;
    }
  }
  if (unknown) {  // every input came back, and more: an id the function made up
    out->error = Err(ErrorKind::kRecordIds, errc::kMissingRecordId,
                     "The function returned a record id that was not in its input.");
    return;
  }
  out->records = std::move(outs);
}

}  // namespace

const char* RuntimeName(Runtime r) { return r == Runtime::kPython3 ? "python3" : "exec"; }

bool ParseRuntime(const std::string& name, Runtime* out) {
  if (name == "python3") {
    *out = Runtime::kPython3;
  } else if (name == "exec") {
    *out = Runtime::kExec;
  } else {
    return false;
  }
  return true;
}

const char* RecordResultName(RecordResult r) {
  switch (r) {
    case RecordResult::kOk:
      return "Ok";
    case RecordResult::kDropped:
      return "Dropped";
    case RecordResult::kProcessingFailed:
      return "ProcessingFailed";
  }
  return "?";
}

void AppendEvent(const InvokeContext& ctx, const std::vector<InputRecord>& records,
                 std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Key("invocationId");
  w.String(ctx.invocation_id);
  w.Key("deliveryStreamArn");
  w.String(ctx.delivery_stream_arn);
  w.Key("sourceKinesisStreamArn");
  w.String(ctx.source_kinesis_stream_arn);
  w.Key("region");
  w.String(ctx.region);
  w.Key("records");
  w.BeginArray();
  for (const InputRecord& r : records) {
    w.BeginObject();
    w.Key("recordId");
    w.String(r.record_id);
    w.Key("approximateArrivalTimestamp");
    w.Int(r.approximate_arrival_ms);
    w.Key("data");
    w.Base64(r.data);
    w.Key("kinesisRecordMetadata");
    w.BeginObject();
    w.Key("shardId");
    w.String(r.shard_id);
    w.Key("partitionKey");
    w.String(r.partition_key);
    w.Key("approximateArrivalTimestamp");
    w.Int(r.approximate_arrival_ms);
    w.Key("sequenceNumber");
    w.String(r.sequence_number);
    w.Key("subsequenceNumber");
    w.Int(r.subsequence_number);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string BuildRequest(const FunctionSpec& spec, const InvokeContext& ctx,
                         const RequestContext& rc, const std::vector<InputRecord>& records) {
  std::string out;
  size_t approx = 256;
  for (const auto& r : records) approx += r.data.size() * 4 / 3 + 300;
  out.reserve(approx);
  if (spec.runtime == Runtime::kExec) {
    AppendEvent(ctx, records, &out);
    out.push_back('\n');
    return out;
  }
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("context");
  w.BeginObject();
  w.Key("function_name");
  w.String(spec.name);
  w.Key("function_version");
  w.String(spec.version);
  w.Key("memory_limit_in_mb");
  w.Int(spec.memory_mb);
  w.Key("aws_request_id");
  w.String(rc.request_id);
  w.Key("invoked_function_arn");
  w.String(ArnOf(spec));
  w.Key("log_group_name");
  w.String("/aws/lambda/" + spec.name);
  w.Key("log_stream_name");
  w.String("millrace/" + spec.version);
  w.Key("remaining_ms");
  w.Int(rc.remaining_ms);
  w.EndObject();
  w.Key("event");
  AppendEvent(ctx, records, &out);
  // AppendEvent used its own writer: close the envelope by hand.
  out.push_back('}');
  out.push_back('\n');
  return out;
}

void ParseResponse(Runtime runtime, std::string_view line, const std::vector<InputRecord>& inputs,
                   InvokeResult* result) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(line);
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    std::string head(line.substr(0, 200));
    result->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                        "the function's output is not JSON: " + head);
    return;
  }
  simdjson::dom::object obj;
  if (doc.get(obj) != simdjson::SUCCESS) {
    result->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                        "the function's output is not a JSON object");
    return;
  }
  if (runtime == Runtime::kPython3) {
    simdjson::dom::object err;
    if (obj["error"].get(err) == simdjson::SUCCESS) {
      result->error = FunctionErrorOf(err);
      return;
    }
    simdjson::dom::element ok;
    if (obj["ok"].get(ok) != simdjson::SUCCESS) {
      result->error = Err(ErrorKind::kBadResponse, errc::kJsonProcessing,
                          "the worker's answer has neither \"ok\" nor \"error\"");
      return;
    }
    ValidateRecords(ok, inputs, result);
    return;
  }
  simdjson::dom::element em;
  if (obj["errorMessage"].get(em) == simdjson::SUCCESS) {
    result->error = FunctionErrorOf(obj);
    return;
  }
  ValidateRecords(doc, inputs, result);
}

}  // namespace millrace::transform
