// What every Kinesis action handler sees and how it answers.
//
// The service (service.h) parses the JSON body, validates it against the action's
// schema, resolves the stream it names and checks the caller may act on it, and only
// then calls the handler. Handlers hold the action's logic-to-wire mapping only: the
// logic is in streams::StreamManager, the error mapping in service.cc.
#pragma once

#include <simdjson.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/cbor.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "http/message.h"
#include "iam/directory.h"
#include "iam/store.h"
#include "kinesis/schema.h"
#include "streams/manager.h"

namespace millrace::kms {
class KeyStore;
}

namespace millrace::kinesis {

// Who is calling, as the access key says.
struct Caller {
  std::string access_key_id;                        // empty when authentication is off
  std::shared_ptr<const iam::Principal> principal;  // null when authentication is off
};

// The answer to one request; thread-safe, callable once, from any thread.
class Reply {
 public:
  // `cbor`: the client spoke CBOR, and is answered in CBOR (common/cbor.h).
  Reply(http::Responder responder, std::string request_id, bool cbor = false)
      : responder_(std::move(responder)), request_id_(std::move(request_id)), cbor_(cbor) {}
  Reply(Reply&&) = default;

  void Json(std::string body);       // 200 with this JSON body ("" for none)
  void Error(const Status& status);  // mapped by MapError
  void Error(int http_status, const std::string& type, const std::string& message);
  // A whole answer of the handler's own (SubscribeToShard's event stream); the request id
  // header is added.
  void Send(http::Response response);
  bool cbor() const { return cbor_; }

 private:
  http::Responder responder_;
  std::string request_id_;
  bool cbor_ = false;
};

struct Context {
  streams::StreamManager* streams = nullptr;
  const Caller* caller = nullptr;
  simdjson::dom::element body;
  std::string stream_name;       // resolved from StreamName or StreamARN (when the action has one)
  std::string region;            // the region the client signed for (for ARNs)
  std::string stream_arn;        // the resolved stream's ARN (when the action names one)
  iam::IamStore* iam = nullptr;  // resource policies
  std::function<void()> invalidate;  // after a resource policy changed
  class FanOut* fanout = nullptr;    // enhanced fan-out (fanout.h)
  kms::KeyStore* kms = nullptr;      // stream encryption's keys
};

// How an action names the stream it acts on, for resolution and access checks.
// kNameArnOrToken: as kNameOrArn, or from a ListShards NextToken (see list_shards.cc).
// kConsumer: a ConsumerARN (authorized on the consumer's ARN), or a StreamARN beside a
// ConsumerName.
enum class StreamRef {
  kNone,
  kNameOrArn,
  kArnOnly,
  kResourceArn,
  kIterator,
  kNameArnOrToken,
  kConsumer
};
// What an action does (informational since policies decide: a scoped key's policy is built
// from its scope, iam::ScopePolicy).
enum class Access { kAdmin, kWrite, kRead, kDescribe };

struct Action {
  const char* name;
  const Fields* schema;
  StreamRef stream_ref;
  Access access;
  void (*handle)(Context& ctx, Reply reply);
};

// ListShards' NextToken: base64 of "<stream name>\n<last shard index returned>".
std::string EncodeShardToken(const std::string& stream, uint32_t last_index);
bool DecodeShardToken(std::string_view token, std::string* stream, uint32_t* last_index);

// Which members of a Kinesis answer are blobs and timestamps, for its CBOR form.
CborMember KinesisCborMember(std::string_view key);

// All actions, in handlers/*.cc.
const std::vector<const Action*>& AllActions();

// JSON helpers shared by handlers.
void WriteTimestamp(JsonWriter& w, int64_t ms);  // epoch seconds with ms precision
void WriteShard(JsonWriter& w, const streams::Stream& s, const streams::Shard& sh);
// StreamName, StreamARN, StreamStatus, StreamModeDetails (the caller holds s.mu shared).
void WriteStreamIdentity(JsonWriter& w, const Context& ctx, const streams::Stream& s);
// GetRecords' "Records" member / "ChildShards" member (also SubscribeToShard's events).
void WriteRecordList(JsonWriter& w, const streams::GetRecordsResult& r);
void WriteChildShards(JsonWriter& w, const streams::GetRecordsResult& r);
// [{"ShardLevelMetrics": [...]}] for the metrics enabled (handlers/enhanced_monitoring.cc).
void WriteEnhancedMonitoring(JsonWriter& w, uint8_t bits);
// RetentionPeriodHours, StreamCreationTimestamp, EnhancedMonitoring, EncryptionType.
void WriteStreamSettings(JsonWriter& w, const streams::Stream& s);

}  // namespace millrace::kinesis
