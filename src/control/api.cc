#include "control/api.h"

#include <map>
#include <string_view>
#include <vector>

#include "auth/sigv4.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "common/logging.h"
#include "control/handlers.h"

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
  return ErrorResponse(
      400, "ValidationError",
      "request_type: must be get_datasets (or left out), not '" + *request_type + "'");
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
      logs_(logs) {
  queue_ = std::make_unique<http::WorkQueue>(
      /*workers=*/1, kMaxQueued, [this](const http::Request& req) { return Serve(req); },
      [](bool stopping) {
        return ErrorResponse(
            503, "ServiceUnavailable",
            stopping ? "the server is stopping" : "too many control requests waiting; retry later");
      });
}

ControlApi::~ControlApi() { queue_.reset(); }

bool ControlApi::Handles(const http::Request& req) const {
  std::string_view p = req.path;
  return p == kPrefix || StartsWith(p, std::string(kPrefix) + "/") || p == "/streams" ||
         StartsWith(p, "/streams/");
}

void ControlApi::Handle(http::Request&& request, http::Responder responder) {
  queue_->Submit(std::move(request), std::move(responder));
}

Env ControlApi::MakeEnv() const {
  return Env{catalog_,          streams_, delivery_,
             streams_->clock(), logs_,    streams_->options().data_dir,
             change_streams_};
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
// streams), millrace:PauseChangeStream, millrace:ResumeChangeStream,
// millrace:GetTransformationLogs; on arn:aws:millrace:<region>:<account>:<kind>/<name>.
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
    if (seg[2] == "pause") return {"millrace:PauseChangeStream", resource};
    if (seg[2] == "resume") return {"millrace:ResumeChangeStream", resource};
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

}  // namespace millrace::control
