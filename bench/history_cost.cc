// bench/history_cost: what the server's sampling for the console's charts costs
// (src/control/history.h): one pass over N streams' counters (every 10 s) and one pass over
// N consumers' lag (every 30 s), with N streams and N consumers (each on its own stream,
// started by a real DeliveryManager, idle). Prints one JSON line: microseconds per pass
// (median of 20) and the share of one core both take at their intervals.
//
//   build/bin/history_cost [N]      (default 1000)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"
#include "control/history.h"
#include "delivery/manager.h"
#include "streams/manager.h"

int main(int argc, char** argv) {
  using namespace millrace;
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  char tmpl[] = "/tmp/millrace-history-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto catalog = catalog::Catalog::Open(dir + "/catalog.db");
  if (!catalog.ok()) return 1;
  streams::ManagerOptions o;
  o.data_dir = dir;
  o.transition_ms = 0;
  o.catalog = catalog->get();
  auto streams = streams::StreamManager::Open(o);
  if (!streams.ok()) return 1;
  (*catalog)->CreateDoc(catalog::DocKind::kDataset,
                        {"lake", R"({"name":"lake","file_type":"jsonl"})", 1, 0, 0});
  for (int i = 0; i < n; ++i) {
    std::string s = "s" + std::to_string(i);
    if (!(*streams)->CreateStream(s, 1, streams::StreamMode::kProvisioned, {}).ok()) return 1;
    (*catalog)->CreateDoc(catalog::DocKind::kConsumer,
                          {"c" + std::to_string(i),
                           R"({"name":"c)" + std::to_string(i) + R"(","stream":")" + s +
                               R"(","dataset":"lake","starting_position":"LATEST"})",
                           1, 0, 0});
  }
  delivery::DeliveryManager delivery(catalog->get(), streams->get(), dir, SystemClock::Default());
  if (!delivery.Reload().ok()) return 1;
  std::this_thread::sleep_for(std::chrono::seconds(2));  // every runner past its first pass
  control::History history(streams->get(), &delivery, SystemClock::Default(), /*sample=*/false);
  auto time_us = [](auto&& f) {
    std::vector<double> us;
    for (int i = 0; i < 20; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    return us[us.size() / 2];
  };
  const double streams_us = time_us([&] { history.SampleStreams(); });
  const double lag_us = time_us([&] { history.SampleLag(); });
  const double share = streams_us / (control::History::kStreamIntervalMs * 1000.0) +
                       lag_us / (control::History::kLagIntervalMs * 1000.0);
  std::printf(
      "{\"bench\": \"history_cost\", \"streams\": %d, \"consumers\": %d, \"stream_pass_us\": %.1f, "
      "\"lag_pass_us\": %.1f, \"core_share\": %.6f}\n",
      n, n, streams_us, lag_us, share);
  std::filesystem::remove_all(dir);
  return 0;
}
