// App: one running Millrace server: the catalog, the stream manager (and its log), the
// key store, the services and the HTTP listener, started and stopped in order.
//
// Routing, on one port for every service: unsigned paths first (GET /healthz, GET
// /metrics), then by
// the request: a Kinesis call carries X-Amz-Target: Kinesis_20131202.*; later services
// (s3, sts, the /api/v1 control API) are told apart by the service in the SigV4 scope.
#pragma once

#include <memory>

#include "auth/keystore.h"
#include "catalog/catalog.h"
#include "cdc/manager.h"
#include "common/status.h"
#include "config/config.h"
#include "control/api.h"
#include "delivery/manager.h"
#include "firehose/service.h"
#include "http/server.h"
#include "iam/directory.h"
#include "iam/query_service.h"
#include "iam/store.h"
#include "kinesis/fanout.h"
#include "kinesis/service.h"
#include "kms/key_store.h"
#include "kms/service.h"
#include "s3/service.h"
#include "server/data_dir.h"
#include "streams/manager.h"
#include "transform/log_store.h"

namespace millrace::server {

class App {
 public:
  // Opens the data directory (creating it and the root key on first start) and starts
  // listening. Returns once /healthz would answer 200.
  static Result<std::unique_ptr<App>> Start(const config::ServerConfig& config);
  ~App();  // Stop()
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Stops accepting requests, then lets the log finish what it acknowledged. Idempotent.
  void Stop();
  uint16_t port() const;
  // Reads the TLS certificate and key again (SIGHUP); new connections use them. A failure
  // keeps the old pair and is logged.
  void ReloadTls();

 private:
  explicit App(DataDirLock lock) : lock_(std::move(lock)) {}
  void Route(http::Request&& req, http::Responder responder);

  bool metrics_auth_ = false;  // GET /metrics needs an admin key's signature
  DataDirLock lock_;           // held for the App's whole life: one server per data directory
  std::unique_ptr<catalog::Catalog> catalog_;
  // A second connection to the same catalog for the key store: key look-ups on the request
  // path must not wait behind the main connection's writes (consumer checkpoints fsync).
  std::unique_ptr<catalog::Catalog> keys_catalog_;
  std::unique_ptr<kms::KeyStore> kms_keys_;  // outlives streams_ (its journal reads through it)
  std::unique_ptr<streams::StreamManager> streams_;
  std::unique_ptr<iam::Directory> directory_;
  std::unique_ptr<iam::IamStore> iam_store_;
  std::unique_ptr<iam::QueryService> query_;
  std::unique_ptr<kinesis::KinesisService> kinesis_;
  std::unique_ptr<kms::KmsService> kms_;
  std::unique_ptr<firehose::FirehoseService> firehose_;  // before control_ (it queues there)
  std::unique_ptr<kinesis::FanOut> fanout_;  // stopped before streams_, deleted after it
  std::unique_ptr<transform::LogStore> transform_logs_;  // what functions printed
  std::unique_ptr<delivery::DeliveryManager> delivery_;
  std::unique_ptr<cdc::ChangeStreamManager> change_streams_;
  std::unique_ptr<s3::S3Service> s3_;
  std::unique_ptr<control::ControlApi> control_;
  std::shared_ptr<http::TlsContext> tls_;  // set when serving TLS
  std::unique_ptr<http::HttpServer> http_;
};

// Creates the root access key on first start and writes <data-dir>/credentials.
Status EnsureRootKey(catalog::Catalog* catalog, const std::string& data_dir);

}  // namespace millrace::server
