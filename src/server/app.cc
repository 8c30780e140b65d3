#include "server/app.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "common/request_id.h"
#include "console/service.h"
#include "log/file.h"
#include "s3/upload.h"
#include "transform/sandbox.h"

namespace millrace::server {

Status EnsureRootKey(catalog::Catalog* catalog, const std::string& data_dir) {
  const char* env_id = std::getenv("MILLRACE_ROOT_ACCESS_KEY_ID");
  const char* env_secret = std::getenv("MILLRACE_ROOT_SECRET_ACCESS_KEY");
  bool from_env = env_id && env_secret && *env_id && *env_secret;
  auto existing = catalog->ListKeys();
  if (!existing.ok()) return existing.status();
  auth::AccessKey key;
  if (from_env) {
    auto found = catalog->FindKey(env_id);
    if (!found.ok()) return found.status();
    if (*found) {
      if ((*found)->secret != env_secret || (*found)->revoked_ms)
        return Status::InvalidArgument(
            "MILLRACE_ROOT_ACCESS_KEY_ID names a key that exists with another secret or was "
            "revoked");
      return Status::Ok();
    }
    key = auth::AccessKey{env_id, env_secret, "admin", {}};
  } else if (!existing->empty()) {
    return Status::Ok();  // not a first start
  } else {
    key = auth::GenerateKey("admin", {});
  }
  catalog::KeyRow row;
  row.access_key_id = key.access_key_id;
  row.secret = key.secret;
  row.scope = "admin";
  row.created_ms = SystemClock::Default()->NowMillis();
  row.description = "root";
  MILLRACE_RETURN_IF_ERROR(catalog->CreateKey(row));

  std::string path = data_dir + "/credentials";
  std::string text = "[default]\naws_access_key_id = " + key.access_key_id +
                     "\naws_secret_access_key = " + key.secret + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  ::fchmod(fd, 0600);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, "write " + path);
  LOG(kInfo) << "auth: root access key " << key.access_key_id << " written to " << path
             << (from_env ? " (from MILLRACE_ROOT_ACCESS_KEY_ID)" : "");
  return Status::Ok();
}

// The server's account id, for `millrace share` (which runs without the server's flags).
Status RecordAccount(catalog::Catalog* catalog, const std::string& account_id) {
  auto existing = catalog->GetDoc(catalog::DocKind::kAccount, "operator");
  if (!existing.ok()) return existing.status();
  const int64_t now = SystemClock::Default()->NowMillis();
  if (!*existing)
    return catalog->CreateDoc(catalog::DocKind::kAccount,
                              catalog::DocRow{"operator", account_id, 1, now, now});
  if ((*existing)->spec == account_id) return Status::Ok();
  int64_t version;
  return catalog->UpdateDoc(catalog::DocKind::kAccount, "operator", account_id, now, &version);
}

Result<std::unique_ptr<App>> App::Start(const config::ServerConfig& config) {
  UsePrivateUmask();
  // A fixed mmap threshold (which also stops glibc's dynamic one from climbing to 32 MiB
  // after the first large free): request buffers of 128 KiB and more are mappings of their
  // own, returned to the system when freed, so a burst of large or hostile requests does
  // not leave its memory in the heap (docs/security.md). Large Parquet buffers were
  // mappings already (docs/format/parquet.md).
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock.ok()) return lock.status();
  std::unique_ptr<App> app(new App(std::move(*lock)));
  auto repaired = MakePrivate(config.data_dir);
  if (!repaired.ok()) return repaired.status();
  if (*repaired > 0)
    LOG(kWarn) << "data dir: made " << *repaired << " files and folders under " << config.data_dir
               << " private to this user (0600/0700); they were readable by others";
  auto catalog = catalog::Catalog::Open(config.data_dir + "/catalog.db");
  if (!catalog.ok()) return catalog.status();
  app->catalog_ = std::move(*catalog);
  MILLRACE_RETURN_IF_ERROR(EnsureRootKey(app->catalog_.get(), config.data_dir));
  MILLRACE_RETURN_IF_ERROR(RecordAccount(app->catalog_.get(), config.account_id));

  auto kms_keys = kms::KeyStore::Open(app->catalog_.get(), SystemClock::Default(),
                                      config.account_id, config.region);
  if (!kms_keys.ok()) return kms_keys.status();
  app->kms_keys_ = std::move(*kms_keys);

  streams::ManagerOptions mo;
  mo.keys = app->kms_keys_.get();
  mo.data_dir = config.data_dir;
  mo.account_id = config.account_id;
  mo.region = config.region;
  mo.transition_ms = config.stream_transition_ms;
  mo.throttling = config.throttling;
  mo.shard_limit = static_cast<int>(config.shard_limit);
  mo.segment_bytes = static_cast<uint64_t>(config.segment_mb) << 20;
  mo.sync = config.sync;
  mo.catalog = app->catalog_.get();
  auto mgr = streams::StreamManager::Open(mo);
  if (!mgr.ok()) return mgr.status();
  app->streams_ = std::move(*mgr);
  auto keys_catalog = catalog::Catalog::Open(config.data_dir + "/catalog.db");
  if (!keys_catalog.ok()) return keys_catalog.status();
  app->keys_catalog_ = std::move(*keys_catalog);
  // The identity directory reads through its own connection (it sees what this process and
  // `millrace keys` / `millrace share` commit); the IAM store writes through the main one.
  app->directory_ =
      std::make_unique<iam::Directory>(app->keys_catalog_.get(), SystemClock::Default(),
                                       iam::DirectoryOptions{config.account_id, config.region});
  app->iam_store_ = std::make_unique<iam::IamStore>(app->catalog_.get(), config.account_id);
  kinesis::ServiceOptions so;
  so.auth = config.auth != "none";
  app->kinesis_ = std::make_unique<kinesis::KinesisService>(
      app->streams_.get(), app->directory_.get(), app->iam_store_.get(), so);
  app->fanout_ = std::make_unique<kinesis::FanOut>(app->streams_.get(), config.region);
  app->kinesis_->SetFanOut(app->fanout_.get());
  app->kinesis_->SetKeyStore(app->kms_keys_.get());
  app->kms_ = std::make_unique<kms::KmsService>(app->kms_keys_.get(), app->directory_.get(),
                                                config.account_id, config.region, so.auth);
  app->streams_->SetDurableListener([f = app->fanout_.get()] { f->Wake(); });
  app->query_ = std::make_unique<iam::QueryService>(app->directory_.get(), app->iam_store_.get(),
                                                    SystemClock::Default(), so.auth);
  if (!so.auth)
    LOG(kWarn) << "auth: --auth none: requests are NOT verified; anyone who can reach "
               << config.listen << " can read and write every stream";
  if (!config.sync)
    LOG(kWarn) << "log: --sync off: writes are acknowledged before they are on disk";

  transform::ConfigureSandbox(transform::SandboxConfig{config.sandbox_user});
  app->delivery_ = std::make_unique<delivery::DeliveryManager>(
      app->catalog_.get(), app->streams_.get(), config.data_dir, SystemClock::Default());
  app->transform_logs_ = std::make_unique<transform::LogStore>();
  transform::LogStore* logs = app->transform_logs_.get();
  app->delivery_->SetLogSinks([logs](const std::string& name) { return logs->SinkFor(name); });
  MILLRACE_RETURN_IF_ERROR(app->delivery_->Reload());
  app->control_ = std::make_unique<control::ControlApi>(app->catalog_.get(), app->streams_.get(),
                                                        app->delivery_.get(), app->directory_.get(),
                                                        so.auth, app->transform_logs_.get());
  app->change_streams_ = std::make_unique<cdc::ChangeStreamManager>(
      app->catalog_.get(), app->streams_.get(), SystemClock::Default());
  app->control_->SetChangeStreams(app->change_streams_.get());
  app->firehose_ = std::make_unique<firehose::FirehoseService>(
      app->control_.get(), app->catalog_.get(), app->streams_.get(), app->directory_.get(), so.auth,
      app->kms_keys_.get());
  if (Status st = app->change_streams_->Reload(); !st.ok())
    LOG(kWarn) << "change streams: " << st.ToString();
  s3::ServiceOptions s3o;
  s3o.data_dir = config.data_dir;
  s3o.region = config.region;
  s3o.auth = so.auth;
  s3o.lifecycle_interval_ms = config.lifecycle_interval_s * 1000;
  s3o.domain = config.s3_domain;
  app->s3_ = std::make_unique<s3::S3Service>(app->catalog_.get(), app->directory_.get(),
                                             app->iam_store_.get(), SystemClock::Default(), s3o);

  http::ServerOptions ho;
  MILLRACE_RETURN_IF_ERROR(config.SplitListen(&ho.host, &ho.port));
  if (config.metrics_auth == "auto") {
    const bool loopback = ho.host == "localhost" || ho.host == "::1" || ho.host == "[::1]" ||
                          ho.host.starts_with("127.");
    app->metrics_auth_ = !loopback && so.auth;
  } else if (config.metrics_auth == "on" || config.metrics_auth == "off") {
    app->metrics_auth_ = config.metrics_auth == "on";
  } else {
    return Status::InvalidArgument("metrics-auth must be on, off or auto, not '" +
                                   Abbreviate(config.metrics_auth, 32) + "'");
  }
  ho.threads = config.threads;
  ho.max_connections = static_cast<int>(config.max_connections);
  ho.max_unauthenticated_bytes = static_cast<size_t>(config.max_unauthenticated_mb) << 20;
  App* raw = app.get();
  // A large body is read only after its head passed every check that needs no body.
  ho.head_check = [raw](const http::Request& head) -> std::optional<http::Response> {
    if (s3::S3Service::Handles(head)) return raw->s3_->CheckHead(head);
    if (raw->control_->Handles(head)) return raw->control_->CheckHead(head);
    if (iam::QueryService::Handles(head)) return raw->query_->CheckHead(head);
    if (kms::KmsService::Handles(head)) return raw->kms_->CheckHead(head);
    if (firehose::FirehoseService::Handles(head)) return raw->firehose_->CheckHead(head);
    return raw->kinesis_->CheckHead(head);
  };
  // An object upload's body goes to disk as it arrives (up to S3's 5 GiB, framing aside).
  ho.body_diversion = [raw](const http::Request& head) -> std::shared_ptr<http::BodyConsumer> {
    return raw->s3_->DivertBody(head);
  };
  ho.max_diverted_body_bytes = s3::kMaxObjectBytes + (64u << 20);
  if (config.tls_cert.empty() != config.tls_key.empty())
    return Status::InvalidArgument("tls-cert and tls-key go together: set both, or neither");
  if (!config.tls_cert.empty()) {
    auto tls = http::TlsContext::Load(config.tls_cert, config.tls_key);
    if (!tls.ok()) return tls.status();
    app->tls_ = *tls;
    ho.tls = app->tls_;
  }
  app->http_ = std::make_unique<http::HttpServer>(
      ho,
      [raw](http::Request&& req, http::Responder r) { raw->Route(std::move(req), std::move(r)); });
  MILLRACE_RETURN_IF_ERROR(app->http_->Start());
  LOG(kInfo) << "millrace: listening on " << ho.host << ":" << app->http_->port()
             << (ho.tls ? " (TLS)" : "") << ", data in " << config.data_dir;
  return app;
}

App::~App() { Stop(); }

void App::ReloadTls() {
  if (!tls_) {
    LOG(kInfo) << "millrace: SIGHUP: no TLS certificate to reload";
    return;
  }
  if (Status st = tls_->Reload(); !st.ok()) {
    LOG(kError) << "millrace: SIGHUP: TLS not reloaded, the old certificate stays: "
                << st.ToString();
    return;
  }
  LOG(kInfo) << "millrace: SIGHUP: TLS certificate and key reloaded";
}

void App::Stop() {
  if (http_) http_->Stop();
  http_.reset();
  s3_.reset();
  query_.reset();
  firehose_.reset();
  control_.reset();
  change_streams_.reset();  // captures stop before the streams they write
  delivery_.reset();        // consumers stop before the streams they read
  transform_logs_.reset();
  kinesis_.reset();
  kms_.reset();
  if (fanout_) fanout_->Stop();  // its pusher reads the streams
  streams_.reset();  // the journal finishes queued appends (whose listener wakes fanout_)
  fanout_.reset();
  iam_store_.reset();
  directory_.reset();
  kms_keys_.reset();  // after the streams, whose journal reads through it
  keys_catalog_.reset();
  catalog_.reset();
}

uint16_t App::port() const { return http_ ? http_->port() : 0; }

namespace {

// CORS for the AWS JSON endpoints, as AWS answers a browser: any origin (the requests are
// signed, so a page gains nothing it could not do with the keys it holds), the headers AWS
// exposes. A preflight carries no credentials by design: it is answered without any, and
// echoes at most 1 KiB of the headers it asks for, only if they are header-name tokens.
constexpr char kCorsExposed[] =
    "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,x-amz-id-2,Date";

bool IsHeaderList(std::string_view s) {
  if (s.size() > 1024) return false;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                    c == ',' || c == ' ' || c == ':';
    if (!ok) return false;
  }
  return true;
}

http::Response CorsPreflight(const http::Request& req) {
  http::Response r;
  r.status = 200;
  r.SetHeader("Access-Control-Allow-Origin", "*");
  r.SetHeader("Access-Control-Allow-Methods", "GET,POST,OPTIONS,PUT,DELETE,HEAD,PATCH");
  std::string_view asked = req.HeaderOr("access-control-request-headers", "");
  r.SetHeader("Access-Control-Allow-Headers",
              !asked.empty() && IsHeaderList(asked)
                  ? std::string(asked)
                  : "authorization,content-type,x-amz-target,x-amz-date,x-amz-security-token,"
                    "x-amz-user-agent,amz-sdk-invocation-id,amz-sdk-request");
  r.SetHeader("Access-Control-Expose-Headers", kCorsExposed);
  r.SetHeader("Access-Control-Max-Age", "172800");
  r.SetHeader("x-amzn-RequestId", NewRequestId());
  return r;
}

// Adds the CORS headers to an answer for a request that named its Origin.
class CorsSink final : public http::Responder::Sink {
 public:
  explicit CorsSink(http::Responder inner) : inner_(std::move(inner)) {}
  void Deliver(http::Response r) override {
    r.SetHeader("Access-Control-Allow-Origin", "*");
    r.SetHeader("Access-Control-Expose-Headers", kCorsExposed);
    inner_.Send(std::move(r));
  }

 private:
  http::Responder inner_;
};

}  // namespace

void App::Route(http::Request&& req, http::Responder responder) {
  if (req.method == "GET" && req.path == "/healthz") {
    http::Response r;
    r.body = "{\"status\":\"ok\"}";
    r.SetHeader("Content-Type", "application/json");
    return responder.Send(std::move(r));
  }
  if (req.method == "GET" && req.path == "/metrics") {
    // Metrics name every stream and consumer: signed by an admin key when asked for.
    if (metrics_auth_)
      if (std::optional<http::Response> refused =
              control_->Authenticate(req, "millrace:GetMetrics", "*"))
        return responder.Send(std::move(*refused));
    http::Response r;
    r.body = streams_->Metrics() + delivery_->Metrics() + change_streams_->Metrics();
    r.SetHeader("Content-Type", "text/plain; version=0.0.4");
    return responder.Send(std::move(r));
  }
  // Signed for "s3": the S3 API, whatever the path (a bucket may be called "api").
  if (s3::S3Service::Handles(req)) return s3_->Handle(std::move(req), std::move(responder));
  if (control_->Handles(req)) return control_->Handle(std::move(req), std::move(responder));
  // The web console's page and bundles (GET /console/...): public files, no data.
  if (console::Handles(req)) return responder.Send(console::Serve(req));
  // STS and IAM: signed for "sts" or "iam", or a form-encoded POST (the query protocol).
  if (iam::QueryService::Handles(req)) return query_->Handle(std::move(req), std::move(responder));
  // The rest is the Kinesis endpoint's, which answers as AWS's does: a CORS preflight, a
  // JSON or CBOR POST, and anything else (a GET, another method) 403 AccessDeniedException.
  if (req.method == "OPTIONS") return responder.Send(CorsPreflight(req));
  if (req.FindHeader("origin") != nullptr)
    responder = http::Responder(std::make_shared<CorsSink>(std::move(responder)));
  // KMS (X-Amz-Target TrentService.*): the keys that encrypt streams.
  if (kms::KmsService::Handles(req)) return kms_->Handle(std::move(req), std::move(responder));
  if (firehose::FirehoseService::Handles(req))
    return firehose_->Handle(std::move(req), std::move(responder));
  kinesis_->Handle(std::move(req), std::move(responder));
}

}  // namespace millrace::server
