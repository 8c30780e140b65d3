// /api/v1/transformations: create, list, describe, update, delete, and logs.
//
// A transformation is a catalog document (DocKind::kTransformation) whose spec is
//   {"name", "runtime", "handler", "memory_size_mb", "timeout_seconds", "network",
//    "code": {"file_name", "sha256", "size_bytes"}, "code_dir"}
// and whose code is unpacked by transform::CodeStore into code_dir, one directory per
// version. The uploaded bytes are never returned. See docs/control-api.md.
#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/logging.h"
#include "common/request_id.h"
#include "control/handlers.h"
#include "control/json_util.h"
#include "delivery/spec.h"
#include "transform/code_store.h"
#include "transform/types.h"
#include "transform/worker_pool.h"

namespace millrace::control {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr size_t kDefaultLogLimit = 100;
constexpr size_t kMaxLogLimit = transform::LogStore::kMaxLines;

struct Spec {
  std::string name;
  std::string runtime = "python3";
  std::string handler;
  int64_t memory_size_mb = transform::kDefaultMemoryMb;
  int64_t timeout_seconds = transform::kDefaultTimeoutMs / 1000;
  bool network = false;  // the sandbox gives the function no network unless asked
  std::string file_name, sha256, code_dir;
  int64_t size_bytes = 0;
};

struct Stored {
  catalog::DocRow row;
  Spec spec;
};

// The upload of a create or update body.
struct Upload {
  std::string file_name;
  std::string content;
};

std::string SpecJson(const Spec& s, bool with_code_dir) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("name");
  w.String(s.name);
  w.Key("runtime");
  w.String(s.runtime);
  w.Key("handler");
  w.String(s.handler);
  w.Key("memory_size_mb");
  w.Int(s.memory_size_mb);
  w.Key("timeout_seconds");
  w.Int(s.timeout_seconds);
  w.Key("network");
  w.Bool(s.network);
  w.Key("code");
  w.BeginObject();
  w.Key("file_name");
  w.String(s.file_name);
  w.Key("sha256");
  w.String(s.sha256);
  w.Key("size_bytes");
  w.Int(s.size_bytes);
  w.EndObject();
  if (with_code_dir) {
    w.Key("code_dir");
    w.String(s.code_dir);
  }
  w.EndObject();
  return out;
}

Result<element> ParseBody(simdjson::dom::parser& parser, std::string_view json) {
  MILLRACE_RETURN_IF_ERROR(CheckObject(json));
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body is not valid JSON");
  return doc;
}

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument(field + ": " + why);
}

Status GetString(element v, const std::string& field, std::string* out) {
  std::string_view s;
  if (v.get(s) != simdjson::SUCCESS) return Bad(field, "must be a string");
  *out = std::string(s);
  return Status::Ok();
}

Status GetInt(element v, const std::string& field, int64_t lo, int64_t hi, int64_t* out) {
  int64_t i = 0;
  if (v.get(i) != simdjson::SUCCESS) return Bad(field, "must be a whole number");
  if (i < lo || i > hi)
    return Bad(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                          ", not " + std::to_string(i));
  *out = i;
  return Status::Ok();
}

// A stored spec (trusted, but checked: a damaged one is reported, not run).
Result<Spec> ParseStored(std::string_view json) {
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS)
    return Status::InvalidArgument("not valid JSON");
  Spec s;
  std::string_view sv;
  int64_t i = 0;
  auto str = [&](const char* path, std::string* out) -> Status {
    if (doc.at_pointer(path).get(sv) != simdjson::SUCCESS) return Bad(path, "missing");
    *out = std::string(sv);
    return Status::Ok();
  };
  auto num = [&](const char* path, int64_t* out) -> Status {
    if (doc.at_pointer(path).get(i) != simdjson::SUCCESS) return Bad(path, "missing");
    *out = i;
    return Status::Ok();
  };
  MILLRACE_RETURN_IF_ERROR(str("/name", &s.name));
  MILLRACE_RETURN_IF_ERROR(str("/runtime", &s.runtime));
  MILLRACE_RETURN_IF_ERROR(str("/handler", &s.handler));
  MILLRACE_RETURN_IF_ERROR(num("/memory_size_mb", &s.memory_size_mb));
  MILLRACE_RETURN_IF_ERROR(num("/timeout_seconds", &s.timeout_seconds));
  bool network = false;
  if (doc.at_pointer("/network").get(network) == simdjson::SUCCESS) s.network = network;
  MILLRACE_RETURN_IF_ERROR(str("/code/file_name", &s.file_name));
  MILLRACE_RETURN_IF_ERROR(str("/code/sha256", &s.sha256));
  MILLRACE_RETURN_IF_ERROR(num("/code/size_bytes", &s.size_bytes));
  MILLRACE_RETURN_IF_ERROR(str("/code_dir", &s.code_dir));
  return s;
}

// Applies a create or update body over `s`; the code, if given, goes to `upload`.
Status ApplyBody(std::string_view body, Spec* s, std::optional<Upload>* upload) {
  simdjson::dom::parser parser;
  auto doc = ParseBody(parser, body);
  if (!doc.ok()) return doc.status();
  simdjson::dom::object obj;
  if (doc->get(obj) != simdjson::SUCCESS)
    return Status::InvalidArgument("the body must be a JSON object");
  for (auto [key, v] : obj) {
    const std::string k(key);
    if (v.type() == element_type::NULL_VALUE && k != "code") continue;  // as if absent
    if (k == "name") {
      MILLRACE_RETURN_IF_ERROR(GetString(v, k, &s->name));
    } else if (k == "runtime") {
      MILLRACE_RETURN_IF_ERROR(GetString(v, k, &s->runtime));
    } else if (k == "handler") {
      MILLRACE_RETURN_IF_ERROR(GetString(v, k, &s->handler));
    } else if (k == "memory_size_mb") {
      MILLRACE_RETURN_IF_ERROR(
          GetInt(v, k, transform::kMinMemoryMb, transform::kMaxMemoryMb, &s->memory_size_mb));
    } else if (k == "timeout_seconds") {
      MILLRACE_RETURN_IF_ERROR(
          GetInt(v, k, 1, transform::kMaxTimeoutMs / 1000, &s->timeout_seconds));
    } else if (k == "network") {
      if (v.get(s->network) != simdjson::SUCCESS) return Bad("network", "must be true or false");
    } else if (k == "code") {
      if (v.type() == element_type::NULL_VALUE) continue;
      if (v.type() != element_type::OBJECT)
        return Bad("code", "must be an object {\"file_name\", \"content_base64\"}");
      for (auto [member, unused] : simdjson::dom::object(v))
        if (member != "file_name" && member != "content_base64" && member != "sha256" &&
            member != "size_bytes")  // the last two: what describe shows
          return Bad("code." + std::string(member.substr(0, 64)),
                     "unknown field (the fields are file_name, content_base64)");
      Upload u;
      element f, c;
      if (v["file_name"].get(f) != simdjson::SUCCESS) return Bad("code.file_name", "is required");
      MILLRACE_RETURN_IF_ERROR(GetString(f, "code.file_name", &u.file_name));
      if (v["content_base64"].get(c) != simdjson::SUCCESS)
        return Bad("code.content_base64", "is required");
      std::string b64;
      MILLRACE_RETURN_IF_ERROR(GetString(c, "code.content_base64", &b64));
      if (!Base64Decode(b64, &u.content))
        return Bad("code.content_base64", "is not valid (padded, standard) base64");
      if (u.content.empty()) return Bad("code.content_base64", "the code is empty");
      *upload = std::move(u);
    } else if (k == "code_dir" || k == "version" || k == "created_at" || k == "updated_at" ||
               k == "consumers") {
      // What describe shows; sent back by a client that round-trips an answer.
    } else {
      return Bad(k.substr(0, 64),
                 "unknown field (the fields are name, runtime, handler, code, memory_size_mb, "
                 "timeout_seconds, network)");
    }
  }
  return Status::Ok();
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// The file the python3 handler "pkg.mod.fn" imports ("pkg/mod.py"), or "" if malformed.
std::string ModuleFile(const std::string& handler) {
  size_t dot = handler.rfind('.');
  if (dot == std::string::npos || dot == 0 || !IsIdentifier(handler.substr(dot + 1))) return "";
  std::string module = handler.substr(0, dot), file;
  size_t start = 0;
  for (;;) {
    size_t d = module.find('.', start);
    std::string part = module.substr(start, d == std::string::npos ? std::string::npos : d - start);
    if (!IsIdentifier(part)) return "";
    file += (file.empty() ? "" : "/") + part;
    if (d == std::string::npos) break;
    start = d + 1;
  }
  return file + ".py";
}

// Checks what does not need the code: name, runtime, handler's shape.
Status CheckSpec(const Spec& s) {
  MILLRACE_RETURN_IF_ERROR(delivery::CheckName("name", s.name));
  transform::Runtime rt;
  if (!transform::ParseRuntime(s.runtime, &rt))
    return Bad("runtime", "must be python3 or exec, not '" + s.runtime + "'");
  if (s.handler.empty()) return Bad("handler", "is required");
  if (rt == transform::Runtime::kPython3 && ModuleFile(s.handler).empty())
    return Bad("handler",
               "for python3 must be module.function (e.g. main.handler), not '" + s.handler + "'");
  if (rt == transform::Runtime::kExec) {
    if (s.handler[0] == '/' || s.handler.find("..") != std::string::npos || s.handler.back() == '/')
      return Bad("handler",
                 "for exec must be the executable's path inside the code (e.g. "
                 "bin/transform), not '" +
                     s.handler + "'");
  }
  return Status::Ok();
}

// Checks the handler against the unpacked code in `dir`; for exec, makes it executable.
Status CheckCode(const Spec& s, const std::string& dir) {
  const bool python = s.runtime == "python3";
  const std::string rel = python ? ModuleFile(s.handler) : s.handler;
  const std::string path = dir + "/" + rel;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    if (python)
      return Bad("handler", "the module file " + rel + " of handler " + s.handler +
                                " is not in the code (" + s.file_name + ")");
    return Bad("handler",
               "the executable " + rel + " is not a file in the code (" + s.file_name + ")");
  }
  if (!python && ::chmod(path.c_str(), 0700) != 0) return Status::FromErrno(errno, "chmod " + path);
  if (!python) return Status::Ok();
  // Load the code once, as a worker would (in the sandbox), so that a handler that is not
  // there is refused now rather than failing every record later. Lambda gives its init
  // phase 10 s; heavy imports get up to 30 s (the function's timeout, if longer).
  transform::FunctionSpec f;
  f.name = s.name;
  f.runtime = transform::Runtime::kPython3;
  f.handler = s.handler;
  f.code_dir = dir;
  f.memory_mb = static_cast<int>(s.memory_size_mb);
  f.timeout_ms = s.timeout_seconds * 1000;
  f.network = s.network;
  Status loaded = transform::CheckFunction(f, std::clamp<int64_t>(f.timeout_ms, 10000, 30000));
  if (loaded.code() == Code::kInvalidArgument)
    return Bad("handler",
               s.handler + " cannot be loaded from " + s.file_name + ": " + loaded.message());
  return loaded;
}

// Unpacks `u` as version `version` of `s` and fills in its code members.
Status InstallCode(const Env& env, Spec* s, const Upload& u, int64_t version) {
  s->file_name = u.file_name;
  auto dir = transform::CodeStore::Install(env.data_dir, s->name, version, u.file_name, u.content,
                                           [s](const std::string& d) { return CheckCode(*s, d); });
  if (!dir.ok()) return dir.status();
  s->code_dir = *dir;
  s->sha256 = crypto::Sha256Hex(u.content);
  s->size_bytes = static_cast<int64_t>(u.content.size());
  return Status::Ok();
}

Status NoTransformation(const std::string& name) {
  return Status::NotFound("transformation " + name + " does not exist");
}

Result<std::optional<Stored>> Find(const Env& env, const std::string& name) {
  auto row = env.catalog->GetDoc(catalog::DocKind::kTransformation, name);
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Stored>();
  auto spec = ParseStored((*row)->spec);
  if (!spec.ok())
    return Status::Corruption("the stored transformation " + name +
                              " does not parse: " + spec.status().message());
  return std::optional<Stored>(Stored{std::move(**row), std::move(*spec)});
}

// The consumers (stored documents, as they are) whose "transformation" is `name`.
Result<std::vector<catalog::DocRow>> Users(const Env& env, const std::string& name) {
  auto rows = env.catalog->ListDocs(catalog::DocKind::kConsumer);
  if (!rows.ok()) return rows.status();
  std::vector<catalog::DocRow> out;
  simdjson::dom::parser parser;
  for (auto& row : *rows) {
    element doc;
    std::string_view t;
    if (parser.parse(row.spec).get(doc) == simdjson::SUCCESS &&
        doc["transformation"].get(t) == simdjson::SUCCESS && t == name)
      out.push_back(std::move(row));
  }
  return out;
}

std::string Names(const std::vector<catalog::DocRow>& rows) {
  std::string list;
  for (const auto& r : rows) list += (list.empty() ? "" : ", ") + r.name;
  return list;
}

std::string Object(const Stored& t, const std::vector<catalog::DocRow>& users) {
  std::string out = SpecJson(t.spec, /*with_code_dir=*/true);
  AddMembers(&out, [&](JsonWriter& w) {
    w.Key("version");
    w.Int(t.row.version);
    w.Key("created_at");
    w.String(IsoTime(t.row.created_ms));
    w.Key("updated_at");
    w.String(IsoTime(t.row.updated_ms));
    w.Key("consumers");
    w.BeginArray();
    for (const auto& u : users) w.String(u.name);
    w.EndArray();
  });
  return out;
}

Outcome TransformationAnswer(const Env& env, const std::string& name, int http_status) {
  auto t = Find(env, name);
  if (!t.ok()) return t.status();
  if (!*t) return NoTransformation(name);
  auto users = Users(env, name);
  if (!users.ok()) return users.status();
  return Answer{http_status, Object(**t, *users)};
}

}  // namespace

Outcome ListTransformations(const Env& env) {
  auto rows = env.catalog->ListDocs(catalog::DocKind::kTransformation);
  if (!rows.ok()) return rows.status();
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("transformations");
  w.BeginArray();
  for (const auto& row : *rows) {
    auto t = Find(env, row.name);
    if (!t.ok()) return t.status();
    if (!*t) continue;
    auto users = Users(env, row.name);
    if (!users.ok()) return users.status();
    w.Raw(Object(**t, *users));
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Outcome CreateTransformation(const Env& env, std::string_view body) {
  Spec spec;
  std::optional<Upload> upload;
  MILLRACE_RETURN_IF_ERROR(ApplyBody(body, &spec, &upload));
  MILLRACE_RETURN_IF_ERROR(CheckSpec(spec));
  if (!upload) return Bad("code", "is required: {\"file_name\", \"content_base64\"}");
  auto existing = Find(env, spec.name);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::AlreadyExists("transformation " + spec.name + " exists already");
  auto all = env.catalog->ListDocs(catalog::DocKind::kTransformation);
  if (!all.ok()) return all.status();
  if (all->size() >= kMaxTransformations)
    return Status::InvalidArgument("limit exceeded: at most " +
                                   std::to_string(kMaxTransformations) +
                                   " transformations; delete one first");

  MILLRACE_RETURN_IF_ERROR(InstallCode(env, &spec, *upload, /*version=*/1));
  catalog::DocRow row;
  row.name = spec.name;
  row.spec = SpecJson(spec, /*with_code_dir=*/true);
  row.version = 1;
  row.created_ms = row.updated_ms = env.clock->NowMillis();
  Status st = env.catalog->CreateDoc(catalog::DocKind::kTransformation, row);
  if (!st.ok()) {
    Status rm = transform::CodeStore::Remove(env.data_dir, spec.name);
    if (!rm.ok()) LOG(kWarn) << "control: " << rm.ToString();
    return st;
  }
  return TransformationAnswer(env, spec.name, 201);
}

Outcome DescribeTransformation(const Env& env, const std::string& name) {
  return TransformationAnswer(env, name, 200);
}

// Members not in the body stay as stored; without "code" the stored code stays too (its
// directory is kept, the handler is checked against it). Every update is a new version,
// and so is every consumer using the transformation, which makes delivery restart them.
Outcome UpdateTransformation(const Env& env, const std::string& name, std::string_view body) {
  auto existing = Find(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoTransformation(name);
  auto named = BodyWithName(body, name);
  if (!named.ok()) return named.status();
  Spec spec = (*existing)->spec;
  std::optional<Upload> upload;
  MILLRACE_RETURN_IF_ERROR(ApplyBody(*named, &spec, &upload));
  MILLRACE_RETURN_IF_ERROR(CheckSpec(spec));
  auto users = Users(env, name);
  if (!users.ok()) return users.status();

  const int64_t version = (*existing)->row.version + 1;
  if (upload) {
    MILLRACE_RETURN_IF_ERROR(InstallCode(env, &spec, *upload, version));
  } else {
    MILLRACE_RETURN_IF_ERROR(CheckCode(spec, spec.code_dir));
  }
  const int64_t now = env.clock->NowMillis();
  Status st = env.catalog->UpdateDoc(catalog::DocKind::kTransformation, name, SpecJson(spec, true),
                                     now, nullptr);
  if (!st.ok()) {
    if (upload) (void)transform::CodeStore::RemoveVersion(env.data_dir, name, version);
    return st;
  }
  // Earlier versions' directories stay: a consumer still running one until Reload
  // restarts it may be reading it.
  for (const auto& c : *users)
    MILLRACE_RETURN_IF_ERROR(
        env.catalog->UpdateDoc(catalog::DocKind::kConsumer, c.name, c.spec, now, nullptr));
  ReloadDelivery(env);
  return TransformationAnswer(env, name, 200);
}

Outcome DeleteTransformation(const Env& env, const std::string& name) {
  auto existing = Find(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing) return NoTransformation(name);
  auto users = Users(env, name);
  if (!users.ok()) return users.status();
  if (!users->empty())
    return Status::FailedPrecondition("transformation " + name + " is used by consumer" +
                                      (users->size() > 1 ? "s " : " ") + Names(*users) +
                                      "; delete them or remove their \"transformation\" first");
  MILLRACE_RETURN_IF_ERROR(env.catalog->DeleteDoc(catalog::DocKind::kTransformation, name));
  Status rm = transform::CodeStore::Remove(env.data_dir, name);
  if (!rm.ok()) LOG(kWarn) << "control: removing the code of " << name << ": " << rm.ToString();
  if (env.logs) env.logs->Drop(name);
  return DeletedAnswer(name);
}

Outcome TransformationLogs(const Env& env, const std::string& name,
                           const std::optional<std::string>& since,
                           const std::optional<std::string>& limit) {
  auto parse = [](const std::optional<std::string>& v, const char* field, int64_t lo, int64_t hi,
                  int64_t dflt) -> Result<int64_t> {
    if (!v) return dflt;
    int64_t n = 0;
    bool ok =
        !v->empty() && v->size() <= 18 && v->find_first_not_of("0123456789") == std::string::npos;
    if (ok) n = std::stoll(*v);
    if (!ok || n < lo || n > hi)
      return Bad(field, "must be a whole number from " + std::to_string(lo) + " to " +
                            std::to_string(hi) + ", not '" + *v + "'");
    return n;
  };
  auto since_ms = parse(since, "since", 0, INT64_MAX / 2, 0);
  if (!since_ms.ok()) return since_ms.status();
  auto n = parse(limit, "limit", 1, kMaxLogLimit, kDefaultLogLimit);
  if (!n.ok()) return n.status();
  auto t = Find(env, name);
  if (!t.ok()) return t.status();
  if (!*t) return NoTransformation(name);

  std::vector<transform::StoredLogLine> lines;
  if (env.logs) lines = env.logs->Read(name, *since_ms, static_cast<size_t>(*n));
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("lines");
  w.BeginArray();
  for (const auto& l : lines) {
    w.BeginObject();
    w.Key("time");
    w.String(IsoTime(l.time_ms));
    w.Key("time_ms");
    w.Int(l.time_ms);
    w.Key("invocation_id");
    w.String(l.line.invocation_id);
    w.Key("request_id");
    w.String(l.line.request_id);
    w.Key("level");
    w.String(l.line.error ? "error" : "output");
    w.Key("text");
    w.String(l.line.text);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Answer{200, std::move(body)};
}

Status CheckConsumerTransformation(const Env& env, std::string_view consumer_body) {
  simdjson::dom::parser parser;
  element doc;
  std::string_view t, consumer;
  if (parser.parse(consumer_body.data(), consumer_body.size()).get(doc) != simdjson::SUCCESS ||
      doc["transformation"].get(t) != simdjson::SUCCESS || t.empty())
    return Status::Ok();  // none, or malformed: ParseConsumer says what is wrong
  if (doc["name"].get(consumer) != simdjson::SUCCESS) consumer = "";
  const std::string name(t);
  auto existing = Find(env, name);
  if (!existing.ok()) return existing.status();
  if (!*existing)
    return Status::NotFound("transformation " + name +
                            " does not exist (create it first: POST /api/v1/transformations)");
  auto users = Users(env, name);
  if (!users.ok()) return users.status();
  std::vector<catalog::DocRow> others;
  for (auto& u : *users)
    if (u.name != consumer) others.push_back(std::move(u));
  if (others.size() >= kMaxConsumersPerTransformation)
    return Status::InvalidArgument(
        "transformation: at most " + std::to_string(kMaxConsumersPerTransformation) +
        " consumers per transformation; " + name + " is used by " + Names(others));
  return Status::Ok();
}

Outcome TestTransformation(const Env& env, const std::string& name, std::string_view body) {
  constexpr size_t kMaxRecords = 500;
  constexpr size_t kMaxDataBytes = 6u << 20;
  auto row = env.catalog->GetDoc(catalog::DocKind::kTransformation, name);
  if (!row.ok()) return row.status();
  if (!*row) return NoTransformation(name);
  auto function = delivery::FunctionOf(name, (*row)->spec, (*row)->version);
  if (!function.ok()) return function.status();

  simdjson::dom::parser parser;
  element doc;
  simdjson::dom::array records;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      doc["records"].get_array().get(records) != simdjson::SUCCESS || records.size() == 0)
    return Status::InvalidArgument(
        "the body must be {\"records\": [{\"data\": base64, \"partition_key\": ...}, ...]} "
        "with at least one record");
  if (records.size() > kMaxRecords)
    return Status::InvalidArgument("records: at most " + std::to_string(kMaxRecords) + " per test");
  const int64_t now = env.clock->NowMillis();
  std::vector<transform::InputRecord> in;
  size_t total = 0;
  for (element r : records) {
    transform::InputRecord rec;
    std::string_view data, key = "test";
    if (r["data"].get(data) != simdjson::SUCCESS || !Base64Decode(data, &rec.data))
      return Status::InvalidArgument("records[" + std::to_string(in.size()) +
                                     "].data: must be the record's bytes in base64");
    if (r["partition_key"].error() == simdjson::SUCCESS &&
        r["partition_key"].get(key) != simdjson::SUCCESS)
      return Status::InvalidArgument("records[" + std::to_string(in.size()) +
                                     "].partition_key: must be a string");
    total += rec.data.size();
    if (total > kMaxDataBytes)
      return Status::InvalidArgument("records: at most 6 MiB of data per test (Lambda's payload)");
    rec.record_id = "test-" + std::to_string(in.size() + 1);
    rec.partition_key = std::string(key);
    rec.shard_id = "shardId-000000000000";
    rec.sequence_number = std::to_string(in.size() + 1);
    rec.approximate_arrival_ms = now;
    in.push_back(std::move(rec));
  }

  transform::LogSink sink = env.logs ? env.logs->SinkFor(name) : nullptr;
  transform::WorkerPool pool(*function, 1, sink);
  transform::InvokeContext ctx;
  ctx.invocation_id = NewRequestId();
  ctx.region = env.streams->options().region;
  ctx.delivery_stream_arn = "arn:aws:firehose:" + ctx.region + ":" +
                            env.streams->options().account_id + ":deliverystream/test";
  transform::InvokeResult result = pool.Invoke(in, ctx);

  Answer a;
  JsonWriter w(&a.body);
  w.BeginObject();
  w.Key("invocation_id");
  w.String(ctx.invocation_id);
  w.Key("duration_ms");
  w.Int(result.duration_ms);
  if (result.ok()) {
    w.Key("records");
    w.BeginArray();
    for (const transform::OutputRecord& out : result.records) {
      w.BeginObject();
      w.Key("record_id");
      w.String(out.record_id);
      w.Key("result");
      w.String(transform::RecordResultName(out.result));
      w.Key("data");
      w.String(Base64Encode(out.data));
      if (out.metadata) {
        w.Key("metadata");
        w.Raw(*out.metadata);
      }
      w.EndObject();
    }
    w.EndArray();
  } else {
    w.Key("error");
    w.BeginObject();
    w.Key("code");
    w.String(result.error->code);
    w.Key("message");
    w.String(result.error->message);
    w.Key("stack_trace");
    w.BeginArray();
    for (const std::string& line : result.error->stack_trace) w.String(line);
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
  return a;
}

}  // namespace millrace::control
