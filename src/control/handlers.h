// The control API's actions, one function each, independent of HTTP routing and of
// authentication (api.cc does both). Each returns the answer (status and JSON body) or a
// Status that api.cc maps to the wire: kInvalidArgument -> 400 ValidationError, kNotFound ->
// 404 NotFound, kAlreadyExists and kFailedPrecondition -> 409 Conflict.
//
// Called on the ControlApi's worker thread only, one at a time: a handler's checks and
// writes are not interleaved with another's (see api.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog.h"
#include "cdc/manager.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "control/history.h"
#include "delivery/manager.h"
#include "delivery/spec.h"
#include "streams/manager.h"
#include "transform/log_store.h"

namespace millrace::control {

struct Answer {
  int status = 200;
  std::string body;  // a JSON object
};
using Outcome = Result<Answer>;

// 200 {"name": name, "deleted": true}: the answer of every DELETE.
Answer DeletedAnswer(const std::string& name);

// What the handlers work on. `delivery` and `logs` may be null. Transformation code goes
// under `data_dir` (transform::CodeStore).
struct Env {
  catalog::Catalog* catalog = nullptr;
  streams::StreamManager* streams = nullptr;
  delivery::DeliveryManager* delivery = nullptr;
  const Clock* clock = nullptr;
  transform::LogStore* logs = nullptr;
  std::string data_dir;
  cdc::ChangeStreamManager* change_streams = nullptr;
  History* history = nullptr;  // null: no series (answers with none)
};

// datasets.cc
Outcome ListDatasets(const Env& env);
Outcome CreateDataset(const Env& env, std::string_view body);
// AlreadyExists when a new local dataset's bucket is one made through the S3 API.
Status CheckBucketFree(const Env& env, const delivery::DatasetSpec& spec);
Outcome DescribeDataset(const Env& env, const std::string& name);
Outcome UpdateDataset(const Env& env, const std::string& name, std::string_view body);
Outcome DeleteDataset(const Env& env, const std::string& name);

// consumers.cc
Outcome ListConsumers(const Env& env);
Outcome CreateConsumer(const Env& env, std::string_view body);
Outcome DescribeConsumer(const Env& env, const std::string& name);
Outcome UpdateConsumer(const Env& env, const std::string& name, std::string_view body);
Outcome DeleteConsumer(const Env& env, const std::string& name);
// GET /consumers/{name}/lag: the last hour's lag, sampled.
Outcome ConsumerLag(const Env& env, const std::string& name);
// POST /consumers/{name}/pause | resume: an update of `paused` (a new version, as any).
Outcome SetConsumerPaused(const Env& env, const std::string& name, bool paused);

// transformations.cc
constexpr size_t kMaxTransformations = 20;
constexpr size_t kMaxConsumersPerTransformation = 5;
Outcome ListTransformations(const Env& env);
Outcome CreateTransformation(const Env& env, std::string_view body);
Outcome DescribeTransformation(const Env& env, const std::string& name);
Outcome UpdateTransformation(const Env& env, const std::string& name, std::string_view body);
Outcome DeleteTransformation(const Env& env, const std::string& name);
// POST /transformations/{name}/test: runs the function once on the records in the body
// ({"records": [{"data": base64, "partition_key"?}]}, at most 500 records and 6 MiB of
// data, Lambda's payload) and answers each record's result, or the invocation's error.
// Blocks for up to the function's timeout: run it off the serial worker (api.cc).
Outcome TestTransformation(const Env& env, const std::string& name, std::string_view body);
// `since` and `limit` as the query gave them (nullopt: absent), checked here.
Outcome TransformationLogs(const Env& env, const std::string& name,
                           const std::optional<std::string>& since,
                           const std::optional<std::string>& limit);

// For consumers.cc: when `consumer_body` (a consumer's JSON, create body or merged update)
// names a "transformation", checks that it exists (NotFound) and that fewer than
// kMaxConsumersPerTransformation other consumers use it (InvalidArgument). Reads the
// consumers' stored JSON directly, so it holds whatever delivery::ParseConsumer accepts.
Status CheckConsumerTransformation(const Env& env, std::string_view consumer_body);

// change_streams.cc
Outcome ListChangeStreams(const Env& env);
Outcome CreateChangeStream(const Env& env, std::string_view body);
Outcome DescribeChangeStream(const Env& env, const std::string& name);
Outcome UpdateChangeStream(const Env& env, const std::string& name, std::string_view body);
Outcome DeleteChangeStream(const Env& env, const std::string& name);
Outcome PauseChangeStream(const Env& env, const std::string& name);
Outcome ResumeChangeStream(const Env& env, const std::string& name);

// stream_views.cc
// A stream's name from what a user gave: its name, or its ARN (what every answer prints).
// InvalidArgument for an ARN of another account or not of a stream.
Result<std::string> StreamNameOf(const Env& env, const std::string& name_or_arn);
Outcome ListStreams(const Env& env);
Outcome DescribeStream(const Env& env, const std::string& name);
Outcome StreamDatasets(const Env& env, const std::string& name);
// ?request_type=get_metrics: the last hour's records and bytes in and out, per interval.
Outcome StreamMetrics(const Env& env, const std::string& name);

// ---- Shared by the handlers (documents.cc) -------------------------------------------------

// A document of the catalog with its spec parsed.
struct StoredDataset {
  catalog::DocRow row;
  delivery::DatasetSpec spec;
};
struct StoredConsumer {
  catalog::DocRow row;
  delivery::ConsumerSpec spec;
};

// A stored document that no longer parses is kCorruption (its name in the message).
Result<std::optional<StoredDataset>> FindDataset(const Env& env, const std::string& name);
Result<std::vector<StoredDataset>> AllDatasets(const Env& env);
Result<std::optional<StoredConsumer>> FindConsumer(const Env& env, const std::string& name);
Result<std::vector<StoredConsumer>> AllConsumers(const Env& env);

// NotFound with the message the API gives for a missing dataset / consumer / stream.
Status NoDataset(const std::string& name);
Status NoConsumer(const std::string& name);
Status NoStream(const std::string& name);

// The body with a "stream" given as an ARN (as every answer prints it) replaced by the
// stream's name; InvalidArgument for an ARN of another account or not of a stream.
Result<std::string> BodyWithStreamName(const Env& env, std::string_view body);

// A path names the document; a body may repeat the name but not change it.
// Returns the body with "name" set (InvalidArgument if it names another).
Result<std::string> BodyWithName(std::string_view body, const std::string& name);

// The dataset as the API shows it: the spec without secrets, "version", "created_at",
// "updated_at" and "consumers" (the names of those delivering to it).
std::string DatasetObject(const StoredDataset& d, const std::vector<std::string>& consumers);
// The consumer as the API shows it: the spec, "version", "created_at", "updated_at" and
// its live status (`status` null: "state": "PENDING", not started yet).
std::string ConsumerObject(const StoredConsumer& c, const delivery::ConsumerStatus* status);

// Makes delivery match the catalog; a failure is logged (the change itself is committed).
void ReloadDelivery(const Env& env);

}  // namespace millrace::control
