#include "delivery/manager.h"

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
    wanted[row.name] = true;
    auto it = runners_.find(row.name);
    if (it != runners_.end() && it->second->version() == row.version) continue;
    if (it != runners_.end()) runners_.erase(it);  // stops the old version first
    auto runner = std::make_unique<ConsumerRunner>(
        ConsumerRunner::Deps{catalog_, streams_, data_dir_, clock_, log_sinks_}, std::move(*spec),
        std::move(*dataset), row.version);
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
  family("millrace_consumer_records_delivered_total", "Records written into datasets.", "counter");
  for (auto& s : all)
    line("millrace_consumer_records_delivered_total", "consumer=\"" + s.name + "\"",
         s.records_delivered);
  family("millrace_consumer_objects_written_total", "Files written into datasets.", "counter");
  for (auto& s : all)
    line("millrace_consumer_objects_written_total", "consumer=\"" + s.name + "\"",
         s.objects_written);
  family("millrace_consumer_records_failed_total", "Records sent to the error output.", "counter");
  for (auto& s : all)
    line("millrace_consumer_records_failed_total", "consumer=\"" + s.name + "\"", s.records_failed);
  family("millrace_consumer_failing", "1 while the consumer's deliveries fail (retrying).",
         "gauge");
  for (auto& s : all)
    line("millrace_consumer_failing", "consumer=\"" + s.name + "\"", s.state == "FAILING");
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
