// FirehoseService: the Amazon Data Firehose API (AWS JSON 1.1, X-Amz-Target:
// Firehose_20150804.<Action>, SigV4 service "firehose") over Millrace's consumers. A
// delivery stream is a consumer seen through another API: its source is a stream
// (KinesisStreamAsSource) or a stream of its own, "firehose-<name>", that PutRecord and
// PutRecordBatch write to (DirectPut); its ExtendedS3DestinationConfiguration becomes a
// dataset, "firehose-<name>", delivering into a bucket of Millrace's S3 API. Every
// consumer shows as a delivery stream; what Firehose has and a consumer has not (the
// RoleARN, the tags, the source type) is kept in a "delivery stream" document.
//
// Authentication first, then firehose:<Action> on the delivery stream's ARN. The actions
// that change documents run on the control API's worker (ControlApi::RunSerial), in order
// with its own; PutRecord and PutRecordBatch run on the loop. What Millrace does not
// support (other destinations, ORC, ...) is refused by name with InvalidArgumentException.
// Server-side encryption seals a DirectPut stream's records with a key of the KMS API
// (kms/). docs/firehose-api.md.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "catalog/catalog.h"
#include "control/api.h"
#include "http/message.h"
#include "iam/directory.h"
#include "kms/key_store.h"
#include "streams/manager.h"

namespace millrace::firehose {

// The stream a DirectPut delivery stream writes to, and the dataset of one made through
// this API.
std::string BackingStreamOf(const std::string& delivery_stream);
std::string DatasetOf(const std::string& delivery_stream);

class FirehoseService {
 public:
  // `keys` may be null (Start/StopDeliveryStreamEncryption are then refused).
  FirehoseService(control::ControlApi* control, catalog::Catalog* catalog,
                  streams::StreamManager* streams, iam::Directory* directory, bool auth,
                  kms::KeyStore* keys = nullptr);

  // A request for this service: its X-Amz-Target names Firehose_20150804.
  static bool Handles(const http::Request& req);
  void Handle(http::Request&& req, http::Responder responder);
  // The authentication error a request will get whatever its body, or nullopt.
  std::optional<http::Response> CheckHead(const http::Request& head);

  std::string Arn(const std::string& name) const;

 private:
  void Put(const std::string& action, const http::Request& req, http::Responder responder);
  // The stream a DirectPut delivery stream writes to (cached), or the error to answer.
  Result<std::string> DirectStream(const std::string& name);
  void Forget(const std::string& name);
  // Seals (or, with an empty key type, no longer seals) the records of a DirectPut delivery
  // stream's stream under the key its encryption configuration names; waits for the
  // stream to be ACTIVE first (a new one is CREATING for a moment).
  Status SetSse(const std::string& stream, const std::string& key_type, const std::string& key_arn);

  control::ControlApi* const control_;
  catalog::Catalog* const catalog_;
  streams::StreamManager* const streams_;
  iam::Directory* const directory_;
  const bool auth_;
  kms::KeyStore* const keys_;
  std::mutex mu_;
  // Delivery stream -> its stream (DirectPut), checked against the catalog again after
  // kCacheMs.
  static constexpr int64_t kCacheMs = 1000;
  struct Cached {
    std::string stream;
    int64_t expires_ms = 0;
  };
  std::map<std::string, Cached> direct_;
};

}  // namespace millrace::firehose
