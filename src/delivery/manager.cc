#include "delivery/manager.h"

#include <algorithm>
#include <random>

#include "common/logging.h"
#include "delivery/consumer_runner.h"
#include "delivery/spec.h"
#include "objstore/object_store.h"

namespace millrace::delivery {

DeliveryManager::DeliveryManager(catalog::Catalog* catalog, streams::StreamManager* streams,
                                 std::string data_dir, const Clock* clock)
    : catalog_(catalog), streams_(streams), data_dir_(std::move(data_dir)), clock_(clock) {
  // No consumer runs yet: what the staging directories hold are the partial files of a
  // server that stopped mid-write (their deliveries are redone from the checkpoints).
  Status st = objstore::SweepStaging(data_dir_ + "/staging");
  if (!st.ok()) LOG(kWarn) << "delivery: " << st.ToString();
}

DeliveryManager::~DeliveryManager() {
  std::lock_guard<std::mutex> l(mu_);
  runners_.clear();  // each runner stops and joins its thread
}

void ConsumerCounters::AddInvocation(int64_t duration_ms, bool error, bool timeout) {
  ++invocations;
  if (error) ++invocation_errors;
  if (timeout) ++invocation_timeouts;
  duration_ms_sum += static_cast<uint64_t>(std::max<int64_t>(0, duration_ms));
  size_t b = 0;
  while (b < std::size(kDurationBuckets) && duration_ms > kDurationBuckets[b] * 1000) ++b;
  ++duration_buckets[b];
}

int64_t Backoff(uint64_t failures) {
  int64_t d = kBackoffBaseMs;
  for (uint64_t i = 1; i < failures && d < kBackoffCeilingMs; ++i) d *= 2;
  d = std::min(d, kBackoffCeilingMs);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return d / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(d / 2 + 1));
}

Status DeliveryManager::Reload() {
  auto consumers = catalog_->ListDocs(catalog::DocKind::kConsumer);
  if (!consumers.ok()) return consumers.status();
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, bool> wanted;
  for (const catalog::DocRow& row : *consumers) {
    auto spec = ParseConsumer(row.spec);
    if (!spec.ok()) {
      LOG(kError) << "delivery: consumer " << row.name
                  << " has an unreadable configuration: " << spec.status().ToString();
      continue;
    }
    auto ds_row = catalog_->GetDoc(catalog::DocKind::kDataset, spec->dataset);
    if (!ds_row.ok()) return ds_row.status();
    if (!*ds_row) {
      LOG(kError) << "delivery: consumer " << row.name << " names dataset " << spec->dataset
                  << ", which does not exist";
      continue;
    }
    auto dataset = ParseDataset((*ds_row)->spec);
    if (!dataset.ok()) {
      LOG(kError) << "delivery: dataset " << spec->dataset
                  << " has an unreadable configuration: " << dataset.status().ToString();
      continue;
    }
    if (spec->paused) continue;  // stopped below, if it runs
    wanted[row.name] = true;
    auto it = runners_.find(row.name);
    if (it != runners_.end() && it->second->version() == row.version) continue;
    if (it != runners_.end()) runners_.erase(it);  // stops the old version first
    auto& counters = counters_[row.name];
    if (!counters) counters = std::make_shared<ConsumerCounters>();
    auto runner = std::make_unique<ConsumerRunner>(
        ConsumerRunner::Deps{catalog_, streams_, data_dir_, clock_, log_sinks_}, std::move(*spec),
        std::move(*dataset), row.version, counters);
    runner->Start();
    LOG(kInfo) << "delivery: consumer " << row.name << " version " << row.version << " started";
    runners_[row.name] = std::move(runner);
  }
  for (auto it = runners_.begin(); it != runners_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    LOG(kInfo) << "delivery: consumer " << it->first << " stopped";
    it = runners_.erase(it);
  }
  return Status::Ok();
}

Status DeliveryManager::Forget(const std::string& consumer) {
  {
    std::lock_guard<std::mutex> l(mu_);
    runners_.erase(consumer);
    counters_.erase(consumer);
  }
  return catalog_->DeleteCheckpoints(consumer);
}

std::vector<ConsumerStatus> DeliveryManager::Statuses() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ConsumerStatus> out;
  for (auto& [name, r] : runners_) out.push_back(r->Status());
  return out;
}

std::string DeliveryManager::Metrics() {
  std::vector<ConsumerStatus> all = Statuses();
  std::string out;
  auto family = [&](const char* name, const char* help, const char* type) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const char* name, const std::string& labels, uint64_t v) {
    out += std::string(name) + "{" + labels + "} " + std::to_string(v) + "\n";
  };
  // A family with one value per consumer.
  auto per_consumer = [&](const char* name, const char* help, const char* type,
                          uint64_t ConsumerStatus::*field) {
    family(name, help, type);
    for (auto& s : all) line(name, "consumer=\"" + s.name + "\"", s.*field);
  };
  per_consumer("millrace_consumer_records_delivered_total", "Records written into datasets.",
               "counter", &ConsumerStatus::records_delivered);
  per_consumer("millrace_consumer_objects_written_total", "Files written into datasets.", "counter",
               &ConsumerStatus::objects_written);
  per_consumer("millrace_consumer_records_failed_total",
               "Records sent to the error output (processing-failed and format-conversion-failed).",
               "counter", &ConsumerStatus::records_failed);
  family("millrace_consumer_records_total", "Records by what became of them.", "counter");
  for (auto& s : all) {
    const std::string c = "consumer=\"" + s.name + "\",outcome=";
    line("millrace_consumer_records_total", c + "\"delivered\"", s.records_delivered);
    line("millrace_consumer_records_total", c + "\"dropped\"", s.records_dropped);
    line("millrace_consumer_records_total", c + "\"filtered\"", s.records_filtered);
    line("millrace_consumer_records_total", c + "\"processing_failed\"",
         s.records_processing_failed);
    line("millrace_consumer_records_total", c + "\"format_conversion_failed\"",
         s.records_conversion_failed);
  }
  per_consumer("millrace_consumer_invocations_total",
               "Invocations of the consumer's transformation.", "counter",
               &ConsumerStatus::invocations);
  per_consumer("millrace_consumer_invocation_errors_total",
               "Invocations that failed (timeouts included).", "counter",
               &ConsumerStatus::invocation_errors);
  per_consumer("millrace_consumer_invocation_timeouts_total", "Invocations that timed out.",
               "counter", &ConsumerStatus::invocation_timeouts);
  family("millrace_consumer_invocation_duration_seconds",
         "How long the transformation's invocations took.", "histogram");
  for (auto& s : all) {
    const std::string c = "consumer=\"" + s.name + "\"";
    uint64_t cumulative = 0;
    for (size_t b = 0; b < s.invocation_duration_buckets.size(); ++b) {
      cumulative += s.invocation_duration_buckets[b];
      char le[32];
      if (b < std::size(ConsumerCounters::kDurationBuckets))
        snprintf(le, sizeof le, "%g", ConsumerCounters::kDurationBuckets[b]);
      else
        snprintf(le, sizeof le, "+Inf");
      line("millrace_consumer_invocation_duration_seconds_bucket", c + ",le=\"" + le + "\"",
           cumulative);
    }
    char sum[32];
    snprintf(sum, sizeof sum, "%.3f", static_cast<double>(s.invocation_duration_ms_sum) / 1000);
    out += "millrace_consumer_invocation_duration_seconds_sum{" + c + "} " + sum + "\n";
    line("millrace_consumer_invocation_duration_seconds_count", c, s.invocations);
  }
  family("millrace_consumer_failing", "1 while the consumer's deliveries fail (retrying).",
         "gauge");
  for (auto& s : all)
    line("millrace_consumer_failing", "consumer=\"" + s.name + "\"", s.state == "FAILING");
  per_consumer("millrace_consumer_consecutive_failures", "Failures since the last success.",
               "gauge", &ConsumerStatus::consecutive_failures);
  family("millrace_consumer_lag_records", "Records not yet delivered, per shard.", "gauge");
  for (auto& s : all)
    for (auto& sh : s.shards)
      line("millrace_consumer_lag_records",
           "consumer=\"" + s.name + "\",shard=\"" + sh.shard_id + "\"", sh.records_behind);
  family("millrace_consumer_lag_milliseconds", "Age of the oldest undelivered record, per shard.",
         "gauge");
  for (auto& s : all)
    for (auto& sh : s.shards)
      line("millrace_consumer_lag_milliseconds",
           "consumer=\"" + s.name + "\",shard=\"" + sh.shard_id + "\"",
           static_cast<uint64_t>(sh.millis_behind));
  return out;
}

Status BumpConsumersOf(catalog::Catalog* catalog, const std::string& dataset, int64_t now_ms) {
  auto consumers = catalog->ListDocs(catalog::DocKind::kConsumer);
  if (!consumers.ok()) return consumers.status();
  for (const catalog::DocRow& c : *consumers) {
    auto spec = ParseConsumer(c.spec);
    if (!spec.ok() || spec->dataset != dataset) continue;
    MILLRACE_RETURN_IF_ERROR(
        catalog->UpdateDoc(catalog::DocKind::kConsumer, c.name, c.spec, now_ms, nullptr));
  }
  return Status::Ok();
}

}  // namespace millrace::delivery
