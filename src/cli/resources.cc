#include "cli/resources.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "cli/http_client.h"
#include "cli/watch.h"
#include "common/encoding.h"
#include "common/json_writer.h"
#include "control/json_util.h"

namespace millrace::cli {
namespace {

constexpr const char* kConnectionHelp = R"(
Connection (any command):
  --endpoint URL         the server; default $MILLRACE_ENDPOINT, else http://127.0.0.1:4580
  --credentials FILE     an AWS shared-credentials file; default $AWS_SHARED_CREDENTIALS_FILE,
                         else ./data/credentials (or $MILLRACE_DATA_DIR/credentials), else the
                         keys in $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY; with none,
                         requests go unsigned (for a server run with --auth none)
  --profile NAME         the profile to read from that file (default: default)
  --signing-region R     the SigV4 region (default us-east-1); --region also sets it, except
                         in `create` and `update` of datasets and consumers, where --region is
                         the S3 target's region
The key must be an admin key. The JSON answer goes to stdout; on an error, the message goes
to stderr and the exit status is 1.
)";

constexpr const char* kDatasetsHelp = R"(Usage:
  millrace datasets create NAME --file-type jsonl|other [--compression gzip|zstd|snappy]
                                [--target local]
  millrace datasets create NAME --file-type jsonl --target s3 --endpoint-url URL
                                [--region R] --bucket B [--prefix P]
                                --access-key-id K --secret-access-key S
  millrace datasets create NAME --file-type csv|parquet [--schema JSON|@FILE]
                                [--compression ...] [--csv-header true|false]
                                [--csv-delimiter C]
                                (no --schema: the columns are inferred from the first
                                records; see docs/typed-datasets.md)
  millrace datasets pin-schema NAME   (an inferred schema stops widening)
  millrace datasets list
  millrace datasets describe NAME
  millrace datasets update NAME [any create flag]...   (only what changes; --compression none
                                                        removes compression)
  millrace datasets delete NAME    (refused while a consumer delivers to it; files stay)

A dataset is where a consumer writes its files: a local directory under the server's data
directory, or an S3-compatible bucket. Instead of the flags (or under them, which win),
--json BODY sends a raw JSON body; BODY may be @FILE or - (stdin). For example:
  millrace datasets create --json '{"name": "orders", "file_type": "jsonl"}'
)";

constexpr const char* kConsumersHelp = R"(Usage:
  millrace consumers create NAME --stream S --dataset D [--buffer-size-mib 1-128]
                                 [--buffer-interval-seconds 0-900]
                                 [--starting-position TRIM_HORIZON|LATEST]
                                 [--transformation T] [--transformation-buffer-mib 1-6]
                                 [--transformation-workers 1-16] [--filter JQ]
  millrace consumers list
  millrace consumers describe NAME     (with its state, counts and lag per shard)
  millrace consumers update NAME [any create flag]...   (only what changes)
  millrace consumers delete NAME       (stops it and forgets its checkpoints)

A consumer reads a stream and delivers its records into a dataset, in files written every
--buffer-size-mib MiB or --buffer-interval-seconds seconds, whichever comes first. The
dataset must exist, unless dataset flags (--file-type, --compression, --target, ...; see
`millrace datasets --help`) are given too: then dataset D is created with the consumer:
  millrace consumers create orders-to-disk --stream orders --dataset orders --file-type jsonl
--transformation T runs transformation T (`millrace transformations --help`) on the records
before they are written, at most --transformation-buffer-mib MiB of records per invocation,
--transformation-workers invocations at once. `update --transformation ''` removes it.
--filter JQ delivers only the records for which the jq expression JQ is true, e.g.
  --filter '.dynamodb.NewImage.tenant == "ACME"'   (`update --filter ''` removes it)
--json BODY sends a raw JSON body instead (BODY may be @FILE or -); flags given with it win.
)";

constexpr const char* kTransformationsHelp = R"(Usage:
  millrace transformations create NAME --runtime python3|exec --handler HANDLER --code FILE
                                       [--memory-size-mb 128-10240] [--timeout-seconds 1-300]
  millrace transformations list
  millrace transformations describe NAME
  millrace transformations update NAME [any create flag]...   (only what changes; a new
                                                              version, also of its consumers)
  millrace transformations delete NAME    (refused while a consumer uses it)
  millrace transformations logs NAME [--since UNIX_MS] [--limit 1-10000] [--follow]

A transformation is a function that consumers run on their records before writing them
(docs/transform-protocol.md). --code is a .py file or a .zip of the code. For python3,
HANDLER is module.function and module.py must be in the code (the .py file itself, or at
the top of the zip); for exec, HANDLER is the executable's path inside the zip. `logs`
prints the lines the function printed lately, and each failed invocation's error with its
traceback ("level": "error"), as JSON (kept in memory by the server). --follow prints them
as text, one per line with its time and request id, and then the new ones as they come,
until interrupted.
--json BODY sends a raw JSON body instead (BODY may be @FILE or -); flags given with it win.
)";

constexpr const char* kChangeStreamsHelp = R"(Usage:
  millrace change-streams create NAME --dsn DSN --tables T1,T2 [--stream S]
                                      [--image-format plain|dynamodb]
                                      [--snapshot initial|never]
                                      [--publication P] [--slot SLOT]
  millrace change-streams list
  millrace change-streams describe NAME [--watch]
  millrace change-streams update NAME [--dsn DSN] [--tables T1,T2,...] [--image-format F]
  millrace change-streams pause NAME | resume NAME
  millrace change-streams delete NAME     (drops its replication slot and publication)

A change stream captures every change to PostgreSQL tables (logical replication) into a
Millrace stream, one change record per row change (docs/change-streams.md). --dsn is a libpq
connection string ("host=db port=5432 dbname=shop user=cdc password=..."); the role needs
the REPLICATION attribute and to own the tables (or give --publication). --tables lists
schema.table names (public. when left out). --stream (default NAME) is created if missing.
--snapshot initial (the default) first writes every existing row, then the changes.
--watch redraws the state, lag and the snapshot's progress every second, until it is done.
--json BODY sends a raw JSON body instead (BODY may be @FILE or -); flags given with it win.
)";

constexpr const char* kStreamsHelp = R"(Usage:
  millrace streams list              the streams, with status, mode, shards and retention
  millrace streams describe NAME     one stream with its shards and consumers
  millrace streams datasets NAME     the datasets that the stream's consumers deliver to

Streams are created and changed with the Kinesis API (aws kinesis create-stream ...); these
commands only show them.
)";

// A JSON value under construction: either raw JSON or an object of members (in order).
struct Node {
  std::string raw;
  std::vector<std::pair<std::string, Node>> members;

  Node& At(const std::string& key) {
    for (auto& [k, v] : members)
      if (k == key) return v;
    members.emplace_back(key, Node{});
    return members.back().second;
  }
  // Sets the value at a dotted path ("target.bucket").
  void Set(const std::string& path, std::string value_json) {
    size_t dot = path.find('.');
    if (dot == std::string::npos) {
      Node& n = At(path);
      n.members.clear();
      n.raw = std::move(value_json);
      return;
    }
    Node& n = At(path.substr(0, dot));
    n.raw.clear();
    n.Set(path.substr(dot + 1), std::move(value_json));
  }
  void Write(JsonWriter& w) const {
    if (!raw.empty()) return w.Raw(raw);
    w.BeginObject();
    for (const auto& [k, v] : members) {
      w.Key(k);
      v.Write(w);
    }
    w.EndObject();
  }
  std::string Json() const {
    std::string out;
    JsonWriter w(&out);
    Write(w);
    return out;
  }
};

enum class Kind { kString, kNumber, kCompression, kCode, kJson, kBool, kList };

struct FieldFlag {
  const char* flag;
  const char* path;  // in a dataset body
  Kind kind;
};

constexpr FieldFlag kDatasetFlags[] = {
    {"--file-type", "file_type", Kind::kString},
    {"--compression", "compression", Kind::kCompression},
    {"--target", "target.type", Kind::kString},
    {"--endpoint-url", "target.endpoint_url", Kind::kString},
    {"--region", "target.region", Kind::kString},
    {"--bucket", "target.bucket", Kind::kString},
    {"--prefix", "target.prefix", Kind::kString},
    {"--access-key-id", "target.access_key_id", Kind::kString},
    {"--secret-access-key", "target.secret_access_key", Kind::kString},
    {"--schema", "schema", Kind::kJson},
    {"--csv-header", "csv.header", Kind::kBool},
    {"--csv-delimiter", "csv.delimiter", Kind::kString},
};

constexpr FieldFlag kConsumerFlags[] = {
    {"--stream", "stream", Kind::kString},
    {"--dataset", "dataset", Kind::kString},
    {"--buffer-size-mib", "buffer_size_mib", Kind::kNumber},
    {"--buffer-interval-seconds", "buffer_interval_seconds", Kind::kNumber},
    {"--transformation-buffer-mib", "transformation_buffer_mib", Kind::kNumber},
    {"--transformation-workers", "transformation_workers", Kind::kNumber},
    {"--starting-position", "starting_position", Kind::kString},
    {"--transformation", "transformation", Kind::kString},
    {"--filter", "filter", Kind::kString},
};

constexpr FieldFlag kChangeStreamFlags[] = {
    {"--dsn", "source.dsn", Kind::kString},
    {"--tables", "source.tables", Kind::kList},
    {"--publication", "source.publication", Kind::kString},
    {"--slot", "source.slot", Kind::kString},
    {"--stream", "stream", Kind::kString},
    {"--image-format", "image_format", Kind::kString},
    {"--snapshot", "snapshot", Kind::kString},
};

constexpr FieldFlag kTransformationFlags[] = {
    {"--runtime", "runtime", Kind::kString},
    {"--handler", "handler", Kind::kString},
    {"--code", "code", Kind::kCode},
    {"--memory-size-mb", "memory_size_mb", Kind::kNumber},
    {"--timeout-seconds", "timeout_seconds", Kind::kNumber},
};

std::string Quoted(const std::string& s) {
  std::string out;
  JsonWriter::Quote(s, &out);
  return out;
}

// A flag's value as JSON: numbers that look like whole numbers go as numbers (anything
// else as a string, which the server refuses with a message naming the field).
std::string ValueJson(Kind kind, const std::string& v) {
  if (kind == Kind::kCompression && (v == "none" || v.empty())) return "null";
  if (kind == Kind::kBool && (v == "true" || v == "false")) return v;
  if (kind == Kind::kList) {  // "a,b" -> ["a","b"]
    std::string out = "[";
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string item =
          v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out += (out.size() > 1 ? "," : "") + Quoted(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return out + "]";
  }
  if (kind == Kind::kNumber && !v.empty() &&
      v.find_first_not_of("0123456789", v[0] == '-' ? 1 : 0) == std::string::npos && v != "-")
    return v;
  return Quoted(v);
}

const FieldFlag* FindFlag(const FieldFlag* begin, const FieldFlag* end, const std::string& flag) {
  for (const FieldFlag* f = begin; f != end; ++f)
    if (flag == f->flag) return f;
  return nullptr;
}

struct Invocation {
  std::string resource, sub;
  std::vector<std::string> positional;
  std::string endpoint, credentials_file, profile = "default", signing_region;
  std::optional<std::string> region;  // --region, decided once the subcommand is known
  std::optional<std::string> json;
  std::vector<std::pair<const FieldFlag*, std::string>> dataset_fields, consumer_fields;
  std::optional<std::string> since, limit;  // transformations logs
  bool follow = false;                      // transformations logs --follow
  bool watch = false;                       // change-streams describe --watch
  bool help = false;
};

// Parses the arguments; a usage error is InvalidArgument with its message.
Result<Invocation> Parse(const std::string& resource, const std::vector<std::string>& args) {
  Invocation inv;
  inv.resource = resource;
  const char* env_endpoint = std::getenv("MILLRACE_ENDPOINT");
  inv.endpoint = env_endpoint && *env_endpoint ? env_endpoint : "http://127.0.0.1:4580";
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::optional<std::string> inline_value;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      inline_value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Status::InvalidArgument(a + " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h" || (a == "help" && inv.sub.empty())) {
      inv.help = true;
      continue;
    }
    if (resource == "transformations" && (a == "--follow" || a == "-f")) {
      inv.follow = true;
      continue;
    }
    if (resource == "change-streams" && (a == "--watch" || a == "-w")) {
      inv.watch = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      if (inv.sub.empty())
        inv.sub = a;
      else
        inv.positional.push_back(a);
      continue;
    }
    auto v = value();
    if (!v.ok()) return v.status();
    if (a == "--endpoint") {
      inv.endpoint = *v;
    } else if (a == "--credentials") {
      inv.credentials_file = *v;
    } else if (a == "--profile") {
      inv.profile = *v;
    } else if (a == "--signing-region") {
      inv.signing_region = *v;
    } else if (a == "--region") {
      inv.region = *v;
    } else if (a == "--json") {
      inv.json = *v;
    } else if (resource == "transformations" && a == "--since") {
      inv.since = *v;
    } else if (resource == "transformations" && a == "--limit") {
      inv.limit = *v;
    } else if (const FieldFlag* t = resource == "transformations"
                                        ? FindFlag(std::begin(kTransformationFlags),
                                                   std::end(kTransformationFlags), a)
                                        : nullptr) {
      inv.consumer_fields.emplace_back(t, *v);
    } else if (const FieldFlag* c =
                   resource == "change-streams"
                       ? FindFlag(std::begin(kChangeStreamFlags), std::end(kChangeStreamFlags), a)
                       : nullptr) {
      inv.consumer_fields.emplace_back(c, *v);
    } else if (const FieldFlag* f =
                   resource == "streams" || resource == "transformations" ||
                           resource == "change-streams"
                       ? nullptr
                       : FindFlag(std::begin(kDatasetFlags), std::end(kDatasetFlags), a)) {
      inv.dataset_fields.emplace_back(f, *v);
    } else if (const FieldFlag* g = resource == "consumers" ? FindFlag(std::begin(kConsumerFlags),
                                                                       std::end(kConsumerFlags), a)
                                                            : nullptr) {
      inv.consumer_fields.emplace_back(g, *v);
    } else {
      return Status::InvalidArgument("unknown flag " + a);
    }
  }
  return inv;
}

Result<std::string> ReadJsonArg(const std::string& arg) {
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1));
    if (!in) return Status::InvalidArgument("cannot read " + arg.substr(1));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  return arg;
}

// --code FILE as {"file_name", "content_base64"}.
Result<std::string> CodeJson(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::InvalidArgument("--code: cannot read " + file);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t slash = file.rfind('/');
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("file_name");
  w.String(slash == std::string::npos ? file : file.substr(slash + 1));
  w.Key("content_base64");
  w.String(Base64Encode(content));
  w.EndObject();
  return out;
}

// A dataset flag's value as JSON: --schema '{...}' (or @FILE) as given, after checking that
// it is a JSON object; the others by ValueJson.
Result<std::string> DatasetFieldJson(const FieldFlag& f, const std::string& v) {
  if (f.kind != Kind::kJson) return ValueJson(f.kind, v);
  auto json = ReadJsonArg(v);
  if (!json.ok()) return json.status();
  Status st = control::CheckObject(*json);
  if (!st.ok()) {
    std::string m = st.message();
    if (m.rfind("the body", 0) == 0) m = "the value" + m.substr(8);
    return Status::InvalidArgument(std::string(f.flag) + ": " + m);
  }
  return json;
}

// The body of a create or update: --json, with the flags merged over it.
Result<std::string> BuildBody(const Invocation& inv, bool create) {
  Node body;
  if (create && !inv.positional.empty()) body.Set("name", Quoted(inv.positional[0]));
  if (inv.resource == "change-streams") {
    for (const auto& [f, v] : inv.consumer_fields) body.Set(f->path, ValueJson(f->kind, v));
    // The only source type there is; and the stream defaults to the change stream's name.
    if (create && !body.members.empty()) {
      body.Set("source.type", Quoted("postgresql"));
      bool has_stream = false;
      for (const auto& [k, v] : body.members) has_stream = has_stream || k == "stream";
      if (!has_stream && !inv.positional.empty()) body.Set("stream", Quoted(inv.positional[0]));
    }
  } else if (inv.resource == "transformations") {
    for (const auto& [f, v] : inv.consumer_fields) {
      if (f->kind != Kind::kCode) {
        body.Set(f->path, ValueJson(f->kind, v));
        continue;
      }
      auto code = CodeJson(v);
      if (!code.ok()) return code.status();
      body.Set(f->path, std::move(*code));
    }
  } else if (inv.resource == "datasets") {
    for (const auto& [f, v] : inv.dataset_fields) {
      auto json = DatasetFieldJson(*f, v);
      if (!json.ok()) return json.status();
      body.Set(f->path, std::move(*json));
    }
  } else {
    std::string dataset;
    for (const auto& [f, v] : inv.consumer_fields) {
      body.Set(f->path, ValueJson(f->kind, v));
      if (std::string(f->path) == "dataset") dataset = v;
    }
    if (!inv.dataset_fields.empty()) {
      // Dataset flags: the dataset is created with the consumer.
      if (dataset.empty())
        return Status::InvalidArgument(
            "dataset flags (--file-type, --target, ...) need --dataset NAME");
      body.Set("dataset.name", Quoted(dataset));
      for (const auto& [f, v] : inv.dataset_fields) {
        auto json = DatasetFieldJson(*f, v);
        if (!json.ok()) return json.status();
        body.Set(std::string("dataset.") + f->path, std::move(*json));
      }
    }
  }
  if (!inv.json) {
    if (body.members.empty())
      return Status::InvalidArgument(create ? "give the fields as flags or --json BODY"
                                            : "nothing to update: give flags or --json BODY");
    return body.Json();
  }
  auto raw = ReadJsonArg(*inv.json);
  if (!raw.ok()) return raw.status();
  Status st = control::CheckObject(*raw);
  if (!st.ok()) return Status::InvalidArgument("--json: " + st.message());
  if (body.members.empty()) return *raw;
  return control::MergePatch(*raw, body.Json());
}

// Where the keys come from, in order: --credentials, $AWS_SHARED_CREDENTIALS_FILE,
// ./data/credentials (the server's, when run from the directory it was started in),
// $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY. None: unsigned requests.
Result<std::optional<auth::Credentials>> FindCredentials(const Invocation& inv) {
  std::string file = inv.credentials_file;
  if (file.empty()) {
    const char* env = std::getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (env && *env) file = env;
  }
  if (file.empty()) {
    const char* dir = std::getenv("MILLRACE_DATA_DIR");
    std::string candidate = std::string(dir && *dir ? dir : "./data") + "/credentials";
    if (std::ifstream(candidate)) file = candidate;
  }
  if (!file.empty()) {
    auto c = ReadCredentialsFile(file, inv.profile);
    if (!c.ok()) return c.status();
    return std::optional<auth::Credentials>(*c);
  }
  const char* id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (id && *id && secret && *secret) {
    const char* token = std::getenv("AWS_SESSION_TOKEN");
    return std::optional<auth::Credentials>(auth::Credentials{id, secret, token ? token : ""});
  }
  return std::optional<auth::Credentials>();
}

// Said when the server refused an unsigned request: where the keys were looked for, and
// how to get some.
constexpr const char* kNoCredentials = R"(
No credentials were found, so the request went unsigned. Looked for, in order:
  --credentials FILE
  $AWS_SHARED_CREDENTIALS_FILE
  ./data/credentials, or $MILLRACE_DATA_DIR/credentials (the server writes its root key
  there on first start: run from the directory `make run` ran in, or give its path)
  $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY
To make an admin key: millrace keys create --data-dir DIR --scope admin
)";

// "NotFound: dataset x does not exist" from {"error": {"code", "message"}}, else the body.
std::string ErrorText(const HttpAnswer& a) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view code, message;
  if (parser.parse(a.body).get(doc) == simdjson::SUCCESS &&
      doc["error"]["message"].get(message) == simdjson::SUCCESS) {
    if (doc["error"]["code"].get(code) != simdjson::SUCCESS) code = "?";
    return std::string(message) + " (" + std::string(code) + ", HTTP " + std::to_string(a.status) +
           ")";
  }
  return "HTTP " + std::to_string(a.status) + (a.body.empty() ? "" : ": " + a.body);
}

// `transformations logs NAME --follow`: the lines as text, then every second the new ones
// (asked for from the newest time printed; lines of that very millisecond already printed
// are skipped). Returns only on an error.
int FollowLogs(HttpClient& client, const std::string& path, const std::optional<std::string>& since,
               const std::string& prog) {
  int64_t from = 0;
  if (since) from = std::strtoll(since->c_str(), nullptr, 10);
  std::vector<std::string> printed_at_from;  // keys of the lines printed with time_ms == from
  simdjson::dom::parser parser;
  for (;;) {
    auto answer = client.Send("GET", path, "since=" + std::to_string(from) + "&limit=10000", "");
    if (!answer.ok() || answer->status != 200) {
      std::cerr << prog
                << " logs: " << (answer.ok() ? ErrorText(*answer) : answer.status().message())
                << "\n";
      return 1;
    }
    simdjson::dom::element doc;
    simdjson::dom::array lines;
    if (parser.parse(answer->body).get(doc) != simdjson::SUCCESS ||
        doc["lines"].get(lines) != simdjson::SUCCESS) {
      std::cerr << prog << " logs: the server's answer is not a list of lines\n";
      return 1;
    }
    for (simdjson::dom::element l : lines) {
      int64_t t = 0;
      std::string_view time, request, text;
      if (l["time_ms"].get(t) || l["time"].get(time) || l["text"].get(text)) continue;
      if (l["request_id"].get(request)) request = "";
      std::string key = std::string(request) + "\n" + std::string(text);
      if (t == from &&
          std::find(printed_at_from.begin(), printed_at_from.end(), key) != printed_at_from.end())
        continue;
      if (t != from) {
        from = t;
        printed_at_from.clear();
      }
      printed_at_from.push_back(std::move(key));
      std::cout << time << " " << (request.empty() ? "-" : request) << " " << text << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

const char* HelpOf(const std::string& resource) {
  if (resource == "datasets") return kDatasetsHelp;
  if (resource == "consumers") return kConsumersHelp;
  if (resource == "transformations") return kTransformationsHelp;
  if (resource == "change-streams") return kChangeStreamsHelp;
  return kStreamsHelp;
}

}  // namespace

std::string IndentJson(const std::string& json) {
  std::string out;
  int depth = 0;
  bool in_string = false, escaped = false;
  auto newline = [&] {
    out.push_back('\n');
    out.append(static_cast<size_t>(depth > 0 ? depth : 0) * 2, ' ');
  };
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out.push_back(c);
        break;
      case '{':
      case '[': {
        size_t next = json.find_first_not_of(" \t\r\n", i + 1);
        if (next != std::string::npos && json[next] == (c == '{' ? '}' : ']')) {
          out.push_back(c);  // an empty object or array stays on one line
          out.push_back(json[next]);
          i = next;
          break;
        }
        out.push_back(c);
        ++depth;
        newline();
        break;
      }
      case '}':
      case ']':
        --depth;
        newline();
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline();
        break;
      case ':':
        out.append(": ");
        break;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

int Resources(const std::string& resource, const std::vector<std::string>& args) {
  const std::string prog = "millrace " + resource;
  auto usage = [&](const std::string& message) {
    std::cerr << prog << ": " << message << "\n\n" << HelpOf(resource) << kConnectionHelp;
    return 2;
  };
  auto inv = Parse(resource, args);
  if (!inv.ok()) return usage(inv.status().message());
  if (inv->help || inv->sub.empty()) {
    std::cout << HelpOf(resource) << kConnectionHelp;
    return inv->help ? 0 : 2;
  }
  const std::string& sub = inv->sub;
  const bool docs = resource != "streams";
  const bool writes = docs && (sub == "create" || sub == "update");
  // --region: the S3 target's in a dataset spec, else the signing region.
  if (inv->region) {
    if (writes)
      inv->dataset_fields.emplace_back(
          FindFlag(std::begin(kDatasetFlags), std::end(kDatasetFlags), "--region"), *inv->region);
    else if (inv->signing_region.empty())
      inv->signing_region = *inv->region;
  }
  if (!writes && (!inv->dataset_fields.empty() || !inv->consumer_fields.empty() || inv->json))
    return usage("field flags and --json go with create or update");
  if (sub != "logs" && (inv->since || inv->limit || inv->follow))
    return usage("--since, --limit and --follow go with logs");
  if (sub != "describe" && inv->watch) return usage("--watch goes with describe");

  std::string method = "GET", path = "/api/v1/" + resource, query, body;
  size_t want_names = 1;  // positional arguments after the subcommand
  if (sub == "list") {
    want_names = 0;
  } else if (sub == "describe") {
  } else if (docs && sub == "delete") {
    method = "DELETE";
  } else if (docs && sub == "create") {
    method = "POST";
    want_names = inv->positional.empty() ? 0 : 1;
  } else if (docs && sub == "update") {
    method = "PUT";
  } else if (resource == "datasets" && sub == "pin-schema") {
    method = "PUT";
    body = R"({"schema": {"inferred": false}})";
  } else if (resource == "change-streams" && (sub == "pause" || sub == "resume")) {
    method = "POST";
  } else if (!docs && sub == "datasets") {
    query = "request_type=get_datasets";
  } else if (resource == "transformations" && sub == "logs") {
    auto add = [&](const char* key, const std::optional<std::string>& v) {
      if (v)
        query += (query.empty() ? "" : "&") + std::string(key) + "=" + auth::UriEncode(*v, false);
    };
    add("since", inv->since);
    add("limit", inv->limit);
  } else {
    return usage("unknown command '" + sub + "'");
  }
  if (inv->positional.size() != want_names)
    return usage(want_names ? "`" + sub + "` takes one NAME" : "`" + sub + "` takes no NAME");
  if (want_names && sub != "create") path += "/" + auth::UriEncode(inv->positional[0], false);
  if (sub == "logs") path += "/logs";
  if (sub == "pause" || sub == "resume") path += "/" + sub;
  if (writes) {
    auto b = BuildBody(*inv, sub == "create");
    if (!b.ok()) return usage(b.status().message());
    body = std::move(*b);
  }

  auto creds = FindCredentials(*inv);
  if (!creds.ok()) {
    std::cerr << prog << " " << sub << ": " << creds.status().message() << "\n";
    return 1;
  }
  HttpClient client(inv->endpoint, *creds,
                    inv->signing_region.empty() ? "us-east-1" : inv->signing_region);
  if (sub == "logs" && inv->follow) return FollowLogs(client, path, inv->since, prog);
  if (sub == "describe" && inv->watch) return WatchChangeStream(client, path, prog);
  auto answer = client.Send(method, path, query, body);
  if (!answer.ok()) {
    std::cerr << prog << " " << sub << ": " << answer.status().message() << "\n";
    return 1;
  }
  if (answer->status < 200 || answer->status >= 300) {
    std::cerr << prog << " " << sub << ": " << ErrorText(*answer) << "\n";
    if (!*creds && (answer->status == 401 || answer->status == 403)) std::cerr << kNoCredentials;
    return 1;
  }
  std::cout << IndentJson(answer->body) << "\n";
  return 0;
}

}  // namespace millrace::cli
