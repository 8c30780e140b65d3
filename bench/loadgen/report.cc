#include "loadgen/report.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "common/json_writer.h"

namespace millrace::bench {
namespace {

// CPU seconds (user + system, all threads) used so far by `pid`, from /proc/PID/stat.
double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  // After ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime(14) stime(15).
  const char* p = stat.c_str() + paren + 2;
  for (int field = 3; field < 14 && *p; ++field) p = std::strchr(p, ' ') + 1;
  char* end = nullptr;
  double utime = std::strtod(p, &end);
  double stime = std::strtod(end, nullptr);
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

// The failed entries of a PutRecords answer, each counted by its ErrorCode; returns how
// many failed. Scans the text instead of parsing it: the answer is ours to trust.
int CountFailedRecords(std::string_view body, Counters* c) {
  size_t k = body.find("\"FailedRecordCount\"");
  if (k != std::string_view::npos) {
    size_t p = body.find(':', k) + 1;
    while (p < body.size() && body[p] == ' ') ++p;
    if (p < body.size() && body[p] == '0') return 0;
  }
  int failed = 0;
  for (size_t p = body.find("\"ErrorCode\""); p != std::string_view::npos;
       p = body.find("\"ErrorCode\"", p + 1)) {
    size_t q1 = body.find('"', body.find(':', p + 11));
    size_t q2 = q1 == std::string_view::npos ? q1 : body.find('"', q1 + 1);
    if (q2 == std::string_view::npos) break;
    std::string_view code = body.substr(q1 + 1, q2 - q1 - 1);
    if (code == kThrottled)
      ++c->throttled_records;
    else
      ++c->errors["record " + std::string(code)];
    ++failed;
  }
  return failed;
}

void CpuMeter::Start() {
  self_ = -SelfCpuSeconds();
  server_ = 0;
  for (int pid : pids_) server_ -= ProcessCpuSeconds(pid);
}

void CpuMeter::Stop() {
  self_ += SelfCpuSeconds();
  for (int pid : pids_) server_ += ProcessCpuSeconds(pid);
}

void Report(const LoadOptions& o, const RunResult& r) {
  const Counters& c = r.c;
  const double s = r.elapsed_s > 0 ? r.elapsed_s : 1;
  const double req_s = c.requests_ok / s, rec_s = c.records_ok / s, mb_s = c.bytes_ok / s / 1e6;
  std::printf("%s %s: %.1f s, %llu acked requests\n", o.label.c_str(), o.mode.c_str(), r.elapsed_s,
              static_cast<unsigned long long>(c.requests_ok));
  std::printf("  requests/s %.0f   records/s %.0f   MB/s %.2f\n", req_s, rec_s, mb_s);
  std::printf("  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
              Ms(c.latency.Quantile(0.5)), Ms(c.latency.Quantile(0.9)),
              Ms(c.latency.Quantile(0.99)), Ms(c.latency.Quantile(0.999)), Ms(c.latency.max()));
  std::printf("  throttled requests %llu, records %llu; reconnects %llu",
              static_cast<unsigned long long>(c.throttled_requests),
              static_cast<unsigned long long>(c.throttled_records),
              static_cast<unsigned long long>(c.reconnects));
  if (o.rate > 0)
    std::printf("; unsent (behind schedule) %llu", static_cast<unsigned long long>(c.unsent));
  std::printf("\n  CPU cores used: loadgen %.2f", r.loadgen_cpu_s / s);
  if (r.server_cpu_s >= 0) std::printf(", server %.2f", r.server_cpu_s / s);
  std::printf("\n");
  for (const auto& [k, v] : c.errors)
    std::printf("  error %-60s %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  if (o.json_out.empty()) return;

  std::string line;
  JsonWriter w(&line);
  w.BeginObject();
  w.Key("label");
  w.String(o.label);
  w.Key("mode");
  w.String(o.mode);
  w.Key("endpoint");
  w.String(o.endpoint);
  w.Key("connections");
  w.Int(o.mode == "get-records" ? 1 : o.connections);
  w.Key("threads");
  w.Int(o.threads);
  w.Key("rate");
  w.Double(o.rate);
  // get-records reads what was written: report the average payload it saw.
  w.Key("record_size");
  w.Int(o.mode == "get-records" && c.records_ok ? static_cast<int64_t>(c.bytes_ok / c.records_ok)
                                                : o.record_size);
  w.Key("batch");
  w.Int(o.mode == "put-records" ? o.batch : 1);
  w.Key("elapsed_s");
  w.Double(r.elapsed_s);
  w.Key("requests");
  w.Uint(c.requests_ok);
  w.Key("requests_per_s");
  w.Double(req_s);
  w.Key("records_per_s");
  w.Double(rec_s);
  w.Key("mb_per_s");
  w.Double(mb_s);
  w.Key("p50_ms");
  w.Double(Ms(c.latency.Quantile(0.5)));
  w.Key("p90_ms");
  w.Double(Ms(c.latency.Quantile(0.9)));
  w.Key("p99_ms");
  w.Double(Ms(c.latency.Quantile(0.99)));
  w.Key("p999_ms");
  w.Double(Ms(c.latency.Quantile(0.999)));
  w.Key("max_ms");
  w.Double(Ms(c.latency.max()));
  w.Key("throttled_requests");
  w.Uint(c.throttled_requests);
  w.Key("throttled_records");
  w.Uint(c.throttled_records);
  w.Key("reconnects");
  w.Uint(c.reconnects);
  w.Key("unsent");
  w.Uint(c.unsent);
  w.Key("loadgen_cores");
  w.Double(r.loadgen_cpu_s / s);
  w.Key("server_cores");
  w.Double(r.server_cpu_s >= 0 ? r.server_cpu_s / s : -1);
  w.Key("error_total");
  w.Uint(c.error_total());
  w.Key("errors");
  w.BeginObject();
  for (const auto& [k, v] : c.errors) {
    w.Key(k);
    w.Uint(v);
  }
  w.EndObject();
  if (o.mode == "get-records") {
    w.Key("calls");
    w.Uint(r.calls);
    w.Key("passes");
    w.Uint(r.passes);
  }
  w.EndObject();
  std::ofstream out(o.json_out, std::ios::app);
  out << line << "\n";
}

}  // namespace millrace::bench
