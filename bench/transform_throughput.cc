// Records per second through one transformation worker: a python3 pass-through function,
// 1 MiB batches of 100-byte records (the target: >= 200,000 records/s per worker).
//   build/bin/transform_throughput [batches]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "transform/worker_pool.h"

using namespace millrace::transform;

int main(int argc, char** argv) {
  int batches = argc > 1 ? std::atoi(argv[1]) : 20;
  char tmpl[] = "/tmp/millrace-transform-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/passthrough.py")
      << "def handler(event, context):\n"
         "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok',\n"
         "             'data': r['data']} for r in event['records']]}\n";
  FunctionSpec spec;
  spec.name = "passthrough";
  spec.runtime = Runtime::kPython3;
  spec.handler = "passthrough.handler";
  spec.code_dir = dir;
  WorkerPool pool(spec, 1, nullptr);
  std::vector<InputRecord> batch((1 << 20) / 100);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].record_id = std::to_string(i);
    batch[i].data = std::string(100, 'r');
    batch[i].approximate_arrival_ms = 1711965600000;
    batch[i].shard_id = "shardId-000000000000";
    batch[i].partition_key = "pk";
    batch[i].sequence_number = std::to_string(i);
  }
  InvokeContext ctx{"bench", "arn:aws:firehose:us-east-1:000000000000:deliverystream/b",
                    "arn:aws:kinesis:us-east-1:000000000000:stream/s", "us-east-1"};
  if (!pool.Invoke(batch, ctx).ok()) {  // warm-up: interpreter start and import
    std::fprintf(stderr, "the pass-through function failed\n");
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < batches; ++i) {
    InvokeResult r = pool.Invoke(batch, ctx);
    if (!r.ok()) {
      std::fprintf(stderr, "invocation failed: %s\n", r.error->message.c_str());
      return 1;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double rps = batches * static_cast<double>(batch.size()) / secs;
  std::printf(
      "transform python3 pass-through, one worker: %zu x 100 B per batch, %d batches, "
      "%.3f s: %.0f records/s\n",
      batch.size(), batches, secs, rps);
  (void)!system(("rm -rf '" + dir + "'").c_str());
  return 0;
}
