#include "cdc/manager.h"

#include <set>

#include "cdc/capture.h"
#include "cdc/source.h"
#include "common/logging.h"

namespace millrace::cdc {

namespace {

// A Prometheus label value, escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

ChangeStreamManager::ChangeStreamManager(catalog::Catalog* catalog, streams::StreamManager* streams,
                                         const Clock* clock)
    : catalog_(catalog), streams_(streams), clock_(clock) {}

ChangeStreamManager::~ChangeStreamManager() {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [name, runner] : runners_) runner->Stop();
  runners_.clear();
}

Status ChangeStreamManager::Reload() {
  auto docs = catalog_->ListDocs(catalog::DocKind::kChangeStream);
  if (!docs.ok()) return docs.status();
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> wanted;
  Status first_error = Status::Ok();
  for (const auto& row : *docs) {
    wanted.insert(row.name);
    auto it = runners_.find(row.name);
    if (it != runners_.end() && it->second->version() == row.version) continue;
    auto spec = ParseChangeStreamSpec(row.spec);
    if (!spec.ok()) {
      if (first_error.ok())
        first_error =
            Status::Corruption("change stream " + row.name + ": " + spec.status().message());
      continue;
    }
    if (it != runners_.end()) {
      it->second->Stop();
      runners_.erase(it);
    }
    runners_[row.name] =
        std::make_unique<CaptureRunner>(std::move(*spec), row.version, catalog_, streams_, clock_);
  }
  for (auto it = runners_.begin(); it != runners_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    it->second->Stop();
    it = runners_.erase(it);
  }
  return first_error;
}

Status ChangeStreamManager::Drop(const ChangeStreamSpec& spec) {
  std::unique_ptr<CaptureRunner> runner;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = runners_.find(spec.name);
    if (it != runners_.end()) {
      runner = std::move(it->second);
      runners_.erase(it);
    }
  }
  if (runner) runner->Stop();  // closes its replication connection: the slot is free
  Status st = DropSourceObjects(spec);
  if (!st.ok()) return st;
  (void)catalog_->DeleteDoc(catalog::DocKind::kChangeStreamState, spec.name);
  return Status::Ok();
}

std::optional<ChangeStreamStatus> ChangeStreamManager::StatusOf(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = runners_.find(name);
  if (it == runners_.end()) return std::nullopt;
  return it->second->StatusNow();
}

std::string ChangeStreamManager::Metrics() {
  std::vector<ChangeStreamStatus> all;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [name, runner] : runners_) all.push_back(runner->StatusNow());
  }
  if (all.empty()) return "";
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto line = [&](const char* name, const ChangeStreamStatus& s, const std::string& extra,
                  double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    out +=
        std::string(name) + "{change_stream=\"" + Label(s.name) + "\"" + extra + "} " + buf + "\n";
  };
  family("millrace_change_stream_changes_total", "counter",
         "Change records written to the stream (snapshot rows included).");
  for (const auto& s : all) line("millrace_change_stream_changes_total", s, "", s.changes);
  family("millrace_change_stream_transactions_total", "counter", "Source transactions captured.");
  for (const auto& s : all)
    line("millrace_change_stream_transactions_total", s, "", s.transactions);
  family("millrace_change_stream_skipped_total", "counter",
         "Changes sent again by the source after a restart and skipped (already in the log).");
  for (const auto& s : all) line("millrace_change_stream_skipped_total", s, "", s.skipped);
  family("millrace_change_stream_slot_lag_bytes", "gauge",
         "Source WAL not yet confirmed by the replication slot.");
  for (const auto& s : all)
    line("millrace_change_stream_slot_lag_bytes", s, "",
         s.server_lsn > s.confirmed_lsn ? double(s.server_lsn - s.confirmed_lsn) : 0);
  family("millrace_change_stream_lag_seconds", "gauge",
         "Age of the oldest captured change not yet durable and confirmed.");
  for (const auto& s : all) line("millrace_change_stream_lag_seconds", s, "", s.lag_ms / 1000.0);
  family("millrace_change_stream_changes_per_second", "gauge", "Recent capture rate.");
  for (const auto& s : all)
    line("millrace_change_stream_changes_per_second", s, "", s.changes_per_second);
  family("millrace_change_stream_consecutive_failures", "gauge",
         "Failed capture attempts since the last success.");
  for (const auto& s : all)
    line("millrace_change_stream_consecutive_failures", s, "", double(s.consecutive_failures));
  family("millrace_change_stream_state", "gauge", "1 for the change stream's current state.");
  for (const auto& s : all)
    line("millrace_change_stream_state", s, ",state=\"" + s.state + "\"", 1);
  family("millrace_change_stream_snapshot_rows", "gauge",
         "Initial snapshot: rows copied, per table (while the snapshot runs).");
  for (const auto& s : all)
    for (const auto& t : s.snapshot)
      line("millrace_change_stream_snapshot_rows", s, ",table=\"" + Label(t.table) + "\"",
           double(t.rows_copied));
  family("millrace_change_stream_snapshot_rows_estimated", "gauge",
         "Initial snapshot: the planner's estimate of each table's rows.");
  for (const auto& s : all)
    for (const auto& t : s.snapshot)
      line("millrace_change_stream_snapshot_rows_estimated", s, ",table=\"" + Label(t.table) + "\"",
           double(t.rows_estimated));
  return out;
}

}  // namespace millrace::cdc
