// LoadOptions: what one loadgen run does, as bench/loadgen.cc parses it from the command
// line (`loadgen --help` describes each flag).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace millrace::bench {

// The error that counts as throttling, apart from the other errors.
inline constexpr std::string_view kThrottled = "ProvisionedThroughputExceededException";

struct LoadOptions {
  std::string mode;
  std::string endpoint = "http://127.0.0.1:4580";
  std::string credentials;  // file or data directory
  std::string access_key_id, secret_access_key;
  std::string region = "us-east-1";
  std::string stream = "bench";
  std::string role_arn, external_id;  // assume-role
  std::string label;
  std::string json_out;
  int shards = 1;
  int connections = 64;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  double rate = 0;  // requests/s over all connections; 0 = closed loop
  int record_size = 100;
  int batch = 500;
  int limit = 10000;  // GetRecords Limit
  int64_t until_bytes = 0;
  double timeout_s = 300;  // create-stream: how long to wait for ACTIVE
  bool full_signer = false;
  bool json_records = false;  // each payload a small JSON object of record_size bytes
  uint64_t seed = 0;
  std::vector<int> server_pids;  // whose CPU time to report
};

}  // namespace millrace::bench
