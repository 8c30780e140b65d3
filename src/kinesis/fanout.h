// FanOut: enhanced fan-out. Stream consumers (RegisterStreamConsumer and its kin), kept in
// the catalog, and SubscribeToShard's subscriptions: each an event stream
// (kinesis/eventstream.h) answered through an http::BodyStream, fed by one pusher thread
// that reads a shard as soon as records become durable (StreamManager's durable listener:
// no polling interval) and writes SubscribeToShardEvent messages.
//
// AWS's rules, as its documentation gives them: at most 20 consumers per stream; one
// subscription per consumer and shard at a time (a second is ResourceInUseException); a
// subscription lasts 5 minutes, then its stream ends and the client subscribes again from
// ContinuationSequenceNumber; 2 MiB/s per subscription, apart from the shard's shared
// GetRecords allowance; an event at least every 5 seconds (empty when there is nothing);
// at the end of a closed shard an event with ChildShards, then the end.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "http/message.h"
#include "streams/manager.h"

namespace millrace::kinesis {

struct StreamConsumer {
  std::string stream;      // the stream's name
  std::string stream_arn;  // arn:aws:kinesis:<region>:<account>:stream/<name>
  std::string name;
  std::string arn;  // <stream arn>/consumer/<name>:<creation epoch seconds>
  int64_t created_ms = 0;
  bool active = false;  // CREATING until the stream transition time has passed
};

class FanOut {
 public:
  static constexpr int kMaxConsumersPerStream = 20;
  static constexpr int64_t kSubscriptionMs = 5 * 60 * 1000;
  static constexpr double kBytesPerSecond = 2.0 * 1024 * 1024;
  static constexpr int64_t kHeartbeatMs = 5000;

  FanOut(streams::StreamManager* streams, std::string region);
  ~FanOut();  // Stop()
  FanOut(const FanOut&) = delete;
  FanOut& operator=(const FanOut&) = delete;

  Result<StreamConsumer> Register(const std::string& stream, const std::string& name);
  Result<StreamConsumer> Find(const std::string& stream, const std::string& name);
  Result<StreamConsumer> FindByArn(const std::string& arn);
  Result<std::vector<StreamConsumer>> List(const std::string& stream);
  Status Deregister(const StreamConsumer& consumer);
  int Count(const std::string& stream);

  // Starts a subscription of `consumer` to `shard_id` from `start`; on success *head is the
  // answer to send (200, the event stream as its streamed body, the initial-response event
  // queued). `cbor`: event payloads in CBOR.
  Status Subscribe(const StreamConsumer& consumer, const std::string& shard_id,
                   const streams::StreamManager::IteratorRequest& start, bool cbor,
                   http::Response* head);

  // Ends every subscription and stops the pusher (which reads the streams: call it before
  // the StreamManager goes). Wake stays callable after it. Idempotent.
  void Stop();

  // New durable records (StreamManager's durable listener; the commit thread).
  void Wake();

  size_t subscriptions() const;

 private:
  struct Subscription;

  void Run();
  // Reads what the subscription has not seen and writes it; false once it has ended.
  bool Pump(Subscription& sub, int64_t now_ms);
  Result<StreamConsumer> FromDoc(const std::string& stream, const std::string& name);
  void EndSubscriptionsOf(const std::string& consumer_arn);

  streams::StreamManager* const streams_;
  const std::string region_;
  const Clock* const clock_;
  std::mutex consumers_mu_;  // serializes Register (the limit) and Deregister

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                          // guarded by mu_
  bool dirty_ = false;                                         // guarded by mu_
  std::map<std::string, std::shared_ptr<Subscription>> subs_;  // guarded by mu_
  std::atomic<size_t> active_{0};
  std::thread pusher_;
};

}  // namespace millrace::kinesis
