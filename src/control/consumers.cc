// /api/v1/consumers: create, list, describe, update, delete.
#include <simdjson.h>

#include "common/logging.h"
#include "control/handlers.h"
#include "control/json_util.h"

namespace millrace::control {
namespace {

// A consumer body whose "dataset" was an object (a dataset spec, to be created with the
// consumer): the body with "dataset" replaced by that dataset's name, and the dataset. A
// "stream" given as an ARN is replaced by the stream's name.
struct SplitBody {
  std::string body;
  std::optional<delivery::DatasetSpec> new_dataset;
};

Result<SplitBody> SplitDataset(const Env& env, std::string_view body) {
  auto with_name = BodyWithStreamName(env, body);
  if (!with_name.ok()) return with_name.status();
  SplitBody out{std::move(*with_name), std::nullopt};
  simdjson::dom::parser parser;
  simdjson::dom::element doc, dataset;
  if (parser.parse(out.body.data(), out.body.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  if (doc["dataset"].get(dataset) != simdjson::SUCCESS ||
      dataset.type() != simdjson::dom::element_type::OBJECT)
    return out;  // a name (or absent, or wrong: ParseConsumer says which)
  auto spec = delivery::ParseDataset(simdjson::minify(dataset));
  if (!spec.ok()) return Status::InvalidArgument("dataset." + spec.status().message());
  std::string patch;
  JsonWriter w(&patch);
  w.BeginObject();
  w.Key("dataset");
  w.String(spec->name);
  w.EndObject();
  auto replaced = MergePatch(out.body, patch);
  if (!replaced.ok()) return replaced.status();
  out.body = std::move(*replaced);
  out.new_dataset = std::move(*spec);
  return out;
}

Status CheckStream(const Env& env, const std::string& stream) {
  auto s = env.streams->Get(stream);
  if (s.ok()) return Status::Ok();
  if (s.status().code() == Code::kNotFound) return NoStream(stream);
  return s.status();
}

// Checks the consumer's dataset: for a new one, that the name is free; otherwise that it
// exists.
Status CheckDataset(const Env& env, const delivery::ConsumerSpec& c, bool is_new) {
  auto d = FindDataset(env, c.dataset);
  if (!d.ok()) return d.status();
  if (is_new && *d)
    return Status::AlreadyExists("dataset " + c.dataset +
                                 " exists already; to deliver to it, give \"dataset\" as its "
                                 "name instead of an object");
  if (!is_new && !*d)
    return Status::NotFound("dataset " + c.dataset +
                            " does not exist (create it first, or give \"dataset\" as an "
                            "object to create it with the consumer)");
  return Status::Ok();
}

Status CreateDatasetDoc(const Env& env, const delivery::DatasetSpec& d, int64_t now) {
  MILLRACE_RETURN_IF_ERROR(CheckBucketFree(env, d));
  catalog::DocRow row;
  row.name = d.name;
  row.spec = delivery::DatasetJson(d, /*with_secrets=*/true);
  row.created_ms = row.updated_ms = now;
  return env.catalog->CreateDoc(catalog::DocKind::kDataset, row);
}

// Undoes the creation of a dataset made for a consumer whose own write then failed.
void DropDatasetDoc(const Env& env, const std::string& name) {
  Status st = env.catalog->DeleteDoc(catalog::DocKind::kDataset, name);
  if (!st.ok())
    LOG(kWarn) << "control: cannot undo the creation of dataset " << name << ": " << st.ToString();
}

std::optional<delivery::ConsumerStatus> StatusOf(const Env& env, const std::string& name) {
  if (!env.delivery) return std::nullopt;
  for (auto& s : env.delivery->Statuses())
    if (s.name == name) return std::move(s);
  return std::nullopt;
}

// The consumer as stored now, with its live status and, when one was created with it,
// the new dataset under "created_dataset".
Outcome ConsumerAnswer(const Env& env, const std::string& name, int http_status,
                       const std::optional<delivery::DatasetSpec>& created) {
  auto c = FindConsumer(env, name);
  if (!c.ok()) return c.status();
  if (!*c) return NoConsumer(name);
  auto status = StatusOf(env, name);
  std::string body = ConsumerObject(**c, status ? &*status : nullptr);
  if (created) {
    auto d = FindDataset(env, created->name);
    if (!d.ok()) return d.status();
    if (*d) {
      std::string dataset = DatasetObject(**d, {name});
      AddMembers(&body, [&](JsonWriter& w) {
        w.Key("created_dataset");
        w.Raw(dataset);
      });
    }
  }
  return Answer{http_status, std::move(body)};
}

}  // namespace

Outcome ListConsumers(const Env& env) {
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  std::vector<delivery::ConsumerStatus> statuses;
  if (env.delivery) statuses = env.delivery->Statuses();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("consumers");
  w.BeginArray();
  for (const auto& c : *consumers) {
    const delivery::ConsumerStatus* status = nullptr;
    for (const auto& s : statuses)
      if (s.name == c.spec.name) status = &s;
    w.Raw(ConsumerObject(c, status));
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Outcome CreateConsumer(const Env& env, std::string_view body) {
  auto split = SplitDataset(env, body);
  if (!split.ok()) return split.status();
  MILLRACE_RETURN_IF_ERROR(CheckConsumerTransformation(env, split->body));
  auto spec = delivery::ParseConsumer(split->body);
  if (!spec.ok()) return spec.status();
  MILLRACE_RETURN_IF_ERROR(delivery::CheckFilter(*spec));
  auto existing = FindConsumer(env, spec->name);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::AlreadyExists("consumer " + spec->name + " exists already");
  MILLRACE_RETURN_IF_ERROR(CheckStream(env, spec->stream));
  MILLRACE_RETURN_IF_ERROR(CheckDataset(env, *spec, split->new_dataset.has_value()));

  const int64_t now = env.clock->NowMillis();
  if (split->new_dataset) MILLRACE_RETURN_IF_ERROR(CreateDatasetDoc(env, *split->new_dataset, now));
  // Checkpoints left by an earlier consumer of this name (whose Forget failed) must not
  // decide where this one starts.
  if (env.delivery) {
    Status st = env.delivery->Forget(spec->name);
    if (!st.ok())
      LOG(kWarn) << "control: forgetting consumer " << spec->name << ": " << st.ToString();
  }
  catalog::DocRow row;
  row.name = spec->name;
  row.spec = delivery::ConsumerJson(*spec);
  row.created_ms = row.updated_ms = now;
  Status st = env.catalog->CreateDoc(catalog::DocKind::kConsumer, row);
  if (!st.ok()) {
    if (split->new_dataset) DropDatasetDoc(env, split->new_dataset->name);
    return st;
  }
  ReloadDelivery(env);
  return ConsumerAnswer(env, spec->name, 201, split->new_dataset);
}

Outcome DescribeConsumer(const Env& env, const std::string& name) {
  return ConsumerAnswer(env, name, 200, std::nullopt);
}

// As for datasets, the body may carry only what changes. A new "stream" starts the
// consumer over on that stream (from its starting_position); a new "dataset" takes effect
// for the files written from then on.
Outcome UpdateConsumer(const Env& env, const std::string& name, std::string_view body) {
  auto existing = FindConsumer(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoConsumer(name);
  auto named = BodyWithName(body, name);
  if (!named.ok()) return named.status();
  auto split = SplitDataset(env, *named);
  if (!split.ok()) return split.status();
  auto merged = MergePatch(delivery::ConsumerJson((*existing)->spec), split->body);
  if (!merged.ok()) return merged.status();
  MILLRACE_RETURN_IF_ERROR(CheckConsumerTransformation(env, *merged));
  auto spec = delivery::ParseConsumer(*merged);
  if (!spec.ok()) return spec.status();
  MILLRACE_RETURN_IF_ERROR(delivery::CheckFilter(*spec));
  const delivery::ConsumerSpec& old = (*existing)->spec;
  if (spec->stream != old.stream) MILLRACE_RETURN_IF_ERROR(CheckStream(env, spec->stream));
  if (split->new_dataset || spec->dataset != old.dataset)
    MILLRACE_RETURN_IF_ERROR(CheckDataset(env, *spec, split->new_dataset.has_value()));

  // An update that changes nothing is no new version (which would rename its files).
  const std::string json = delivery::ConsumerJson(*spec);
  if (!split->new_dataset && json == delivery::ConsumerJson(old))
    return ConsumerAnswer(env, name, 200, std::nullopt);
  const int64_t now = env.clock->NowMillis();
  if (split->new_dataset) MILLRACE_RETURN_IF_ERROR(CreateDatasetDoc(env, *split->new_dataset, now));
  Status st = env.catalog->UpdateDoc(catalog::DocKind::kConsumer, name, json, now, nullptr);
  if (!st.ok()) {
    if (split->new_dataset) DropDatasetDoc(env, split->new_dataset->name);
    return st;
  }
  ReloadDelivery(env);
  return ConsumerAnswer(env, name, 200, split->new_dataset);
}

Outcome ConsumerLag(const Env& env, const std::string& name) {
  auto existing = FindConsumer(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoConsumer(name);
  std::vector<History::LagSample> samples;
  if (env.history) samples = env.history->Lag(name);
  Answer a;
  JsonWriter w(&a.body);
  w.BeginObject();
  w.Key("name");
  w.String(name);
  w.Key("interval_seconds");
  w.Int(History::kLagIntervalMs / 1000);
  w.Key("samples");
  w.BeginArray();
  for (const History::LagSample& x : samples) {
    w.BeginObject();
    w.Key("time");
    w.String(IsoTime(x.time_ms));
    w.Key("time_ms");
    w.Int(x.time_ms);
    w.Key("records_behind");
    w.Uint(x.records_behind);
    w.Key("millis_behind");
    w.Int(x.millis_behind);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return a;
}

Outcome SetConsumerPaused(const Env& env, const std::string& name, bool paused) {
  return UpdateConsumer(env, name, paused ? "{\"paused\":true}" : "{\"paused\":false}");
}

// Stops the consumer and forgets its checkpoints. Its dataset and files stay.
Outcome DeleteConsumer(const Env& env, const std::string& name) {
  auto existing = FindConsumer(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoConsumer(name);
  MILLRACE_RETURN_IF_ERROR(env.catalog->DeleteDoc(catalog::DocKind::kConsumer, name));
  // Stop the runner first, so that it cannot write a checkpoint after Forget.
  ReloadDelivery(env);
  if (env.delivery) {
    Status st = env.delivery->Forget(name);
    if (!st.ok()) LOG(kWarn) << "control: forgetting consumer " << name << ": " << st.ToString();
  }
  return DeletedAnswer(name);
}

}  // namespace millrace::control
