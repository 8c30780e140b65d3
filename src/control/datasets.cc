// /api/v1/datasets: create, list, describe, update, delete.
#include <simdjson.h>

#include "control/handlers.h"
#include "control/json_util.h"

namespace millrace::control {
namespace {

// The names of the consumers delivering to `dataset`, sorted (the catalog lists by name).
std::vector<std::string> UsersOf(const std::vector<StoredConsumer>& consumers,
                                 const std::string& dataset) {
  std::vector<std::string> out;
  for (const auto& c : consumers)
    if (c.spec.dataset == dataset) out.push_back(c.spec.name);
  return out;
}

Outcome DatasetAnswer(const Env& env, const std::string& name, int http_status) {
  auto d = FindDataset(env, name);
  if (!d.ok()) return d.status();
  if (!*d) return NoDataset(name);
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  return Answer{http_status, DatasetObject(**d, UsersOf(*consumers, name))};
}

}  // namespace

Outcome ListDatasets(const Env& env) {
  auto datasets = AllDatasets(env);
  if (!datasets.ok()) return datasets.status();
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("datasets");
  w.BeginArray();
  for (const auto& d : *datasets) w.Raw(DatasetObject(d, UsersOf(*consumers, d.spec.name)));
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Status CheckBucketFree(const Env& env, const delivery::DatasetSpec& spec) {
  if (spec.target.type != "local") return Status::Ok();
  if (!spec.target.bucket.empty()) {  // into a bucket made through the S3 API: it must exist
    auto made = env.catalog->GetDoc(catalog::DocKind::kBucket, spec.target.bucket);
    if (!made.ok()) return made.status();
    if (!*made)
      return Status::NotFound("bucket " + spec.target.bucket +
                              " does not exist: create it through the S3 API first (aws s3 mb "
                              "s3://" +
                              spec.target.bucket + ")");
    return Status::Ok();
  }
  const std::string bucket = delivery::BucketOf(spec.name);
  auto own = env.catalog->GetDoc(catalog::DocKind::kBucket, bucket);
  if (!own.ok()) return own.status();
  if (*own)
    return Status::AlreadyExists("bucket " + bucket +
                                 " was made through the S3 API; a local dataset named " +
                                 spec.name + " would deliver into it: choose another name");
  return Status::Ok();
}

Outcome CreateDataset(const Env& env, std::string_view body) {
  MILLRACE_RETURN_IF_ERROR(CheckObject(body));
  auto spec = delivery::ParseDataset(body);
  if (!spec.ok()) return spec.status();
  MILLRACE_RETURN_IF_ERROR(CheckBucketFree(env, *spec));
  catalog::DocRow row;
  row.name = spec->name;
  row.spec = delivery::DatasetJson(*spec, /*with_secrets=*/true);
  row.version = 1;
  row.created_ms = row.updated_ms = env.clock->NowMillis();
  MILLRACE_RETURN_IF_ERROR(env.catalog->CreateDoc(catalog::DocKind::kDataset, row));
  ReloadDelivery(env);
  return DatasetAnswer(env, row.name, 201);
}

Outcome DescribeDataset(const Env& env, const std::string& name) {
  return DatasetAnswer(env, name, 200);
}

// Whether a dataset update's body has a "schema" object without an "inferred" member.
bool PatchSetsSchemaWithoutInferred(std::string_view patch) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc, schema, unused;
  if (parser.parse(patch.data(), patch.size()).get(doc) != simdjson::SUCCESS) return false;
  if (doc["schema"].get(schema) != simdjson::SUCCESS ||
      schema.type() != simdjson::dom::element_type::OBJECT)
    return false;
  return schema["inferred"].get(unused) != simdjson::SUCCESS;
}

// Whether a dataset update's body says "schema": {"inferred": false}.
bool PatchPinsSchema(std::string_view patch) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool inferred = true;
  if (parser.parse(patch.data(), patch.size()).get(doc) != simdjson::SUCCESS) return false;
  return doc.at_pointer("/schema/inferred").get(inferred) == simdjson::SUCCESS && !inferred;
}

// The body may carry only the members that change (JSON Merge Patch over the stored spec,
// see MergePatch): {"compression": "zstd"}, or {"target": {"prefix": "raw/"}} for an s3
// target, whose secret then stays as stored.
Outcome UpdateDataset(const Env& env, const std::string& name, std::string_view body) {
  auto existing = FindDataset(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoDataset(name);
  auto patch = BodyWithName(body, name);
  if (!patch.ok()) return patch.status();
  auto merged = MergePatch(delivery::DatasetJson((*existing)->spec, true), *patch);
  if (!merged.ok()) return merged.status();
  auto spec = delivery::ParseDataset(*merged);
  if (!spec.ok()) return spec.status();
  const delivery::TargetSpec& was = (*existing)->spec.target;
  if (spec->target.type == "local" && was.type == "local" &&
      (spec->target.bucket != was.bucket || spec->target.prefix != was.prefix))
    return Status::InvalidArgument(
        "bucket: a local dataset's bucket and prefix are set when it is created (its files "
        "would stay where they are); create another dataset to deliver elsewhere");
  // A schema given here is the user's: pinned, unless the body says "inferred" itself
  // ({"schema": {"inferred": false}} pins the inferred one as it is).
  if (PatchSetsSchemaWithoutInferred(*patch)) spec->schema.inferred = false;
  if (spec->typed() && !spec->schema.HasColumns() && PatchPinsSchema(*patch))
    return Status::FailedPrecondition("dataset " + name +
                                      " has no columns to pin yet: they are inferred from the "
                                      "first records delivered");
  // An update that changes nothing is no new version (of the dataset or its consumers).
  const std::string json = delivery::DatasetJson(*spec, true);
  if (json == delivery::DatasetJson((*existing)->spec, true)) return DatasetAnswer(env, name, 200);
  const int64_t now = env.clock->NowMillis();
  MILLRACE_RETURN_IF_ERROR(
      env.catalog->UpdateDoc(catalog::DocKind::kDataset, name, json, now, nullptr));
  // A consumer runs its dataset's settings of when it started; a new version of each
  // consumer delivering here makes Reload restart it with the new ones.
  MILLRACE_RETURN_IF_ERROR(delivery::BumpConsumersOf(env.catalog, name, now));
  ReloadDelivery(env);
  return DatasetAnswer(env, name, 200);
}

// The files already written stay where they are (a local directory or a bucket).
Outcome DeleteDataset(const Env& env, const std::string& name) {
  auto existing = FindDataset(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoDataset(name);
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  std::vector<std::string> users = UsersOf(*consumers, name);
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ", ") + u;
    const std::string them = users.size() > 1 ? "them" : "it";
    return Status::FailedPrecondition("dataset " + name + " is used by consumer" +
                                      (users.size() > 1 ? "s " : " ") + list + "; delete " + them +
                                      " or point " + them + " at another dataset first");
  }
  MILLRACE_RETURN_IF_ERROR(env.catalog->DeleteDoc(catalog::DocKind::kDataset, name));
  // Its own bucket goes with it, lifecycle rules and bucket policy included: a later dataset
  // of the same name must not inherit an expiry nobody set for it, nor its readers.
  const delivery::DatasetSpec& spec = (*existing)->spec;
  if (spec.target.type == "local" && spec.target.bucket.empty()) {
    for (catalog::DocKind kind :
         {catalog::DocKind::kBucketLifecycle, catalog::DocKind::kBucketPolicy}) {
      Status st = env.catalog->DeleteDoc(kind, delivery::BucketOf(spec.name));
      if (!st.ok() && st.code() != Code::kNotFound) return st;
    }
  }
  ReloadDelivery(env);
  return DeletedAnswer(name);
}

}  // namespace millrace::control
