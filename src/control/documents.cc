// Helpers the handlers share: reading the catalog's documents and writing API objects.
#include <simdjson.h>

#include "common/logging.h"
#include "control/handlers.h"
#include "control/json_util.h"

namespace millrace::control {
namespace {

Status Unreadable(catalog::DocKind kind, const std::string& name, const Status& st) {
  return Status::Corruption(std::string("the stored ") + catalog::DocKindName(kind) + " " + name +
                            " does not parse: " + st.message());
}

template <typename Stored, typename ParseFn>
Result<std::optional<Stored>> Find(const Env& env, catalog::DocKind kind, const std::string& name,
                                   ParseFn parse) {
  auto row = env.catalog->GetDoc(kind, name);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Stored>();
  auto spec = parse((*row)->spec);
  if (!spec.ok()) return Unreadable(kind, name, spec.status());
  return std::optional<Stored>(Stored{std::move(**row), std::move(*spec)});
}

template <typename Stored, typename ParseFn>
Result<std::vector<Stored>> All(const Env& env, catalog::DocKind kind, ParseFn parse) {
  auto rows = env.catalog->ListDocs(kind);
  if (!rows.ok()) return rows.status();
  std::vector<Stored> out;
  for (auto& row : *rows) {
    auto spec = parse(row.spec);
    if (!spec.ok()) return Unreadable(kind, row.name, spec.status());
    out.push_back(Stored{std::move(row), std::move(*spec)});
  }
  return out;
}

void WriteTimes(JsonWriter& w, const catalog::DocRow& row) {
  w.Key("version");
  w.Int(row.version);
  w.Key("created_at");
  w.String(IsoTime(row.created_ms));
  w.Key("updated_at");
  w.String(IsoTime(row.updated_ms));
}

void WriteShardLags(JsonWriter& w, const delivery::ConsumerStatus* s) {
  w.BeginArray();
  if (s) {
    for (const auto& lag : s->shards) {
      w.BeginObject();
      w.Key("shard_id");
      w.String(lag.shard_id);
      w.Key("records_behind");
      w.Uint(lag.records_behind);
      w.Key("millis_behind");
      w.Int(lag.millis_behind);
      w.EndObject();
    }
  }
  w.EndArray();
}

}  // namespace

Result<std::optional<StoredDataset>> FindDataset(const Env& env, const std::string& name) {
  return Find<StoredDataset>(env, catalog::DocKind::kDataset, name, delivery::ParseDataset);
}

Result<std::vector<StoredDataset>> AllDatasets(const Env& env) {
  return All<StoredDataset>(env, catalog::DocKind::kDataset, delivery::ParseDataset);
}

Result<std::optional<StoredConsumer>> FindConsumer(const Env& env, const std::string& name) {
  return Find<StoredConsumer>(env, catalog::DocKind::kConsumer, name, delivery::ParseConsumer);
}

Result<std::vector<StoredConsumer>> AllConsumers(const Env& env) {
  return All<StoredConsumer>(env, catalog::DocKind::kConsumer, delivery::ParseConsumer);
}

Status NoDataset(const std::string& name) {
  return Status::NotFound("dataset " + name + " does not exist");
}

Status NoConsumer(const std::string& name) {
  return Status::NotFound("consumer " + name + " does not exist");
}

Status NoStream(const std::string& name) {
  return Status::NotFound("stream " + name +
                          " does not exist (streams are created with the Kinesis API, "
                          "e.g. `aws kinesis create-stream`)");
}

Result<std::string> BodyWithStreamName(const Env& env, std::string_view body) {
  MILLRACE_RETURN_IF_ERROR(CheckObject(body));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  std::string_view stream;
  if (doc["stream"].get(stream) != simdjson::SUCCESS || !stream.starts_with("arn:"))
    return std::string(body);
  auto name = StreamNameOf(env, std::string(stream));
  if (!name.ok()) return Status::InvalidArgument("stream: " + name.status().message());
  std::string patch;
  JsonWriter w(&patch);
  w.BeginObject();
  w.Key("stream");
  w.String(*name);
  w.EndObject();
  return MergePatch(body, patch);
}

Result<std::string> BodyWithName(std::string_view body, const std::string& name) {
  MILLRACE_RETURN_IF_ERROR(CheckObject(body));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  simdjson::dom::element given;
  if (doc["name"].get(given) == simdjson::SUCCESS &&
      given.type() != simdjson::dom::element_type::NULL_VALUE) {
    std::string_view s;
    if (given.get(s) != simdjson::SUCCESS) return Status::InvalidArgument("name: must be a string");
    if (s != name)
      return Status::InvalidArgument("name: cannot be changed (the path names " + name +
                                     ", the body " + std::string(s) + ")");
  }
  std::string patch;
  JsonWriter w(&patch);
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.EndObject();
  return MergePatch(body, patch);
}

std::string DatasetObject(const StoredDataset& d, const std::vector<std::string>& consumers) {
  std::string out = delivery::DatasetJson(d.spec, /*with_secrets=*/false);
  AddMembers(&out, [&](JsonWriter& w) {
    // Where its files are in the S3 API: a local dataset is a bucket of its own, or delivers
    // into a bucket made through the S3 API (src/s3/).
    const bool local = d.spec.target.type == "local";
    w.Key("bucket");
    w.String(local && d.spec.target.bucket.empty() ? delivery::BucketOf(d.spec.name)
                                                   : d.spec.target.bucket);
    w.Key("prefix");
    w.String(d.spec.target.prefix);
    WriteTimes(w, d.row);
    w.Key("consumers");
    w.BeginArray();
    for (const auto& c : consumers) w.String(c);
    w.EndArray();
  });
  return out;
}

std::string ConsumerObject(const StoredConsumer& c, const delivery::ConsumerStatus* s) {
  std::string out = delivery::ConsumerJson(c.spec);
  // The live status twice over: as top-level members, for `jq .state`, and whole under
  // "status", for clients that keep it apart from the configuration.
  auto write_status = [s, &c](JsonWriter& w, bool nested_lag) {
    w.Key("state");
    w.String(s ? s->state : c.spec.paused ? "PAUSED" : "PENDING");
    w.Key("last_error");
    w.String(s ? s->last_error : "");
    w.Key("last_error_at");
    if (s && s->last_error_at_ms > 0)
      w.String(IsoTime(s->last_error_at_ms));
    else
      w.Null();
    // Counts, 0 while the consumer is not running.
    auto count = [&](const char* key, uint64_t delivery::ConsumerStatus::*field) {
      w.Key(key);
      w.Uint(s ? s->*field : 0);
    };
    using S = delivery::ConsumerStatus;
    count("consecutive_failures", &S::consecutive_failures);
    count("records_delivered", &S::records_delivered);
    count("objects_written", &S::objects_written);
    count("records_failed", &S::records_failed);
    // What became of the records, and the transformation's invocations, since the server
    // started.
    w.Key("counters");
    w.BeginObject();
    count("records_delivered", &S::records_delivered);
    count("records_dropped", &S::records_dropped);
    count("records_filtered", &S::records_filtered);
    count("records_processing_failed", &S::records_processing_failed);
    count("records_format_conversion_failed", &S::records_conversion_failed);
    count("invocations", &S::invocations);
    count("invocation_errors", &S::invocation_errors);
    count("invocation_timeouts", &S::invocation_timeouts);
    count("invocation_duration_ms_sum", &S::invocation_duration_ms_sum);
    w.EndObject();
    if (nested_lag) {
      w.Key("lag");
      w.BeginObject();
    }
    w.Key("records_behind");
    w.Uint(s ? s->records_behind : 0);
    w.Key("millis_behind");
    w.Int(s ? s->millis_behind : 0);
    w.Key("shards");
    WriteShardLags(w, s);
    if (nested_lag) w.EndObject();
  };
  AddMembers(&out, [&](JsonWriter& w) {
    WriteTimes(w, c.row);
    write_status(w, /*nested_lag=*/true);
    w.Key("status");
    w.BeginObject();
    write_status(w, /*nested_lag=*/false);
    w.EndObject();
  });
  return out;
}

void ReloadDelivery(const Env& env) {
  if (!env.delivery) return;
  Status st = env.delivery->Reload();
  if (!st.ok()) LOG(kWarn) << "control: reloading consumers failed: " << st.ToString();
}

Answer DeletedAnswer(const std::string& name) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("deleted");
  w.Bool(true);
  w.EndObject();
  return Answer{200, std::move(body)};
}

}  // namespace millrace::control
