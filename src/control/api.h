// ControlApi: the REST control API under /api/v1 (docs/control-api.md): datasets,
// consumers and transformations (documents in the catalog, run by the DeliveryManager), and
// read-only views of the streams the Kinesis API manages. Also answers GET
// /streams/{name}[?request_type=...] without the prefix, as the seed documents it.
//
// Wire: JSON bodies; every error is {"error": {"code", "message"}} with a 4xx/5xx status,
// mapped from a Status in one place (api.cc). Authentication: SigV4 with the service name
// "millrace" (any region), by an admin key.
//
// Threads: Handle only queues the request. One worker thread of the ControlApi's own runs
// the requests in arrival order: they write the catalog (an fsync each) and restart
// consumers (DeliveryManager::Reload may wait for a consumer to finish a write), which must
// not stall the event loops that carry records. Running them one at a time also makes each
// check-then-write (a dataset in use, a name taken) atomic with respect to the others.
//
// Lifetime: every pointer given to the constructor must outlive the ControlApi. `delivery`
// may be null (nothing is reloaded, consumers show no live status); so may `logs` (the
// transformations' logs endpoint then answers no lines).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "catalog/catalog.h"
#include "cdc/manager.h"
#include "common/thread_annotations.h"
#include "control/handlers.h"
#include "delivery/manager.h"
#include "http/message.h"
#include "http/work_queue.h"
#include "iam/directory.h"
#include "streams/manager.h"
#include "transform/log_store.h"

namespace millrace::control {

class ControlApi {
 public:
  // Requests waiting beyond this many are answered 503 at once.
  static constexpr size_t kMaxQueued = 1024;
  // Transformation and filter test runs (POST .../test) waiting beyond this many are
  // answered 503.
  static constexpr size_t kMaxQueuedTests = 8;

  ControlApi(catalog::Catalog* catalog, streams::StreamManager* streams,
             delivery::DeliveryManager* delivery, iam::Directory* directory, bool auth_enabled,
             transform::LogStore* logs = nullptr);
  // Finishes the request being run; requests still queued are answered 503.
  ~ControlApi();
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;
  // The change streams (/api/v1/change-streams); set before the first request, outliving
  // the ControlApi. Without it, change streams are stored but not run.
  void SetChangeStreams(cdc::ChangeStreamManager* m) { change_streams_ = m; }

  // Whether the request is for this API: a path of /api/v1 or under it, or of /streams or
  // under it. Cheap; callable from any thread.
  bool Handles(const http::Request& request) const;

  // Queues the request; the answer is sent later from the worker thread. Thread-safe.
  void Handle(http::Request&& request, http::Responder responder);
  // Queues a request of another service that manages the same documents (the Firehose
  // API): `serve` runs on the worker thread, in order with the control API's requests,
  // with the handlers' Env. The caller has authenticated and authorized it. Thread-safe.
  using SerialFn = std::function<http::Response(const Env& env, const http::Request& request)>;
  void RunSerial(http::Request&& request, http::Responder responder, SerialFn serve);
  // For a request whose body is not read yet (http::ServerOptions::head_check): the
  // authentication error it will get whatever its body, or nullopt. Any thread.
  std::optional<http::Response> CheckHead(const http::Request& head) const;
  // Verifies a whole request as the control API does (SigV4, service "millrace") and
  // authorizes `action` on `resource` (millrace:GetMetrics on "*" for GET /metrics): the
  // refusal, or nullopt when it may go on.
  std::optional<http::Response> Authenticate(const http::Request& request,
                                             const std::string& action,
                                             const std::string& resource) const;

  // Whether a request is a transformation or filter test run (POST .../test), served on the
  // test queue rather than the serial one.
  static bool IsTestRun(const http::Request& request);

 private:
  std::pair<std::string, std::string> ActionOf(const http::Request& req,
                                               const std::vector<std::string>& seg) const;
  http::Response Serve(const http::Request& request);
  // POST /api/v1/permissions: which of the given actions the caller's own policies allow.
  http::Response Permissions(const http::Request& request) const;
  // POST /api/v1/filters/test: a consumer's record filter run on the records given.
  http::Response TestFilter(const http::Request& request) const;
  // Who signed the request (null with --auth none), or the answer refusing it.
  std::variant<std::shared_ptr<const iam::Principal>, http::Response> Caller(
      const http::Request& request) const;
  Env MakeEnv() const;

  catalog::Catalog* const catalog_;
  streams::StreamManager* const streams_;
  delivery::DeliveryManager* const delivery_;
  iam::Directory* const directory_;
  const bool auth_enabled_;
  transform::LogStore* const logs_;
  cdc::ChangeStreamManager* change_streams_ = nullptr;
  std::unique_ptr<History> history_;  // streams' traffic and consumers' lag, the last hour

  std::unique_ptr<http::WorkQueue> queue_;  // one worker; made last in the constructor
  std::unique_ptr<http::WorkQueue> tests_;  // two workers for transformation and filter tests
};

}  // namespace millrace::control
