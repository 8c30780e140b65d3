// /api/v1/streams: read-only views of the streams the Kinesis API manages, with the
// consumers that read them and the datasets those deliver to.
#include <mutex>
#include <set>
#include <shared_mutex>

#include "common/encoding.h"
#include "control/handlers.h"
#include "control/json_util.h"

namespace millrace::control {
namespace {

// Writes the summary members of a stream; the caller holds s.mu shared.
void WriteSummary(JsonWriter& w, const Env& env, const streams::Stream& s) {
  w.Key("name");
  w.String(s.name);
  w.Key("arn");
  w.String(env.streams->StreamArn(s.name, env.streams->options().region));
  w.Key("status");
  w.String(streams::StatusName(s.status));
  w.Key("mode");
  w.String(streams::ModeName(s.mode));
  w.Key("shard_count");
  w.Int(s.OpenShardCount());
  w.Key("retention_hours");
  w.Int(s.retention_hours);
  w.Key("created_at");
  w.String(IsoTime(s.created_ms));
}

Result<std::shared_ptr<streams::Stream>> GetStream(const Env& env, const std::string& id) {
  auto name = StreamNameOf(env, id);
  if (!name.ok()) return name.status();
  auto s = env.streams->Get(*name);
  if (!s.ok() && s.status().code() == Code::kNotFound) return NoStream(*name);
  return s;
}

}  // namespace

Result<std::string> StreamNameOf(const Env& env, const std::string& name_or_arn) {
  if (name_or_arn.rfind("arn:", 0) != 0) return name_or_arn;
  auto name = streams::StreamNameFromArn(name_or_arn, env.streams->options().account_id);
  if (!name || name->empty()) {
    std::string m = Abbreviate(name_or_arn);
    m.append(" is not the ARN of a stream of this server (account ")
        .append(env.streams->options().account_id)
        .append(")");
    return Status::InvalidArgument(m);
  }
  return *name;
}

Outcome ListStreams(const Env& env) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("streams");
  w.BeginArray();
  for (const auto& s : env.streams->List()) {
    std::shared_lock<std::shared_mutex> r(s->mu);
    w.BeginObject();
    WriteSummary(w, env, *s);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Outcome DescribeStream(const Env& env, const std::string& id) {
  auto s = GetStream(env, id);
  if (!s.ok()) return s.status();
  const std::string name = (*s)->name;
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  {
    const streams::Stream& st = **s;
    std::shared_lock<std::shared_mutex> r(st.mu);
    WriteSummary(w, env, st);
    w.Key("shards");
    w.BeginArray();
    for (const auto& sh : st.shards) {
      if (!env.streams->ShardVisible(st, *sh)) continue;  // closed and past retention
      w.BeginObject();
      w.Key("id");
      w.String(sh->Id());
      w.Key("open");
      w.Bool(sh->open());
      w.Key("hash_range");
      w.BeginObject();
      w.Key("start");
      w.String(Uint128ToDecimal(sh->range.start));
      w.Key("end");
      w.String(Uint128ToDecimal(sh->range.end));
      w.EndObject();
      if (sh->parent) {
        w.Key("parent");
        w.String(streams::ShardIdOf(*sh->parent));
      }
      if (sh->adjacent_parent) {
        w.Key("adjacent_parent");
        w.String(streams::ShardIdOf(*sh->adjacent_parent));
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("consumers");
  w.BeginArray();
  for (const auto& c : *consumers)
    if (c.spec.stream == name) w.String(c.spec.name);
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

// The datasets that the stream's consumers deliver to, each once, by name.
Outcome StreamDatasets(const Env& env, const std::string& id) {
  auto s = GetStream(env, id);
  if (!s.ok()) return s.status();
  const std::string name = (*s)->name;
  auto consumers = AllConsumers(env);
  if (!consumers.ok()) return consumers.status();
  std::set<std::string> wanted;
  for (const auto& c : *consumers)
    if (c.spec.stream == name) wanted.insert(c.spec.dataset);
  auto datasets = AllDatasets(env);
  if (!datasets.ok()) return datasets.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("datasets");
  w.BeginArray();
  for (const auto& d : *datasets) {
    if (!wanted.count(d.spec.name)) continue;
    std::vector<std::string> users;
    for (const auto& c : *consumers)
      if (c.spec.dataset == d.spec.name) users.push_back(c.spec.name);
    w.Raw(DatasetObject(d, users));
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Outcome StreamMetrics(const Env& env, const std::string& id) {
  auto s = GetStream(env, id);
  if (!s.ok()) return s.status();
  std::vector<History::StreamSample> samples;
  if (env.history) samples = env.history->Stream((*s)->name);
  Answer a;
  JsonWriter w(&a.body);
  w.BeginObject();
  w.Key("name");
  w.String((*s)->name);
  w.Key("interval_seconds");
  w.Int(History::kStreamIntervalMs / 1000);
  w.Key("samples");
  w.BeginArray();
  for (const History::StreamSample& x : samples) {
    w.BeginObject();
    w.Key("time");
    w.String(IsoTime(x.time_ms));
    w.Key("time_ms");
    w.Int(x.time_ms);
    w.Key("records_in");
    w.Uint(x.records_in);
    w.Key("bytes_in");
    w.Uint(x.bytes_in);
    w.Key("records_out");
    w.Uint(x.records_out);
    w.Key("bytes_out");
    w.Uint(x.bytes_out);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return a;
}

}  // namespace millrace::control
