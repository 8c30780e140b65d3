// Counting and reporting one loadgen run: what was acknowledged, what failed and why,
// latencies, and the CPU the generator and the servers used. The summary goes to stdout;
// --json-out appends the same figures as one JSON line (the input of bench/summarize.py).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/options.h"

namespace millrace::bench {

// What one thread counted inside the measured window; merged across threads at the end.
struct Counters {
  uint64_t requests_ok = 0;
  uint64_t records_ok = 0;
  uint64_t bytes_ok = 0;
  uint64_t throttled_requests = 0;  // whole requests answered ProvisionedThroughputExceeded
  uint64_t throttled_records = 0;   // PutRecords entries that failed with it
  uint64_t reconnects = 0;          // the server closed a keep-alive connection
  uint64_t unsent = 0;              // --rate: requests due in the window but never sent
  std::map<std::string, uint64_t> errors;
  Histogram latency;

  void Merge(const Counters& o) {
    requests_ok += o.requests_ok;
    records_ok += o.records_ok;
    bytes_ok += o.bytes_ok;
    throttled_requests += o.throttled_requests;
    throttled_records += o.throttled_records;
    reconnects += o.reconnects;
    unsent += o.unsent;
    for (const auto& [k, v] : o.errors) errors[k] += v;
    latency.Merge(o.latency);
  }
  uint64_t error_total() const {
    uint64_t n = 0;
    for (const auto& [k, v] : errors) n += v;
    return n;
  }
};

// The failed entries of a PutRecords answer, each counted by its ErrorCode; returns how
// many failed. Scans the text instead of parsing it: the answer is ours to trust.
int CountFailedRecords(std::string_view body, Counters* c);

// CPU used by this process and by the server processes between Start and Stop.
class CpuMeter {
 public:
  explicit CpuMeter(const std::vector<int>& server_pids) : pids_(server_pids) {}
  void Start();
  void Stop();
  double self() const { return self_; }
  double server() const { return pids_.empty() ? -1 : server_; }  // -1: no pids given

 private:
  std::vector<int> pids_;
  double self_ = 0, server_ = 0;
};

struct RunResult {
  double elapsed_s = 0;
  double loadgen_cpu_s = 0;
  double server_cpu_s = -1;  // -1: not measured
  Counters c;
  // get-records only
  uint64_t calls = 0;
  uint64_t passes = 0;
};

// Prints the summary, and appends the JSON line if o.json_out is set.
void Report(const LoadOptions& o, const RunResult& r);

}  // namespace millrace::bench
