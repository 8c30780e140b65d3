#include "cli/watch.h"

#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace millrace::cli {

namespace {

std::string Thousands(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// Reads a member into *out if it is there with that type; leaves *out as it was if not.
template <typename T>
void Opt(simdjson::simdjson_result<simdjson::dom::element> member, T* out) {
  T v;
  if (member.get(v) == simdjson::SUCCESS) *out = v;
}

}  // namespace

std::string ProgressLine(const std::string& table, uint64_t copied, int64_t estimated, bool done,
                         int width) {
  // The planner's estimate can be stale (or -1 before the first ANALYZE): never past 99%
  // until the copy is done, never below what is copied.
  double fraction =
      done            ? 1.0
      : estimated > 0 ? std::min(0.99, static_cast<double>(copied) / static_cast<double>(estimated))
                      : 0.0;
  int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '-');
  char pct[16];
  std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(fraction * 100));
  std::string total =
      estimated >= 0 && !done
          ? " / ~" + Thousands(static_cast<uint64_t>(std::max<int64_t>(estimated, copied)))
          : "";
  return table + "  [" + bar + "]  " + pct + "  " + Thousands(copied) + total + " rows" +
         (done ? "  done" : "");
}

int WatchChangeStream(const HttpClient& client, const std::string& path, const std::string& prog) {
  const bool tty = ::isatty(STDOUT_FILENO);
  simdjson::dom::parser parser;
  int drawn = 0;  // lines drawn last time (to redraw them in place)
  for (;;) {
    auto answer = client.Send("GET", path, "", "");
    if (!answer.ok() || answer->status != 200) {
      std::cerr << prog << " describe: "
                << (answer.ok() ? "HTTP " + std::to_string(answer->status) + ": " + answer->body
                                : answer.status().message())
                << "\n";
      return 1;
    }
    simdjson::dom::element doc;
    if (parser.parse(answer->body).get(doc) != simdjson::SUCCESS) {
      std::cerr << prog << " describe: the server's answer is not JSON\n";
      return 1;
    }
    std::string_view name = "", state = "?", error = "";
    Opt(doc["name"], &name);
    Opt(doc["state"], &state);
    Opt(doc["last_error"], &error);
    double lag_s = 0, rate = 0;
    uint64_t lag_bytes = 0, changes = 0;
    Opt(doc["lag"]["seconds"], &lag_s);
    Opt(doc["lag"]["bytes"], &lag_bytes);
    Opt(doc["changes_per_second"], &rate);
    Opt(doc["counters"]["changes"], &changes);
    bool snapshot_done = false;
    Opt(doc["snapshot_progress"]["done"], &snapshot_done);
    std::vector<std::string> lines;
    char head[256];
    std::snprintf(head, sizeof head, "%.*s: %.*s, %s changes, %.0f/s, slot lag %s bytes, %.1f s",
                  static_cast<int>(name.size()), name.data(), static_cast<int>(state.size()),
                  state.data(), Thousands(changes).c_str(), rate, Thousands(lag_bytes).c_str(),
                  lag_s);
    lines.push_back(head);
    simdjson::dom::array tables;
    if (doc["snapshot_progress"]["tables"].get(tables) == simdjson::SUCCESS)
      for (simdjson::dom::element t : tables) {
        std::string_view table;
        uint64_t copied = 0;
        int64_t estimated = -1;
        bool done = false;
        Opt(t["table"], &table);
        Opt(t["rows_copied"], &copied);
        Opt(t["rows_estimated"], &estimated);
        Opt(t["done"], &done);
        lines.push_back("  " + ProgressLine(std::string(table), copied, estimated, done, 30));
      }
    if (snapshot_done) lines.push_back("  snapshot done");
    if (!error.empty() && state == "FAILING")
      lines.push_back("  last error: " + std::string(error));
    if (tty && drawn > 0) std::cout << "\x1b[" << drawn << "F\x1b[J";  // back up, clear below
    for (const auto& l : lines) std::cout << l << "\n";
    std::cout.flush();
    drawn = static_cast<int>(lines.size());
    if (snapshot_done && state == "STREAMING") return 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace millrace::cli
