// KinesisService: the Kinesis Data Streams API over AWS JSON 1.1
// (POST /, X-Amz-Target: Kinesis_20131202.<Action>, Content-Type application/x-amz-json-1.1).
//
// Order of checks, as AWS (and kinesalite, which mirrors it) answers: method and content
// type, target, body present and parsable, authentication (SigV4), validation against the
// action's schema, access of the caller's key to the stream, then the action. Every error
// leaves through MapError in service.cc. Thread-safe; Handle runs on event-loop threads.
#pragma once

#include <optional>
#include <string>

#include "auth/sigv4.h"
#include "http/message.h"
#include "iam/directory.h"
#include "iam/store.h"
#include "streams/manager.h"

namespace millrace::kms {
class KeyStore;
}

namespace millrace::kinesis {

class FanOut;

struct ServiceOptions {
  bool auth = true;  // false: `--auth none`, every request is admin
};

class KinesisService {
 public:
  KinesisService(streams::StreamManager* streams, iam::Directory* directory,
                 iam::IamStore* iam_store, ServiceOptions options)
      : streams_(streams), directory_(directory), iam_store_(iam_store), options_(options) {}

  void Handle(http::Request&& request, http::Responder responder);
  // Enhanced fan-out (consumers and SubscribeToShard); set before serving.
  void SetFanOut(FanOut* fanout) { fanout_ = fanout; }
  // The keys StartStreamEncryption names; set before serving.
  void SetKeyStore(kms::KeyStore* kms) { kms_ = kms; }

  // For a request whose body is not read yet (http::ServerOptions::head_check): the
  // authentication error it will get whatever its body, or nullopt. Any thread.
  std::optional<http::Response> CheckHead(const http::Request& head) const;

 private:
  auth::VerifyOptions VerifyOptionsForKinesis() const;

  streams::StreamManager* const streams_;
  iam::Directory* const directory_;
  iam::IamStore* const iam_store_;
  const ServiceOptions options_;
  FanOut* fanout_ = nullptr;
  kms::KeyStore* kms_ = nullptr;
};

}  // namespace millrace::kinesis
