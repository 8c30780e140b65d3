// loadgen: a Kinesis load generator speaking the real protocol (AWS JSON 1.1 over HTTP/1.1
// keep-alive, every request SigV4-signed at the moment it is sent).
//
//   loadgen put-record        --endpoint URL --stream S [--connections 64] [--duration 10]
//                             [--rate R]          fixed rate, latency from the intended start
//   loadgen put-record-shards --stream S          PutRecord to a random shard (ExplicitHashKey)
//   loadgen put-records       --stream S [--batch 500]
//                             [--until-bytes N --duration 0]   fills a stream, then stops
//   loadgen get-records       --stream S          one consumer from TRIM_HORIZON, MB/s
//   loadgen create-stream     --stream S --shards N           and waits until ACTIVE
//
// Every mode prints a summary; --json-out FILE appends the same as one JSON line (what
// bench/run.sh aggregates). See --help for every flag and docs/benchmarks.md for the runs.
// This file holds the command line and the one-connection modes (create-stream,
// get-records); the writers are loadgen/writers.cc, the counting loadgen/report.cc.
//
// Design. Writers run an epoll loop per thread (--threads, default 1: on a 2-core machine
// the server gets the other core), each owning a share of the connections. Closed loop
// (the default): a connection sends its next request as soon as the answer to the last one
// arrived. Fixed rate (--rate): requests are due on a fixed schedule, start + k/rate, and a
// due request waits for a free connection; latency is measured from when it was due, not
// from when it could be sent, so a stalled server is not hidden by the generator slowing
// down with it (coordinated omission, as in wrk2). Only the answers that arrive after the
// warm-up (--warmup) and before the end count; latency is recorded for those that are 2xx.
//
// What counts as what: a 2xx answer is an acknowledged request; every other status is an
// error, by status and error type, except ProvisionedThroughputExceededException, counted
// apart (also per record inside a PutRecords answer). Records and MB are the payload of
// acknowledged records (MB = 10^6 bytes).
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <thread>
#include <utility>

#include "common/encoding.h"
#include "common/json_writer.h"
#include "loadgen/kinesis_client.h"
#include "loadgen/options.h"
#include "loadgen/report.h"
#include "loadgen/timing.h"
#include "loadgen/writers.h"

namespace millrace::bench {
namespace {

const char kHelp[] = R"(usage: loadgen MODE [flags]

modes:
  put-record         PutRecord, one record per request, random partition keys
  put-record-shards  PutRecord with a random ExplicitHashKey (spreads over every shard)
  put-records        PutRecords, --batch records per request
  get-records        one consumer reading the stream's first shard from TRIM_HORIZON
                     (starts again at TRIM_HORIZON when it reaches the end)
  create-stream      CreateStream --shards N (an existing stream is fine), waits for ACTIVE
  assume-role        STS AssumeRole --role-arn ARN [--external-id X], a new session name
                     each time (the credentials' identity must be allowed to assume it)

flags:
  --endpoint URL        http://127.0.0.1:PORT (loopback only)       [http://127.0.0.1:4580]
  --credentials PATH    AWS-style credentials file, or a data directory holding one
  --access-key-id ID --secret-access-key KEY   instead of --credentials (else $AWS_* or
                        the dummy pair bench/bench, for servers that do not check)
  --region R            signing region                                [us-east-1]
  --stream NAME                                                       [bench]
  --shards N            create-stream: shard count                    [1]
  --connections N       concurrent keep-alive connections             [64]
  --threads N           event-loop threads sharing the connections    [1]
  --duration S          measured seconds (0: no limit, with --until-bytes) [10]
  --warmup S            seconds run before measuring                  [1]
  --rate R              fixed rate in requests/s (latency from the intended start)
  --record-size B       payload bytes per record                      [100]
  --json-records        make each payload a JSON object of exactly --record-size bytes,
                        {"k":"<16 hex>","p":"<random letters and digits>"} (from 31 bytes;
                        smaller sizes: {"p":"..."} from 8, a number below 8), instead of
                        random bytes, which are not JSON (what a jsonl dataset needs)
  --batch N             put-records: records per request              [500]
  --limit N             get-records: GetRecords Limit                 [10000]
  --until-bytes N       stop once N payload bytes are acknowledged
  --timeout S           create-stream: wait at most S for ACTIVE      [300]
  --full-signer         sign each request with auth::Signer::Sign (slower reference path)
  --label TEXT          name of the target, copied to the JSON line
  --json-out FILE       append the result as one JSON line
  --seed N              random seed (default: from the clock)
  --server-pids P,Q     also report the CPU these processes used while measuring
)";

Status ParseOptions(int argc, char** argv, LoadOptions* o) {
  if (argc < 2) return Status::InvalidArgument("no mode given");
  o->mode = argv[1];
  if (o->mode == "--help" || o->mode == "-h" || o->mode == "help") {
    std::fputs(kHelp, stdout);
    std::exit(0);
  }
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      std::exit(0);
    }
    if (a == "--full-signer") {
      o->full_signer = true;
      continue;
    }
    if (a == "--json-records") {
      o->json_records = true;
      continue;
    }
    if (i + 1 >= argc) return Status::InvalidArgument(a + " needs a value");
    std::string v = argv[++i];
    char* end = nullptr;
    auto num = [&](double* out) {
      *out = std::strtod(v.c_str(), &end);
      return !v.empty() && *end == '\0';
    };
    double d = 0;
    bool ok = true;
    if (a == "--endpoint")
      o->endpoint = v;
    else if (a == "--credentials")
      o->credentials = v;
    else if (a == "--access-key-id")
      o->access_key_id = v;
    else if (a == "--secret-access-key")
      o->secret_access_key = v;
    else if (a == "--region")
      o->region = v;
    else if (a == "--stream")
      o->stream = v;
    else if (a == "--role-arn")
      o->role_arn = v;
    else if (a == "--external-id")
      o->external_id = v;
    else if (a == "--label")
      o->label = v;
    else if (a == "--json-out")
      o->json_out = v;
    else if (a == "--shards")
      ok = num(&d) && (o->shards = static_cast<int>(d)) > 0;
    else if (a == "--connections")
      ok = num(&d) && (o->connections = static_cast<int>(d)) > 0;
    else if (a == "--threads")
      ok = num(&d) && (o->threads = static_cast<int>(d)) > 0;
    else if (a == "--duration")
      ok = num(&o->duration_s) && o->duration_s >= 0;
    else if (a == "--warmup")
      ok = num(&o->warmup_s) && o->warmup_s >= 0;
    else if (a == "--rate")
      ok = num(&o->rate) && o->rate >= 0;
    else if (a == "--record-size")
      ok = num(&d) && (o->record_size = static_cast<int>(d)) > 0;
    else if (a == "--batch")
      ok = num(&d) && (o->batch = static_cast<int>(d)) > 0;
    else if (a == "--limit")
      ok = num(&d) && (o->limit = static_cast<int>(d)) > 0;
    else if (a == "--until-bytes")
      ok = num(&d) && (o->until_bytes = static_cast<int64_t>(d)) >= 0;
    else if (a == "--timeout")
      ok = num(&o->timeout_s);
    else if (a == "--seed")
      ok = num(&d) && ((o->seed = static_cast<uint64_t>(d)), true);
    else if (a == "--server-pids") {
      for (size_t p = 0; p < v.size();) {
        size_t comma = std::min(v.find(',', p), v.size());
        int pid = std::atoi(v.substr(p, comma - p).c_str());
        ok = ok && pid > 0;
        o->server_pids.push_back(pid);
        p = comma + 1;
      }
    } else
      return Status::InvalidArgument("unknown flag " + a);
    if (!ok) return Status::InvalidArgument(a + ": bad value '" + v + "'");
  }
  if (o->duration_s == 0 && o->until_bytes == 0 && o->mode != "create-stream")
    return Status::InvalidArgument("--duration 0 needs --until-bytes");
  o->threads = std::min(o->threads, o->connections);
  if (o->label.empty()) o->label = o->endpoint;
  if (o->seed == 0) o->seed = static_cast<uint64_t>(MonoNanos()) ^ (uint64_t(getpid()) << 32);
  return Status::Ok();
}

Result<auth::Credentials> LoadCredentials(const LoadOptions& o) {
  if (!o.credentials.empty()) return ReadCredentialsFile(o.credentials);
  auth::Credentials c;
  c.access_key_id = o.access_key_id;
  c.secret_access_key = o.secret_access_key;
  const char* env_id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (c.access_key_id.empty() && env_id) c.access_key_id = env_id;
  if (c.secret_access_key.empty() && env_secret) c.secret_access_key = env_secret;
  if (c.access_key_id.empty()) c.access_key_id = "bench";
  if (c.secret_access_key.empty()) c.secret_access_key = "bench";
  return c;
}
// The value at a JSON pointer of a small answer, as a string.
Result<std::string> JsonString(std::string_view body, size_t capacity, std::string_view pointer) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string_view view(body.data(), body.size(), capacity);
  auto doc = parser.iterate(view);
  std::string_view v;
  if (doc.error() || doc.at_pointer(pointer).get_string().get(v))
    return Status::InvalidArgument("no " + std::string(pointer) + " in " +
                                   std::string(body.substr(0, 300)));
  return std::string(v);
}

// A JSON object of string-valued members, escaped: {"k1":"v1","k2":"v2"}.
std::string JsonObject(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  for (const auto& [k, v] : kv) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  return out;
}

std::string DescribeRequest(const std::string& stream) {
  std::string body = JsonObject({{"StreamName", stream}});
  body.insert(body.size() - 1, ",\"Limit\":1");
  return body;
}

Status CallOk(BlockingClient* client, std::string_view action, const std::string& body,
              Reply* reply) {
  Status s = client->Call(action, body, reply);
  if (!s.ok()) return s;
  if (reply->status != 200)
    return Status(Code::kUnavailable, std::string(action) + ": HTTP " +
                                          std::to_string(reply->status) + " " + reply->error_type +
                                          " " + std::string(reply->body.substr(0, 300)));
  return Status::Ok();
}

Status CreateStream(const LoadOptions& o, const Endpoint& ep, RequestSigner* signer) {
  BlockingClient client(ep, signer);
  Reply reply;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("StreamName");
  w.String(o.stream);
  w.Key("ShardCount");
  w.Int(o.shards);
  w.EndObject();
  Status s = client.Call("CreateStream", body, &reply);
  if (!s.ok()) return s;
  if (reply.status != 200 && reply.error_type != "ResourceInUseException")
    return Status(Code::kUnavailable, "CreateStream: HTTP " + std::to_string(reply.status) + " " +
                                          std::string(reply.body.substr(0, 300)));
  const std::string describe = DescribeRequest(o.stream);
  const int64_t deadline = MonoNanos() + static_cast<int64_t>(o.timeout_s * kSecond);
  while (true) {
    MILLRACE_RETURN_IF_ERROR(CallOk(&client, "DescribeStream", describe, &reply));
    auto status = JsonString(reply.body, reply.body_capacity, "/StreamDescription/StreamStatus");
    if (!status.ok()) return status.status();
    if (*status == "ACTIVE") break;
    if (MonoNanos() > deadline)
      return Status(Code::kUnavailable, o.stream + " still " + *status + " after the timeout");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("%s: stream %s ACTIVE (%d shards asked)\n", o.label.c_str(), o.stream.c_str(),
              o.shards);
  return Status::Ok();
}

// What one GetRecords answer held.
struct Batch {
  uint64_t records = 0;
  uint64_t bytes = 0;
  std::string next_iterator;
};

Status ParseGetRecords(simdjson::ondemand::parser& parser, const Reply& reply, Batch* b) {
  simdjson::padded_string_view view(reply.body.data(), reply.body.size(), reply.body_capacity);
  simdjson::ondemand::document doc;
  if (parser.iterate(view).get(doc)) return Status::Corruption("GetRecords: not JSON");
  simdjson::ondemand::object root;
  if (doc.get_object().get(root)) return Status::Corruption("GetRecords: not an object");
  for (auto field : root) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Status::Corruption("GetRecords: bad key");
    if (key == "Records") {
      simdjson::ondemand::array records;
      if (field.value().get_array().get(records)) return Status::Corruption("Records");
      for (auto rec : records) {
        simdjson::ondemand::object obj;
        if (rec.get_object().get(obj)) return Status::Corruption("record");
        for (auto f : obj) {
          std::string_view k;
          if (f.unescaped_key().get(k)) return Status::Corruption("record key");
          if (k != "Data") continue;
          std::string_view raw;
          if (f.value().raw_json_token().get(raw)) return Status::Corruption("Data");
          while (!raw.empty() && raw.back() != '"') raw.remove_suffix(1);
          if (raw.size() >= 2) b->bytes += Base64DecodedLength(raw.substr(1, raw.size() - 2));
        }
        ++b->records;
      }
    } else if (key == "NextShardIterator") {
      std::string_view it;
      if (!field.value().get_string().get(it)) b->next_iterator = std::string(it);
    }
  }
  return Status::Ok();
}

Status GetRecords(const LoadOptions& o, const Endpoint& ep, RequestSigner* signer) {
  BlockingClient client(ep, signer);
  Reply reply;
  MILLRACE_RETURN_IF_ERROR(CallOk(&client, "DescribeStream", DescribeRequest(o.stream), &reply));
  auto shard = JsonString(reply.body, reply.body_capacity, "/StreamDescription/Shards/0/ShardId");
  if (!shard.ok()) return shard.status();
  const std::string iterator_request = JsonObject(
      {{"StreamName", o.stream}, {"ShardId", *shard}, {"ShardIteratorType", "TRIM_HORIZON"}});
  auto fresh_iterator = [&]() -> Result<std::string> {
    Status s = CallOk(&client, "GetShardIterator", iterator_request, &reply);
    if (!s.ok()) return s;
    return JsonString(reply.body, reply.body_capacity, "/ShardIterator");
  };
  auto it = fresh_iterator();
  if (!it.ok()) return it.status();
  std::string iterator = *it;

  RunResult r;
  Counters& c = r.c;
  const int64_t start = MonoNanos();
  const int64_t measure = start + static_cast<int64_t>(o.warmup_s * kSecond);
  const int64_t end = measure + static_cast<int64_t>(o.duration_s * kSecond);
  uint64_t pass_bytes = 0;
  int consecutive_errors = 0;
  CpuMeter cpu(o.server_pids);
  bool cpu_started = false;
  std::string body;
  simdjson::ondemand::parser parser;  // keeps its buffers from one answer to the next
  while (MonoNanos() < end) {
    // Iterators are opaque: moto's end in an escaped newline, so they are quoted again.
    body = JsonObject({{"ShardIterator", iterator}});
    body.insert(body.size() - 1, ",\"Limit\":" + std::to_string(o.limit));
    Status s = client.Call("GetRecords", body, &reply);
    const int64_t now = MonoNanos();
    const bool counting = now >= measure && now <= end;
    if (counting && !cpu_started) {
      cpu.Start();  // at the first answer after the warm-up: near enough for these call sizes
      cpu_started = true;
    }
    if (!s.ok() || reply.status != 200) {
      if (counting) {
        if (!s.ok())
          ++c.errors[s.message()];
        else if (reply.error_type == kThrottled)
          ++c.throttled_requests;
        else
          ++c.errors[std::to_string(reply.status) + " " + reply.error_type];
      }
      if (++consecutive_errors > 20)
        return Status(
            Code::kUnavailable,
            "GetRecords keeps failing: " + (s.ok() ? "HTTP " + std::to_string(reply.status) + " " +
                                                         std::string(reply.body.substr(0, 300))
                                                   : s.message()));
      if (s.ok() && reply.error_type == kThrottled) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      auto again = fresh_iterator();
      if (!again.ok()) return again.status();
      iterator = *again;
      continue;
    }
    consecutive_errors = 0;
    Batch b;
    MILLRACE_RETURN_IF_ERROR(ParseGetRecords(parser, reply, &b));
    ++r.calls;
    if (counting) {
      ++c.requests_ok;
      c.records_ok += b.records;
      c.bytes_ok += b.bytes;
      c.latency.Record(reply.latency_ns);
    }
    pass_bytes += b.bytes;
    if (b.records == 0 || b.next_iterator.empty()) {
      // The end of what was written: read it all again, from the start.
      if (pass_bytes == 0) return Status::FailedPrecondition(o.stream + " has no records to read");
      ++r.passes;
      pass_bytes = 0;
      auto again = fresh_iterator();
      if (!again.ok()) return again.status();
      iterator = *again;
    } else {
      iterator = std::move(b.next_iterator);
    }
  }
  r.elapsed_s = static_cast<double>(end - measure) / kSecond;
  if (cpu_started) {
    cpu.Stop();
    r.loadgen_cpu_s = cpu.self();
    r.server_cpu_s = cpu.server();
  }
  Report(o, r);
  return Status::Ok();
}

int Main(int argc, char** argv) {
  LoadOptions o;
  Status s = ParseOptions(argc, argv, &o);
  if (!s.ok()) {
    std::fprintf(stderr, "loadgen: %s\n\n%s", s.message().c_str(), kHelp);
    return 2;
  }
  auto ep = ParseEndpoint(o.endpoint);
  if (!ep.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", ep.status().message().c_str());
    return 2;
  }
  auto creds = LoadCredentials(o);
  if (!creds.ok()) {
    std::fprintf(stderr, "loadgen: %s\n", creds.status().message().c_str());
    return 2;
  }
  RequestSigner signer(*creds, o.region, ep->host_header, o.full_signer);
  s = signer.SelfCheck();
  if (s.ok()) {
    if (o.mode == "put-record" || o.mode == "put-record-shards" || o.mode == "put-records" ||
        o.mode == "assume-role")
      s = RunWriters(o, *ep, signer);
    else if (o.mode == "get-records")
      s = GetRecords(o, *ep, &signer);
    else if (o.mode == "create-stream")
      s = CreateStream(o, *ep, &signer);
    else
      s = Status::InvalidArgument("unknown mode '" + o.mode + "' (see --help)");
  }
  if (!s.ok()) {
    std::fprintf(stderr, "loadgen %s (%s): %s\n", o.mode.c_str(), o.label.c_str(),
                 s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace millrace::bench

int main(int argc, char** argv) { return millrace::bench::Main(argc, argv); }
