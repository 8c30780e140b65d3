// bench/filter_cost: what a consumer's record filter costs per record (issue #12's target:
// < 1 µs per record per consumer for a simple equality), on the change records a change
// stream writes (the seed's shipment row, ~600 bytes). Runs each expression on a rotating
// set of records for ~1 s and prints one JSON line per expression: ns per record, and how
// many records it kept (so that a filter that keeps nothing by mistake shows).
//
//   build/bin/filter_cost
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "delivery/record_filter.h"

int main() {
  using namespace millrace;
  std::vector<std::string> records;
  const char* tenants[] = {"ACME", "GLOBEX", "INITECH", "UMBRELLA"};
  for (int i = 0; i < 64; ++i) {
    std::string t = tenants[i % 4];
    std::string image = "{\"id\":" + std::to_string(1000 + i) + ",\"tenant\":\"" + t +
                        "\",\"status\":\"shipped\",\"weight_kg\":12.5,\"origin\":\"Rotterdam\","
                        "\"destination\":\"Lyon\",\"updated_at\":\"2026-12-05T21:04:05.123456Z\"}";
    records.push_back(
        "{\"awsRegion\":\"us-east-1\",\"eventID\":\"2f1c7c3e-9a5e-4b8e-8c4f-3f4d7e1a2b3c\","
        "\"eventName\":\"MODIFY\",\"userIdentity\":null,\"recordFormat\":\"application/json\","
        "\"tableName\":\"shipment\",\"eventSource\":\"millrace:postgresql\",\"dynamodb\":{"
        "\"ApproximateCreationDateTime\":1764968645123456,"
        "\"ApproximateCreationDateTimePrecision\":\"MICROSECOND\",\"Keys\":{\"id\":" +
        std::to_string(1000 + i) + "},\"NewImage\":" + image + ",\"OldImage\":" + image +
        ",\"SizeBytes\":300,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"source\":{\"type\":"
        "\"postgresql\",\"changeStream\":\"shop\",\"database\":\"shop\",\"schema\":\"public\","
        "\"table\":\"shipment\",\"lsn\":\"0/1A2B3C8\",\"seq\":0,\"xid\":7541,\"commitTime\":"
        "\"2026-12-05T21:04:05.123456Z\",\"snapshot\":false,\"oldImage\":\"full\"}}");
  }
  const char* expressions[] = {
      ".dynamodb.NewImage.tenant == \"ACME\"",
      ".dynamodb.NewImage.tenant == \"ACME\" or .dynamodb.OldImage.tenant == \"ACME\"",
      ".tableName == \"shipment\" and .dynamodb.NewImage.weight_kg > 10",
  };
  for (const char* e : expressions) {
    auto f = delivery::RecordFilter::Compile(e);
    if (!f.ok()) {
      std::fprintf(stderr, "%s: %s\n", e, f.status().message().c_str());
      return 1;
    }
    uint64_t n = 0, kept = 0;
    auto start = std::chrono::steady_clock::now();
    double secs = 0;
    while (secs < 1.0) {
      for (const auto& r : records) kept += (*f)->Keep(r) ? 1 : 0;
      n += records.size();
      secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::string quoted;
    for (const char* p = e; *p; ++p) {
      if (*p == '"' || *p == '\\') quoted.push_back('\\');
      quoted.push_back(*p);
    }
    std::printf(
        "{\"filter\": \"%s\", \"record_bytes\": %zu, \"ns_per_record\": %.0f, "
        "\"kept\": %.3f}\n",
        quoted.c_str(), records[0].size(), secs * 1e9 / n, double(kept) / n);
  }
  return 0;
}
