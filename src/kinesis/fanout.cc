#include "kinesis/fanout.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "catalog/catalog.h"
#include "common/cbor.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "kinesis/action.h"
#include "kinesis/eventstream.h"
#include "streams/sequence.h"
#include "streams/throttle.h"

namespace millrace::kinesis {
namespace {

constexpr char kJson[] = "application/x-amz-json-1.1";
constexpr char kCbor[] = "application/x-amz-cbor-1.1";
constexpr size_t kMaxQueuedBytes = 1 << 20;  // a client that reads slower waits
constexpr int64_t kTickMs = 100;             // deadlines, heartbeats, budgets refilled

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Event payloads are JSON, or the same in CBOR for a CBOR client.
std::string Encode(const std::string& json, bool cbor) {
  if (!cbor) return json;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string out;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS || !JsonToCbor(doc, KinesisCborMember, &out))
    LOG(kError) << "fanout: an event could not be encoded as CBOR";
  return out;
}

std::string DocName(const std::string& stream, const std::string& consumer) {
  return stream + "/" + consumer;
}

// The exception name AWS gives a Status (as Reply::Error maps them).
const char* ExceptionName(const Status& st) {
  switch (st.code()) {
    case Code::kNotFound:
      return "ResourceNotFoundException";
    case Code::kFailedPrecondition:
      return "ResourceInUseException";
    case Code::kInvalidArgument:
      return "InvalidArgumentException";
    case Code::kExpired:
      return "ExpiredIteratorException";
    default:
      return "InternalFailure";
  }
}

}  // namespace

struct FanOut::Subscription {
  std::string key;  // consumer ARN + "\n" + shard index
  std::string consumer_arn;
  std::shared_ptr<http::BodyStream> body;
  std::string iterator;
  bool cbor = false;
  int64_t expires_ms = 0;
  int64_t last_event_ms = 0;
  streams::TokenBucket budget{kBytesPerSecond};
  std::string continuation;  // the last ContinuationSequenceNumber sent
};

FanOut::FanOut(streams::StreamManager* streams, std::string region)
    : streams_(streams),
      region_(std::move(region)),
      clock_(streams->options().clock ? streams->options().clock : SystemClock::Default()) {
  pusher_ = std::thread([this] { Run(); });
}

FanOut::~FanOut() { Stop(); }

void FanOut::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    for (auto& [key, sub] : subs_) sub->body->Finish();
    subs_.clear();
  }
  cv_.notify_all();
  if (pusher_.joinable()) pusher_.join();
}

Result<StreamConsumer> FanOut::FromDoc(const std::string& stream, const std::string& name) {
  const std::string not_found = "Consumer " + name + " under stream " + stream + " under account " +
                                streams_->options().account_id + " not found.";
  auto s = streams_->Get(stream);
  if (!s.ok()) return s.status();
  auto doc =
      streams_->options().catalog->GetDoc(catalog::DocKind::kStreamConsumer, DocName(stream, name));
  if (!doc.ok()) return doc.status();
  if (!*doc) return Status::NotFound(not_found);
  simdjson::dom::parser parser;
  simdjson::dom::element spec;
  int64_t stream_created = 0;
  if (parser.parse((*doc)->spec).get(spec) != simdjson::SUCCESS ||
      spec["stream_created_ms"].get(stream_created) != simdjson::SUCCESS)
    return Status::Internal("stream consumer " + DocName(stream, name) + ": malformed document");
  // A consumer of a stream deleted and made again under the same name is gone with it.
  if (stream_created != (*s)->created_ms) {
    (void)streams_->options().catalog->DeleteDoc(catalog::DocKind::kStreamConsumer,
                                                 DocName(stream, name));
    return Status::NotFound(not_found);
  }
  StreamConsumer c;
  c.stream = stream;
  c.stream_arn = streams_->StreamArn(stream, region_);
  c.name = name;
  c.created_ms = (*doc)->created_ms;
  c.arn = c.stream_arn + "/consumer/" + name + ":" + std::to_string(c.created_ms / 1000);
  const int64_t now = clock_->NowMillis();
  c.active = now - c.created_ms >= streams_->options().transition_ms;
  return c;
}

Result<StreamConsumer> FanOut::Register(const std::string& stream, const std::string& name) {
  std::lock_guard<std::mutex> lock(consumers_mu_);
  auto s = streams_->Get(stream);
  if (!s.ok()) return s.status();
  if (auto existing = FromDoc(stream, name); existing.ok())
    return Status::FailedPrecondition("Consumer " + existing->arn + " under account " +
                                      streams_->options().account_id + " already exists.");
  auto all = List(stream);
  if (!all.ok()) return all.status();
  if (static_cast<int>(all->size()) >= kMaxConsumersPerStream)
    return Status::ResourceExhausted("Stream " + stream + " under account " +
                                     streams_->options().account_id + " has reached the limit of " +
                                     std::to_string(kMaxConsumersPerStream) + " consumers.");
  catalog::DocRow row;
  row.name = DocName(stream, name);
  std::string spec;
  JsonWriter w(&spec);
  w.BeginObject();
  w.Key("stream_created_ms");
  w.Int((*s)->created_ms);
  w.EndObject();
  row.spec = spec;
  // The ARN carries the creation time in seconds: a consumer made again later has another.
  row.created_ms = clock_->NowMillis();
  row.updated_ms = row.created_ms;
  MILLRACE_RETURN_IF_ERROR(
      streams_->options().catalog->CreateDoc(catalog::DocKind::kStreamConsumer, row));
  return FromDoc(stream, name);
}

Result<StreamConsumer> FanOut::Find(const std::string& stream, const std::string& name) {
  return FromDoc(stream, name);
}

Result<StreamConsumer> FanOut::FindByArn(const std::string& arn) {
  const std::string not_found =
      "Consumer " + arn + " under account " + streams_->options().account_id + " not found.";
  auto stream = streams::StreamNameFromArn(arn, streams_->options().account_id);
  size_t at = arn.find("/consumer/");
  size_t colon = arn.rfind(':');
  if (!stream || at == std::string::npos || colon == std::string::npos || colon < at)
    return Status::NotFound(not_found);
  std::string name = arn.substr(at + 10, colon - at - 10);
  auto c = FromDoc(*stream, name);
  if (!c.ok()) return c.status().code() == Code::kNotFound ? Status::NotFound(not_found) : c;
  if (c->arn != arn) return Status::NotFound(not_found);  // an older incarnation's ARN
  return c;
}

Result<std::vector<StreamConsumer>> FanOut::List(const std::string& stream) {
  auto docs = streams_->options().catalog->ListDocs(catalog::DocKind::kStreamConsumer);
  if (!docs.ok()) return docs.status();
  std::vector<StreamConsumer> out;
  const std::string prefix = stream + "/";
  for (const catalog::DocRow& d : *docs) {
    if (!d.name.starts_with(prefix)) continue;
    auto c = FromDoc(stream, d.name.substr(prefix.size()));
    if (c.ok()) out.push_back(std::move(*c));
  }
  std::sort(out.begin(), out.end(), [](const StreamConsumer& a, const StreamConsumer& b) {
    return a.created_ms != b.created_ms ? a.created_ms < b.created_ms : a.name < b.name;
  });
  return out;
}

int FanOut::Count(const std::string& stream) {
  auto all = List(stream);
  return all.ok() ? static_cast<int>(all->size()) : 0;
}

Status FanOut::Deregister(const StreamConsumer& consumer) {
  std::lock_guard<std::mutex> lock(consumers_mu_);
  MILLRACE_RETURN_IF_ERROR(streams_->options().catalog->DeleteDoc(
      catalog::DocKind::kStreamConsumer, DocName(consumer.stream, consumer.name)));
  EndSubscriptionsOf(consumer.arn);
  return Status::Ok();
}

void FanOut::EndSubscriptionsOf(const std::string& consumer_arn) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = subs_.begin(); it != subs_.end();) {
    if (it->second->consumer_arn == consumer_arn) {
      it->second->body->Finish();
      it = subs_.erase(it);
      active_.fetch_sub(1);
    } else {
      ++it;
    }
  }
}

Status FanOut::Subscribe(const StreamConsumer& consumer, const std::string& shard_id,
                         const streams::StreamManager::IteratorRequest& start, bool cbor,
                         http::Response* head) {
  if (!consumer.active)
    return Status::FailedPrecondition("Consumer " + consumer.arn + " under account " +
                                      streams_->options().account_id + " is not in ACTIVE state.");
  auto index = streams::ParseShardId(shard_id);
  auto iterator = streams_->GetShardIterator(consumer.stream, start);
  if (!iterator.ok()) return iterator.status();
  auto sub = std::make_shared<Subscription>();
  sub->consumer_arn = consumer.arn;
  sub->key = consumer.arn + "\n" + std::to_string(index.value_or(0));
  sub->iterator = std::move(*iterator);
  sub->cbor = cbor;
  const int64_t now = clock_->NowMillis();
  sub->expires_ms = now + kSubscriptionMs;
  sub->last_event_ms = now;
  sub->body = std::make_shared<http::BodyStream>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (subs_.count(sub->key))
      return Status::FailedPrecondition("Another active subscription exists for this consumer: " +
                                        streams_->options().account_id + ":" + consumer.stream +
                                        ":" + streams::ShardIdOf(index.value_or(0)) + ":" +
                                        consumer.name);
    subs_[sub->key] = sub;
    active_.fetch_add(1);
  }
  std::string first;
  AppendEvent("initial-response", cbor ? kCbor : kJson, cbor ? std::string("\xa0") : "{}", &first);
  sub->body->Write(first);
  head->status = 200;
  head->SetHeader("Content-Type", "application/vnd.amazon.eventstream");
  head->stream = sub->body;
  Wake();
  return Status::Ok();
}

void FanOut::Wake() {
  if (active_.load(std::memory_order_relaxed) == 0) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;
  }
  cv_.notify_one();
}

size_t FanOut::subscriptions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return subs_.size();
}

void FanOut::Run() {
  std::vector<std::shared_ptr<Subscription>> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(kTickMs), [this] { return stop_ || dirty_; });
      if (stop_) return;
      dirty_ = false;
      batch.clear();
      for (auto& [key, sub] : subs_) batch.push_back(sub);
    }
    for (auto& sub : batch) {
      const int64_t now = clock_->NowMillis();
      if (Pump(*sub, now)) continue;
      std::lock_guard<std::mutex> lock(mu_);
      auto it = subs_.find(sub->key);
      if (it != subs_.end() && it->second == sub) {
        subs_.erase(it);
        active_.fetch_sub(1);
      }
    }
  }
}

bool FanOut::Pump(Subscription& sub, int64_t now_ms) {
  if (sub.body->cancelled()) return false;  // the client went away
  if (now_ms >= sub.expires_ms) {           // 5 minutes: the client subscribes again
    sub.body->Finish();
    return false;
  }
  if (sub.body->queued() > kMaxQueuedBytes) return true;  // it reads slower than we write
  if (!sub.budget.Available(MonotonicNs())) return true;  // 2 MiB/s
  const char* ctype = sub.cbor ? kCbor : kJson;
  for (int round = 0; round < 4; ++round) {
    auto got = streams_->GetRecords(sub.iterator, 10000, /*shared_throughput=*/false);
    std::string out;
    if (!got.ok()) {
      std::string payload;
      JsonWriter w(&payload);
      w.BeginObject();
      w.Key("message");
      w.String(got.status().message());
      w.EndObject();
      AppendException(ExceptionName(got.status()), ctype, Encode(payload, sub.cbor), &out);
      sub.body->Write(out);
      sub.body->Finish();
      return false;
    }
    const streams::GetRecordsResult& r = *got;
    const bool end_of_shard = !r.next_iterator;
    if (r.records.empty() && !end_of_shard && now_ms - sub.last_event_ms < kHeartbeatMs) {
      sub.iterator = *r.next_iterator;
      return true;
    }
    std::string payload;
    JsonWriter w(&payload);
    w.BeginObject();
    WriteRecordList(w, r);
    w.Key("ContinuationSequenceNumber");
    // The last record sent, or where the shard stands: resubscribing AFTER it loses nothing.
    const uint64_t at = r.records.empty() ? (r.next_counter > 0 ? r.next_counter - 1 : 0)
                                          : r.records.back().counter;
    streams::AppendSequence(w.BeginRawString(), r.stream->id, r.shard_index, at);
    w.EndRawString();
    w.Key("MillisBehindLatest");
    w.Int(r.millis_behind);
    if (end_of_shard) WriteChildShards(w, r);
    w.EndObject();
    AppendEvent("SubscribeToShardEvent", ctype, Encode(payload, sub.cbor), &out);
    sub.budget.Consume(static_cast<double>(out.size()), MonotonicNs());
    sub.last_event_ms = now_ms;
    if (!sub.body->Write(out)) return false;
    if (end_of_shard) {
      sub.body->Finish();
      return false;
    }
    sub.iterator = *r.next_iterator;
    // A full read: there may be more at once, within the budget and the queue bound.
    if (r.records.size() < 10000 && r.millis_behind == 0) return true;
    if (sub.body->queued() > kMaxQueuedBytes || !sub.budget.Available(MonotonicNs())) return true;
  }
  Wake();  // more to read: the next turn comes at once
  return true;
}

}  // namespace millrace::kinesis
