// Helpers for the transform_* tests: a scratch code directory and record builders.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "transform/types.h"

namespace millrace::transform {

class CodeDir {
 public:
  CodeDir() {
    char tmpl[] = "/tmp/millrace-transform-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~CodeDir() { (void)!system(("rm -rf '" + path_ + "'").c_str()); }
  void Write(const std::string& name, const std::string& text, bool executable = false) {
    std::ofstream(path_ + "/" + name) << text;
    if (executable) chmod((path_ + "/" + name).c_str(), 0755);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<InputRecord> Records(const std::vector<std::string>& payloads) {
  std::vector<InputRecord> out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    InputRecord r;
    r.record_id = "49546986683135544286507457936321625675700192471156785154" + std::to_string(i);
    r.data = payloads[i];
    r.approximate_arrival_ms = 1711965600000 + static_cast<int64_t>(i);
    r.shard_id = "shardId-000000000000";
    r.partition_key = "pk" + std::to_string(i);
    r.sequence_number = "4954698668313554428650745793632162567570019247115678" + std::to_string(i);
    out.push_back(std::move(r));
  }
  return out;
}

inline InvokeContext Ctx(const std::string& id = "00540a87-5050-496a-84e4-e7d92bbaf5e2") {
  return InvokeContext{id, "arn:aws:firehose:us-east-1:000000000000:deliverystream/fh",
                       "arn:aws:kinesis:us-east-1:000000000000:stream/s", "us-east-1"};
}

inline FunctionSpec PySpec(const std::string& dir, const std::string& handler,
                           int64_t timeout_ms = 60000, int memory_mb = 128) {
  FunctionSpec s;
  s.name = "fn";
  s.runtime = Runtime::kPython3;
  s.handler = handler;
  s.code_dir = dir;
  s.timeout_ms = timeout_ms;
  s.memory_mb = memory_mb;
  return s;
}

}  // namespace millrace::transform
