// Parquet conversion throughput (issue #5): JSON records in, Parquet files out, through the
// writer the consumers run per file (formats::NewWriter, one Add per record, Finish, the
// bytes written to disk), in MB/s of input per core of the converting thread.
//
//   parquet_convert [--records N] [--input FILE] [--write-input FILE] [--codec C]
//                   [--repeat K] [--row-group-mib M] [--buffer-mib B] [--file-mib F]
//                   [--out PATH] [--label L]
//
// Input: --input FILE (JSON lines), or N records of event data made with a fixed seed
// (default 1,000,000, about 300 bytes each); --write-input FILE writes them as JSON lines,
// for DuckDB to read the same bytes (bench/parquet_duckdb.mjs), and with --repeat 0 only
// that. The input is in memory before any run starts, so the memory measured is the
// writer's.
//
// Files: the whole input as one file (default), or, like a consumer with buffer_size_mib B
// (--buffer-mib B: row groups of B MiB, a file cut once the writer's BufferedBytes() reaches
// B MiB, checked after every 10,000 records or 4 MiB as ConsumerRunner reads them), or a new
// file per F MiB of input (--file-mib F). Files go
// to PATH (default /tmp/millrace-parquet-bench/ours.parquet), then PATH.1, PATH.2, ...
//
// Each run prints one JSON line (side, codec, records, input_bytes, files, output_bytes,
// cpu_s, wall_s, mb_per_cpu_s, mb_per_wall_s, peak_rss_growth_bytes, ...), then a line with
// "run":"median" holding the median of each figure. MB is 10^6 bytes; input bytes are the
// JSON lines with their newlines (the file DuckDB reads). Timings are printed, never
// asserted (STYLE.md 9).
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "formats/table_schema.h"
#include "formats/writer.h"

using namespace millrace;

namespace {

// The dataset's schema as a user declares it through the API (docs/typed-datasets.md); the
// same types are given to DuckDB's read_json in bench/parquet_duckdb.mjs.
constexpr char kSchemaJson[] = R"json({"input": "json", "columns": [
  {"name": "event_id", "type": "int64", "nullable": false},
  {"name": "ts", "type": "timestamp_ms", "nullable": false},
  {"name": "user_id", "type": "int64", "nullable": false},
  {"name": "event_type", "type": "string", "nullable": false},
  {"name": "country", "type": "string"},
  {"name": "device", "type": "string"},
  {"name": "amount", "type": "decimal(10,2)"},
  {"name": "quantity", "type": "int32"},
  {"name": "ok", "type": "boolean"},
  {"name": "url", "type": "string"},
  {"name": "referrer", "type": "string"}]})json";

// splitmix64: the same stream on every platform, so the same seed gives the same input.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t s_;
};

// A pick from `items` where item k is about twice as likely as item k + 2 (skewed, as
// countries and devices are).
template <size_t N>
const char* Skewed(Rng* rng, const char* const (&items)[N]) {
  double u = rng->Unit();
  return items[std::min(N - 1, static_cast<size_t>(u * u * N))];
}

// "2024-03-01T12:34:56.789Z" for ms since the epoch (H. Hinnant's civil_from_days).
void AppendIsoMillis(int64_t ms, std::string* out) {
  int64_t days = ms / 86400000, rest = ms % 86400000;
  days += 719468;
  const int64_t era = days / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rest / 3600000),
                static_cast<long long>(rest / 60000 % 60), static_cast<long long>(rest / 1000 % 60),
                static_cast<long long>(rest % 1000));
  out->append(buf);
}

// Shop events: a unique increasing id, a timestamp a few ms after the previous one, one of
// 5,000 users (skewed), low-cardinality event type, country and device, a price (null in
// ~5%), a small quantity, a flag, a URL that is nearly unique (product, campaign, session),
// and a referrer from a few hundred (absent in ~5%).
std::string MakeInput(size_t records) {
  static const char* const kEventTypes[] = {"page_view", "click",    "add_to_cart",
                                            "search",    "purchase", "refund"};
  static const char* const kCountries[] = {"US", "DE", "GB", "FR", "IN", "BR", "JP",
                                           "CA", "ES", "IT", "NL", "SE", "PL", "MX",
                                           "AU", "KR", "CH", "AT", "BE", "IE"};
  static const char* const kDevices[] = {"ios", "android", "web", "desktop", "tablet", "tv"};
  static const char* const kCategories[] = {"garden", "kitchen",  "books", "toys",
                                            "sports", "clothing", "audio", "tools"};
  static const char* const kSources[] = {"email", "search", "social", "direct", "partner"};
  static const char* const kReferrerHosts[] = {
      "https://www.google.com/search?q=", "https://www.bing.com/search?q=",
      "https://duckduckgo.com/?q=", "https://news.example.org/story/"};
  Rng rng(20240301);
  std::string text;
  text.reserve(records * 320);
  int64_t ts = 1709251200000;  // 2024-03-01T00:00:00Z
  for (size_t i = 0; i < records; ++i) {
    ts += static_cast<int64_t>(rng.Below(40));
    const double u = rng.Unit();
    const uint64_t user = 100000 + 7 * static_cast<uint64_t>(u * u * 5000);
    const uint64_t product = rng.Below(20000);
    const char* category = kCategories[product % 8];
    text += "{\"event_id\":" + std::to_string(1000000000 + i) + ",\"ts\":\"";
    AppendIsoMillis(ts, &text);
    text += "\",\"user_id\":" + std::to_string(user);
    text += std::string(",\"event_type\":\"") + Skewed(&rng, kEventTypes) + "\"";
    text += std::string(",\"country\":\"") + Skewed(&rng, kCountries) + "\"";
    text += std::string(",\"device\":\"") + Skewed(&rng, kDevices) + "\"";
    if (rng.Below(100) < 5) {
      text += ",\"amount\":null";
    } else {
      const uint64_t cents = 50 + rng.Below(99950);
      char buf[32];
      std::snprintf(buf, sizeof buf, ",\"amount\":%llu.%02llu",
                    static_cast<unsigned long long>(cents / 100),
                    static_cast<unsigned long long>(cents % 100));
      text += buf;
    }
    text += ",\"quantity\":" + std::to_string(1 + rng.Below(3) * rng.Below(4));
    text += rng.Below(100) < 97 ? ",\"ok\":true" : ",\"ok\":false";
    // The session is the user's for the hour: repeats within the data, as real ones do.
    char session[24];
    std::snprintf(session, sizeof session, "%016llx",
                  static_cast<unsigned long long>((user * 0x9e3779b97f4a7c15) ^
                                                  (static_cast<uint64_t>(ts / 3600000) << 20)));
    text += std::string(",\"url\":\"https://shop.example.com/") + category + "/item-" +
            std::to_string(product) + "?utm_source=" + kSources[rng.Below(5)] + "&sid=" + session +
            "\"";
    if (rng.Below(100) >= 5) {
      text += std::string(",\"referrer\":\"") + kReferrerHosts[rng.Below(4)] + category + "+" +
              std::to_string(rng.Below(100)) + "\"";
    }
    text += "}\n";
  }
  return text;
}

std::vector<std::string_view> SplitLines(const std::string& text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.emplace_back(text.data() + start, end - start);
    start = end + 1;
  }
  return lines;
}

double ThreadCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

double WallSeconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM").
int64_t StatusBytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::atoll(line.c_str() + n + 1) * 1024;
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux 4.0+); false where that is not allowed.
bool ResetPeakRss() {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

bool WriteFile(const std::string& path, std::string_view bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return close(fd) == 0 && done == bytes.size();
}

struct Options {
  size_t records = 1000000;
  std::string input, write_input, codec = "snappy", label, input_format = "json";
  std::string out = "/tmp/millrace-parquet-bench/ours.parquet";
  int repeat = 5;
  size_t row_group_mib = 128, buffer_mib = 0, file_mib = 0;
};

using Figures = std::map<std::string, double>;

// One conversion of every record; the figures of the run, or an empty map on failure.
Figures Run(const Options& o, const formats::FormatSpec& spec,
            const std::vector<std::string_view>& records, size_t input_bytes) {
  Figures f;
  malloc_trim(0);  // what the last run freed goes back, so that this one's growth shows
  const bool peak_known = ResetPeakRss();
  const int64_t rss_before = StatusBytes("VmRSS");
  const size_t buffer_limit = o.buffer_mib << 20, file_limit = o.file_mib << 20;
  size_t files = 0, output_bytes = 0, max_file_bytes = 0, failed = 0, file_input = 0;
  size_t batch_records = 0, batch_bytes = 0;
  std::unique_ptr<formats::FileWriter> writer;
  auto finish = [&]() -> bool {
    Result<std::string> bytes = writer->Finish();
    writer.reset();
    if (!bytes.ok()) {
      std::fprintf(stderr, "Finish: %s\n", bytes.status().message().c_str());
      return false;
    }
    std::string path = files == 0 ? o.out : o.out + "." + std::to_string(files);
    if (!WriteFile(path, *bytes)) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return false;
    }
    output_bytes += bytes->size();
    max_file_bytes = std::max(max_file_bytes, bytes->size());
    ++files;
    file_input = 0;
    return true;
  };
  const double cpu0 = ThreadCpuSeconds(), wall0 = WallSeconds();
  for (std::string_view r : records) {
    if (!writer) {
      auto w = formats::NewWriter(spec);
      if (!w.ok()) {
        std::fprintf(stderr, "NewWriter: %s\n", w.status().message().c_str());
        return {};
      }
      writer = std::move(*w);
    }
    Status st = writer->Add(formats::InputRecord{r});
    if (!st.ok() && failed++ == 0)
      std::fprintf(stderr, "a record failed: %s\n", st.message().c_str());
    file_input += r.size() + 1;
    // ConsumerRunner looks at the buffer after each read from the log (10,000 records or
    // 4 MiB); the file limit is checked at every record.
    batch_bytes += r.size();
    const bool batch_end = ++batch_records == 10000 || batch_bytes >= (size_t{4} << 20);
    if (batch_end) batch_records = batch_bytes = 0;
    if ((buffer_limit && batch_end && writer->BufferedBytes() >= buffer_limit) ||
        (file_limit && file_input >= file_limit)) {
      if (!finish()) return {};
    }
  }
  if (writer && !finish()) return {};
  const double cpu = ThreadCpuSeconds() - cpu0, wall = WallSeconds() - wall0;
  const int64_t peak = StatusBytes("VmHWM");
  f["records"] = static_cast<double>(records.size());
  f["failed_records"] = static_cast<double>(failed);
  f["input_bytes"] = static_cast<double>(input_bytes);
  f["files"] = static_cast<double>(files);
  f["output_bytes"] = static_cast<double>(output_bytes);
  f["max_file_bytes"] = static_cast<double>(max_file_bytes);
  f["row_group_bytes"] = static_cast<double>(spec.row_group_bytes);
  f["cpu_s"] = cpu;
  f["wall_s"] = wall;
  f["mb_per_cpu_s"] = input_bytes / 1e6 / cpu;
  f["mb_per_wall_s"] = input_bytes / 1e6 / wall;
  f["rss_before_bytes"] = static_cast<double>(rss_before);
  if (peak_known) {
    f["peak_rss_growth_bytes"] = static_cast<double>(peak - rss_before);
    f["peak_growth_over_row_group"] = static_cast<double>(peak - rss_before) / spec.row_group_bytes;
  }
  return f;
}

void Print(const Options& o, const std::string& run, const Figures& f) {
  std::string line = "{\"side\":\"millrace\",\"label\":\"" + o.label + "\",\"codec\":\"" + o.codec +
                     "\",\"run\":" + (run == "median" ? "\"median\"" : run);
  for (const auto& [key, value] : f) {
    char buf[64];
    std::snprintf(buf, sizeof buf, value == static_cast<int64_t>(value) ? "%.0f" : "%.6g", value);
    line += ",\"" + key + "\":" + buf;
  }
  std::printf("%s}\n", line.c_str());
  std::fflush(stdout);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Usage() {
  std::fprintf(stderr,
               "usage: parquet_convert [--records N] [--input FILE] [--write-input FILE]\n"
               "  [--codec snappy|zstd|gzip|none] [--repeat K] [--row-group-mib M]\n"
               "  [--buffer-mib B] [--file-mib F] [--out PATH] [--label L]\n"
               "  [--input-format json|auto]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string v = argv[++i];
    if (a == "--records") {
      o.records = std::stoull(v);
    } else if (a == "--input") {
      o.input = v;
    } else if (a == "--write-input") {
      o.write_input = v;
    } else if (a == "--codec") {
      o.codec = v;
    } else if (a == "--repeat") {
      o.repeat = std::stoi(v);
    } else if (a == "--row-group-mib") {
      o.row_group_mib = std::stoull(v);
    } else if (a == "--buffer-mib") {
      o.buffer_mib = std::stoull(v);
    } else if (a == "--file-mib") {
      o.file_mib = std::stoull(v);
    } else if (a == "--out") {
      o.out = v;
    } else if (a == "--label") {
      o.label = v;
    } else if (a == "--input-format") {  // the schema's "input": json (default) or auto
      if (v != "json" && v != "auto") return Usage();
      o.input_format = v;
    } else {
      return Usage();
    }
  }
  // Like ConsumerRunner: the buffer size is also the row group size.
  if (o.buffer_mib) o.row_group_mib = o.buffer_mib;

  for (const std::string& path : {o.out, o.write_input}) {
    const size_t slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) mkdir(path.substr(0, slash).c_str(), 0755);
  }

  std::string text;
  if (!o.input.empty()) {
    std::ifstream in(o.input, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", o.input.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = std::move(ss).str();
  } else {
    text = MakeInput(o.records);
  }
  if (!o.write_input.empty() && !WriteFile(o.write_input, text)) {
    std::fprintf(stderr, "cannot write %s\n", o.write_input.c_str());
    return 1;
  }
  const std::vector<std::string_view> records = SplitLines(text);
  size_t input_bytes = 0;
  for (std::string_view r : records) input_bytes += r.size() + 1;

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(kSchemaJson, std::strlen(kSchemaJson)).get(doc) != simdjson::SUCCESS) {
    std::fprintf(stderr, "the schema literal is not JSON\n");
    return 1;
  }
  Result<formats::TableSchema> schema = formats::ParseTableSchema(doc);
  if (!schema.ok()) {
    std::fprintf(stderr, "schema: %s\n", schema.status().message().c_str());
    return 1;
  }
  if (o.input_format == "auto") schema->input = formats::InputFormat::kAuto;
  formats::FormatSpec spec;
  spec.file_type = "parquet";
  spec.compression = o.codec;
  spec.schema = std::make_shared<const formats::TableSchema>(std::move(*schema));
  spec.row_group_bytes = o.row_group_mib << 20;
  if (Status st = formats::ValidateSpec(spec); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  std::vector<Figures> runs;
  for (int k = 1; k <= o.repeat; ++k) {
    Figures f = Run(o, spec, records, input_bytes);
    if (f.empty()) return 1;
    Print(o, std::to_string(k), f);
    runs.push_back(std::move(f));
  }
  if (runs.empty()) return 0;
  Figures median;
  for (const auto& [key, unused] : runs[0]) {
    std::vector<double> values;
    for (const Figures& f : runs) values.push_back(f.at(key));
    median[key] = Median(values);
  }
  Print(o, "median", median);
  return 0;
}
