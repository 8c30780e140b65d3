#include "control/api.h"

#include <simdjson.h>

#include <map>
#include <string_view>
#include <vector>

#include "auth/sigv4.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "control/handlers.h"
#include "delivery/record_filter.h"

namespace millrace::control {
namespace {

constexpr std::string_view kPrefix = "/api/v1";
constexpr std::string_view kService = "millrace";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The one place errors become the wire: {"error": {"code", "message"}} and a status.
http::Response ErrorResponse(int status, std::string_view code, std::string_view message) {
  http::Response r;
  r.status = status;
  JsonWriter w(&r.body);
  w.BeginObject();
  w.Key("error");
  w.BeginObject();
  w.Key("code");
  w.String(code);
  w.Key("message");
  w.String(message);
  w.EndObject();
  w.EndObject();
  r.SetHeader("Content-Type", "application/json");
  return r;
}

http::Response ErrorResponse(const Status& st) {
  switch (st.code()) {
    case Code::kInvalidArgument:
      return ErrorResponse(400, "ValidationError", st.message());
    case Code::kNotFound:
      return ErrorResponse(404, "NotFound", st.message());
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      return ErrorResponse(409, "Conflict", st.message());
    case Code::kPermissionDenied:
      return ErrorResponse(403, "AccessDenied", st.message());
    case Code::kUnauthenticated:
      return ErrorResponse(401, "UnrecognizedClient", st.message());
    case Code::kResourceExhausted:
    case Code::kThrottled:
      return ErrorResponse(429, "LimitExceeded", st.message());
    case Code::kNoSpace:
    case Code::kUnavailable:
      LOG(kWarn) << "control: " << st.ToString();
      {
        http::Response r = ErrorResponse(503, "ServiceUnavailable", st.message());
        r.SetHeader("Retry-After", "1");
        return r;
      }
    default:
      LOG(kWarn) << "control: " << st.ToString();
      return ErrorResponse(500, "InternalError", st.message());
  }
}

http::Response AnswerResponse(Outcome outcome) {
  if (!outcome.ok()) return ErrorResponse(outcome.status());
  http::Response r;
  r.status = outcome->status;
  r.body = std::move(outcome->body);
  r.SetHeader("Content-Type", "application/json");
  return r;
}

http::Response MethodNotAllowed(const http::Request& req, const char* allow) {
  http::Response r = ErrorResponse(405, "MethodNotAllowed",
                                   Abbreviate(req.method, 16) + " is not allowed on " +
                                       Abbreviate(req.path) + "; use " + std::string(allow));
  r.SetHeader("Allow", allow);
  return r;
}

// A refused signature: the verifier's kind, without AWS's "Exception" suffix, and its text.
http::Response AuthFailure(const auth::AuthError& e) {
  std::string_view code;
  switch (e.kind) {
    case auth::AuthErrorKind::kMissingAuthenticationToken:
      code = "MissingAuthenticationToken";
      break;
    case auth::AuthErrorKind::kIncompleteSignature:
      code = "IncompleteSignature";
      break;
    case auth::AuthErrorKind::kUnrecognizedClient:
      code = "UnrecognizedClient";
      break;
    case auth::AuthErrorKind::kInvalidSignature:
      code = "InvalidSignature";
      break;
    case auth::AuthErrorKind::kRequestExpired:
      code = "RequestExpired";
      break;
    case auth::AuthErrorKind::kContentSha256Mismatch:
      // The signature is fine; the body is not the one signed.
      return ErrorResponse(400, "XAmzContentSHA256Mismatch", e.message);
    case auth::AuthErrorKind::kInvalidToken:
      code = "InvalidToken";
      break;
    case auth::AuthErrorKind::kExpiredToken:
      code = "ExpiredToken";
      break;
  }
  return ErrorResponse(401, code, e.message);
}

// "/datasets/x" -> {"datasets", "x"}; one trailing slash is ignored.
std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    size_t slash = path.find('/');
    out.push_back(auth::UriDecode(path.substr(0, slash)));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return out;
}

// The datasets and consumers endpoints share their shape.
struct DocHandlers {
  Outcome (*list)(const Env&);
  Outcome (*create)(const Env&, std::string_view);
  Outcome (*describe)(const Env&, const std::string&);
  Outcome (*update)(const Env&, const std::string&, std::string_view);
  Outcome (*remove)(const Env&, const std::string&);
};
constexpr DocHandlers kDatasets{ListDatasets, CreateDataset, DescribeDataset, UpdateDataset,
                                DeleteDataset};
constexpr DocHandlers kConsumers{ListConsumers, CreateConsumer, DescribeConsumer, UpdateConsumer,
                                 DeleteConsumer};
constexpr DocHandlers kChangeStreams{ListChangeStreams, CreateChangeStream, DescribeChangeStream,
                                     UpdateChangeStream, DeleteChangeStream};
constexpr DocHandlers kTransformations{ListTransformations, CreateTransformation,
                                       DescribeTransformation, UpdateTransformation,
                                       DeleteTransformation};

http::Response RouteDocs(const Env& env, const DocHandlers& h, const http::Request& req,
                         const std::vector<std::string>& seg) {
  const std::string& m = req.method;
  if (seg.size() == 1) {
    if (m == "GET") return AnswerResponse(h.list(env));
    if (m == "POST") return AnswerResponse(h.create(env, req.body));
    return MethodNotAllowed(req, "GET, POST");
  }
  const std::string& name = seg[1];
  if (m == "GET") return AnswerResponse(h.describe(env, name));
  // PATCH is accepted too: an update merges the body into what is stored.
  if (m == "PUT" || m == "PATCH") return AnswerResponse(h.update(env, name, req.body));
  if (m == "DELETE") return AnswerResponse(h.remove(env, name));
  return MethodNotAllowed(req, "GET, PUT, PATCH, DELETE");
}

http::Response RouteStreams(const Env& env, const http::Request& req,
                            const std::vector<std::string>& seg) {
  if (req.method != "GET") return MethodNotAllowed(req, "GET");
  if (seg.size() == 1) return AnswerResponse(ListStreams(env));
  auto request_type = auth::QueryValue(req.query, "request_type");
  if (!request_type) return AnswerResponse(DescribeStream(env, seg[1]));
  if (*request_type == "get_datasets") return AnswerResponse(StreamDatasets(env, seg[1]));
  if (*request_type == "get_metrics") return AnswerResponse(StreamMetrics(env, seg[1]));
  return ErrorResponse(400, "ValidationError",
                       "request_type: must be get_datasets or get_metrics (or left out), not '" +
                           *request_type + "'");
}

// /transformations/{name}/logs?since=<ms>&limit=<n>
http::Response RouteTransformationLogs(const Env& env, const http::Request& req,
                                       const std::vector<std::string>& seg) {
  if (req.method != "GET") return MethodNotAllowed(req, "GET");
  return AnswerResponse(TransformationLogs(env, seg[1], auth::QueryValue(req.query, "since"),
                                           auth::QueryValue(req.query, "limit")));
}

}  // namespace

ControlApi::ControlApi(catalog::Catalog* catalog, streams::StreamManager* streams,
                       delivery::DeliveryManager* delivery, iam::Directory* directory,
                       bool auth_enabled, transform::LogStore* logs)
    : catalog_(catalog),
      streams_(streams),
      delivery_(delivery),
      directory_(directory),
      auth_enabled_(auth_enabled),
      logs_(logs),
      history_(std::make_unique<History>(streams, delivery, streams->clock())) {
  queue_ = std::make_unique<http::WorkQueue>(
      /*workers=*/1, kMaxQueued, [this](const http::Request& req) { return Serve(req); },
      [](bool stopping) {
        return ErrorResponse(
            503, "ServiceUnavailable",
            stopping ? "the server is stopping" : "too many control requests waiting; retry later");
      });
  tests_ = std::make_unique<http::WorkQueue>(
      /*workers=*/2, kMaxQueuedTests, [this](const http::Request& req) { return Serve(req); },
      [](bool stopping) {
        return ErrorResponse(503, "ServiceUnavailable",
                             stopping ? "the server is stopping"
                                      : "too many transformation tests waiting; retry later");
      });
}

ControlApi::~ControlApi() {
  tests_.reset();
  queue_.reset();
}

bool ControlApi::Handles(const http::Request& req) const {
  std::string_view p = req.path;
  return p == kPrefix || StartsWith(p, std::string(kPrefix) + "/") || p == "/streams" ||
         StartsWith(p, "/streams/");
}

bool ControlApi::IsTestRun(const http::Request& req) {
  std::string_view p = req.path;
  if (req.method != "POST" || !StartsWith(p, std::string(kPrefix) + "/")) return false;
  std::vector<std::string> seg = Segments(p.substr(kPrefix.size()));
  return (seg.size() == 3 && seg[0] == "transformations" && seg[2] == "test") ||
         (seg.size() == 2 && seg[0] == "filters" && seg[1] == "test");
}

void ControlApi::Handle(http::Request&& request, http::Responder responder) {
  // A test run of a transformation waits for the function (up to its timeout), a filter
  // test reads up to the body limit of records: POSTs of those two, and nothing else (a
  // transformation may be named "test"), go to a queue of their own, so that they hold up
  // no other request; they change nothing.
  if (IsTestRun(request)) return tests_->Submit(std::move(request), std::move(responder));
  queue_->Submit(std::move(request), std::move(responder));
}

Env ControlApi::MakeEnv() const {
  return Env{catalog_,          streams_,      delivery_,
             streams_->clock(), logs_,         streams_->options().data_dir,
             change_streams_,   history_.get()};
}

void ControlApi::RunSerial(http::Request&& request, http::Responder responder, SerialFn serve) {
  queue_->Submit(
      std::move(request), std::move(responder),
      [this, serve = std::move(serve)](const http::Request& req) { return serve(MakeEnv(), req); });
}

std::optional<http::Response> ControlApi::CheckHead(const http::Request& head) const {
  if (!auth_enabled_) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = std::string(kService);
  std::optional<auth::AuthError> e = directory_->AuthenticateHead(head, vo);
  if (!e) return std::nullopt;
  return AuthFailure(*e);
}

std::optional<http::Response> ControlApi::Authenticate(const http::Request& req,
                                                       const std::string& action,
                                                       const std::string& resource) const {
  if (!auth_enabled_) return std::nullopt;
  auth::VerifyOptions vo;
  vo.service = std::string(kService);  // any region: the server has only one
  auto result = directory_->Authenticate(req, vo);
  if (auto* e = std::get_if<auth::AuthError>(&result)) return AuthFailure(*e);
  const iam::Principal& p = *std::get<iam::Authenticated>(result).principal;
  iam::RequestContext rc = directory_->NewContext(p, req, action, resource);
  if (directory_->Authorize(p, rc, nullptr, streams_->options().account_id) !=
      iam::Decision::kAllow)
    return ErrorResponse(403, "AccessDenied",
                         "User: " + p.ref.arn + " is not authorized to perform: " + action +
                             " on resource: " + Abbreviate(resource, 256) +
                             " (the control API's actions are millrace:*; an admin key or "
                             "the AdministratorAccess policy allows them)");
  return std::nullopt;
}

// The IAM action and resource of a control API request: millrace:ListDatasets,
// millrace:GetDataset, millrace:CreateDataset, millrace:UpdateDataset,
// millrace:DeleteDataset (and so for consumers, transformations, change streams and
// streams), millrace:PauseChangeStream, millrace:ResumeChangeStream, millrace:PauseConsumer,
// millrace:ResumeConsumer, millrace:TestTransformation, millrace:GetTransformationLogs (and
// millrace:GetConsumer for a consumer's lag); on arn:aws:millrace:<region>:<account>:<kind>/<name>.
std::pair<std::string, std::string> ControlApi::ActionOf(
    const http::Request& req, const std::vector<std::string>& seg) const {
  static const std::map<std::string, std::pair<std::string, std::string>> kKinds = {
      {"streams", {"Stream", "stream"}},
      {"datasets", {"Dataset", "dataset"}},
      {"consumers", {"Consumer", "consumer"}},
      {"transformations", {"Transformation", "transformation"}},
      {"change-streams", {"ChangeStream", "change-stream"}}};
  const std::string base =
      "arn:aws:millrace:" + streams_->options().region + ":" + streams_->options().account_id + ":";
  auto kind = seg.empty() ? kKinds.end() : kKinds.find(seg[0]);
  if (kind == kKinds.end()) return {"millrace:Unknown", base + "*"};
  const auto& [noun, resource_kind] = kind->second;
  const std::string resource = base + resource_kind + "/" + (seg.size() > 1 ? seg[1] : "*");
  if (seg.size() == 3) {
    if (seg[2] == "pause") return {"millrace:Pause" + noun, resource};
    if (seg[2] == "resume") return {"millrace:Resume" + noun, resource};
    if (seg[2] == "test") return {"millrace:TestTransformation", resource};
    if (seg[2] == "lag") return {"millrace:GetConsumer", resource};
    return {"millrace:GetTransformationLogs", resource};
  }
  const std::string& m = req.method;
  std::string verb = m == "POST"       ? "Create"
                     : m == "PUT"      ? "Update"
                     : m == "DELETE"   ? "Delete"
                     : seg.size() == 1 ? "List"
                                       : "Get";
  return {"millrace:" + verb + noun + (verb == "List" ? "s" : ""), resource};
}

http::Response ControlApi::Serve(const http::Request& req) {
  std::string_view path = req.path;
  const bool prefixed = path == kPrefix || StartsWith(path, std::string(kPrefix) + "/");
  if (prefixed) path.remove_prefix(kPrefix.size());
  std::vector<std::string> seg = Segments(path);
  if (prefixed && seg.size() == 1 && seg[0] == "permissions") return Permissions(req);
  if (prefixed && seg.size() == 2 && seg[0] == "filters" && seg[1] == "test")
    return TestFilter(req);
  auto [action, resource] = ActionOf(req, seg);
  if (std::optional<http::Response> refused = Authenticate(req, action, resource))
    return std::move(*refused);

  Env env = MakeEnv();
  if (!seg.empty() && seg.size() <= 2) {
    if (seg[0] == "streams") return RouteStreams(env, req, seg);
    if (prefixed && seg[0] == "datasets") return RouteDocs(env, kDatasets, req, seg);
    if (prefixed && seg[0] == "consumers") return RouteDocs(env, kConsumers, req, seg);
    if (prefixed && seg[0] == "transformations") return RouteDocs(env, kTransformations, req, seg);
    if (prefixed && seg[0] == "change-streams") return RouteDocs(env, kChangeStreams, req, seg);
  }
  // POST /api/v1/change-streams/{name}/pause | resume
  if (prefixed && seg.size() == 3 && seg[0] == "change-streams" &&
      (seg[2] == "pause" || seg[2] == "resume")) {
    if (req.method != "POST") return MethodNotAllowed(req, "POST");
    return AnswerResponse(seg[2] == "pause" ? PauseChangeStream(env, seg[1])
                                            : ResumeChangeStream(env, seg[1]));
  }
  // GET /api/v1/consumers/{name}/lag
  if (prefixed && seg.size() == 3 && seg[0] == "consumers" && seg[2] == "lag") {
    if (req.method != "GET") return MethodNotAllowed(req, "GET");
    return AnswerResponse(ConsumerLag(env, seg[1]));
  }
  // POST /api/v1/consumers/{name}/pause | resume
  if (prefixed && seg.size() == 3 && seg[0] == "consumers" &&
      (seg[2] == "pause" || seg[2] == "resume")) {
    if (req.method != "POST") return MethodNotAllowed(req, "POST");
    return AnswerResponse(SetConsumerPaused(env, seg[1], seg[2] == "pause"));
  }
  // POST /api/v1/transformations/{name}/test (on the tests_ queue: it runs the function)
  if (prefixed && seg.size() == 3 && seg[0] == "transformations" && seg[2] == "test") {
    if (req.method != "POST") return MethodNotAllowed(req, "POST");
    return AnswerResponse(TestTransformation(env, seg[1], req.body));
  }
  if (prefixed && seg.size() == 3 && seg[0] == "transformations" && seg[2] == "logs")
    return RouteTransformationLogs(env, req, seg);
  return ErrorResponse(404, "NotFound",
                       "no such endpoint: " + Abbreviate(req.method, 16) + " " +
                           Abbreviate(req.path) +
                           " (the control API has /api/v1/datasets, /api/v1/consumers, "
                           "/api/v1/transformations, /api/v1/change-streams and "
                           "/api/v1/streams; see "
                           "docs/control-api.md)");
}

std::variant<std::shared_ptr<const iam::Principal>, http::Response> ControlApi::Caller(
    const http::Request& req) const {
  if (!auth_enabled_) return std::shared_ptr<const iam::Principal>();
  auth::VerifyOptions vo;
  vo.service = std::string(kService);
  auto result = directory_->Authenticate(req, vo);
  if (auto* e = std::get_if<auth::AuthError>(&result)) return AuthFailure(*e);
  return std::get<iam::Authenticated>(result).principal;
}

// POST /api/v1/filters/test: a record filter (a consumer's `filter`) run on records the
// caller sends (the console's record browser filters with it); at most 1,000 records, within
// the body limit. Action millrace:TestFilter.
http::Response ControlApi::TestFilter(const http::Request& req) const {
  static constexpr size_t kMaxRecords = 1000;
  if (req.method != "POST") return MethodNotAllowed(req, "POST");
  // A jq expression's work has no bound (`[range(1e10)]`): only a caller allowed to run
  // expressions on the server may, as only one allowed to create consumers can set a filter.
  const std::string base =
      "arn:aws:millrace:" + streams_->options().region + ":" + streams_->options().account_id + ":";
  if (std::optional<http::Response> refused =
          Authenticate(req, "millrace:TestFilter", base + "filter/*"))
    return std::move(*refused);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view expression;
  simdjson::dom::array records;
  if (parser.parse(req.body).get(doc) != simdjson::SUCCESS ||
      doc["filter"].get(expression) != simdjson::SUCCESS ||
      doc["records"].get_array().get(records) != simdjson::SUCCESS)
    return ErrorResponse(400, "ValidationError",
                         "the body must be {\"filter\": a jq expression, \"records\": [the "
                         "records' data, base64]}");
  if (records.size() > kMaxRecords)
    return ErrorResponse(400, "ValidationError",
                         "records: at most " + std::to_string(kMaxRecords) + " per request");
  if (expression.size() > delivery::RecordFilter::kMaxExpressionBytes)
    return ErrorResponse(400, "ValidationError", "filter: at most 4096 bytes");
  auto filter = delivery::RecordFilter::Compile(expression);
  if (!filter.ok())
    return ErrorResponse(400, "ValidationError", "filter: " + filter.status().message());
  http::Response r;
  JsonWriter w(&r.body);
  w.BeginObject();
  w.Key("results");
  w.BeginArray();
  std::string data, error;
  for (simdjson::dom::element record : records) {
    std::string_view b64;
    data.clear();  // Base64Decode appends
    if (record.get(b64) != simdjson::SUCCESS || !Base64Decode(b64, &data))
      return ErrorResponse(400, "ValidationError", "records: each is a record's data in base64");
    bool keep = (*filter)->Keep(data, &error);
    w.BeginObject();
    w.Key("keep");
    w.Bool(keep);
    if (!error.empty()) {
      w.Key("error");
      w.String(Abbreviate(error, 512));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  r.SetHeader("Content-Type", "application/json");
  return r;
}

// Any signed caller may ask about itself (as sts:GetCallerIdentity needs no permission): the
// console greys out what the key may not do. Only the caller's identity policies (and a
// session's policy) are evaluated, not a stream's resource policy, which can only allow
// more; the action itself still decides.
http::Response ControlApi::Permissions(const http::Request& req) const {
  static constexpr size_t kMaxChecks = 100;
  if (req.method != "POST") return MethodNotAllowed(req, "POST");
  auto who = Caller(req);
  if (auto* refused = std::get_if<http::Response>(&who)) return std::move(*refused);
  std::shared_ptr<const iam::Principal> principal =
      std::get<std::shared_ptr<const iam::Principal>>(who);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array checks;
  if (parser.parse(req.body).get(doc) != simdjson::SUCCESS ||
      doc["checks"].get_array().get(checks) != simdjson::SUCCESS)
    return ErrorResponse(400, "ValidationError",
                         "the body must be {\"checks\": [{\"action\": ..., \"resource\": ...}]}");
  if (checks.size() > kMaxChecks)
    return ErrorResponse(400, "ValidationError",
                         "checks: at most " + std::to_string(kMaxChecks) + " per request");
  http::Response r;
  JsonWriter w(&r.body);
  w.BeginObject();
  w.Key("principal");
  w.String(principal ? principal->ref.arn : "anonymous (the server runs with --auth none)");
  w.Key("account");
  w.String(streams_->options().account_id);
  w.Key("region");
  w.String(streams_->options().region);
  w.Key("checks");
  w.BeginArray();
  for (simdjson::dom::element check : checks) {
    std::string_view action, resource;
    if (check["action"].get(action) != simdjson::SUCCESS ||
        check["resource"].get(resource) != simdjson::SUCCESS || action.size() > 128 ||
        resource.size() > 2048)
      return ErrorResponse(400, "ValidationError",
                           "checks: each is {\"action\": \"service:Action\" (at most 128 "
                           "characters), \"resource\": an ARN or \"*\" (at most 2048)}");
    bool allowed = true;
    if (principal) {
      iam::RequestContext rc =
          directory_->NewContext(*principal, req, std::string(action), std::string(resource));
      allowed = directory_->Authorize(*principal, rc, nullptr, streams_->options().account_id) ==
                iam::Decision::kAllow;
    }
    w.BeginObject();
    w.Key("action");
    w.String(action);
    w.Key("resource");
    w.String(resource);
    w.Key("allowed");
    w.Bool(allowed);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  r.SetHeader("Content-Type", "application/json");
  return r;
}

}  // namespace millrace::control
