#include "config/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <functional>

namespace millrace::config {
namespace {

enum class Kind { kString, kInt, kBool };

struct Setting {
  const char* flag;  // without the leading --
  Kind kind;
  const char* help;
  std::function<void*(ServerConfig&)> field;
};

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> s = {
      {"data-dir", Kind::kString, "data directory (log, catalog, credentials)",
       [](ServerConfig& c) -> void* { return &c.data_dir; }},
      {"listen", Kind::kString, "address to listen on, host:port",
       [](ServerConfig& c) -> void* { return &c.listen; }},
      {"auth", Kind::kString, "sigv4 (verify every request) or none (development only)",
       [](ServerConfig& c) -> void* { return &c.auth; }},
      {"region", Kind::kString,
       "the one region served (in ARNs); requests signed for another are refused",
       [](ServerConfig& c) -> void* { return &c.region; }},
      {"account-id", Kind::kString, "12-digit account id shown in ARNs and messages",
       [](ServerConfig& c) -> void* { return &c.account_id; }},
      {"throttling", Kind::kBool, "enforce the per-shard limits of PROVISIONED streams",
       [](ServerConfig& c) -> void* { return &c.throttling; }},
      {"stream-transition-ms", Kind::kInt, "how long CREATING/UPDATING/DELETING last",
       [](ServerConfig& c) -> void* { return &c.stream_transition_ms; }},
      {"log-level", Kind::kString, "debug, info, warn or error",
       [](ServerConfig& c) -> void* { return &c.log_level; }},
      {"threads", Kind::kInt, "HTTP event-loop threads (0 = one per core)",
       [](ServerConfig& c) -> void* { return &c.threads; }},
      {"segment-mb", Kind::kInt, "log segment size in MiB",
       [](ServerConfig& c) -> void* { return &c.segment_mb; }},
      {"sync", Kind::kBool,
       "fsync before acknowledging writes (off loses acknowledged writes on power loss)",
       [](ServerConfig& c) -> void* { return &c.sync; }},
      {"shard-limit", Kind::kInt, "open shards allowed in all streams",
       [](ServerConfig& c) -> void* { return &c.shard_limit; }},
      {"max-connections", Kind::kInt, "concurrent HTTP connections",
       [](ServerConfig& c) -> void* { return &c.max_connections; }},
      {"max-unauthenticated-mb", Kind::kInt,
       "MiB held over all connections for requests not yet authenticated (then 503)",
       [](ServerConfig& c) -> void* { return &c.max_unauthenticated_mb; }},
      {"metrics-auth", Kind::kString,
       "GET /metrics needs a SigV4-signed request: on, off, or auto (on unless listening on "
       "loopback)",
       [](ServerConfig& c) -> void* { return &c.metrics_auth; }},
      {"sandbox-user", Kind::kString,
       "the unprivileged user transformations run as, when the server runs as root",
       [](ServerConfig& c) -> void* { return &c.sandbox_user; }},
      {"lifecycle-interval-s", Kind::kInt,
       "how often S3 lifecycle rules delete expired objects, in seconds (expired objects are "
       "invisible at once)",
       [](ServerConfig& c) -> void* { return &c.lifecycle_interval_s; }},
      {"s3-domain", Kind::kString,
       "serve virtual-hosted S3 requests (Host <bucket>.<domain>) besides path-style ones",
       [](ServerConfig& c) -> void* { return &c.s3_domain; }},
      {"tls-cert", Kind::kString,
       "PEM certificate chain: serve TLS (HTTP/1.1 and HTTP/2 by ALPN) instead of cleartext; "
       "SIGHUP reloads it",
       [](ServerConfig& c) -> void* { return &c.tls_cert; }},
      {"tls-key", Kind::kString, "PEM private key of tls-cert",
       [](ServerConfig& c) -> void* { return &c.tls_key; }},
  };
  return s;
}

std::string EnvName(const char* flag) {
  std::string e = "MILLRACE_";
  for (const char* p = flag; *p; ++p)
    e.push_back(*p == '-' ? '_' : static_cast<char>(std::toupper(*p)));
  return e;
}

std::string TomlName(const char* flag) {
  std::string t;
  for (const char* p = flag; *p; ++p) t.push_back(*p == '-' ? '_' : *p);
  return t;
}

Status Assign(const Setting& s, ServerConfig& c, const std::string& value,
              const std::string& source) {
  void* f = s.field(c);
  switch (s.kind) {
    case Kind::kString:
      *static_cast<std::string*>(f) = value;
      return Status::Ok();
    case Kind::kInt: {
      char* end = nullptr;
      long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0')
        return Status::InvalidArgument(source + ": " + s.flag + " must be a whole number, not '" +
                                       value + "'");
      if (std::string(s.flag) == "threads")
        *static_cast<int*>(f) = static_cast<int>(v);
      else
        *static_cast<int64_t*>(f) = v;
      return Status::Ok();
    }
    case Kind::kBool:
      if (value == "on" || value == "true" || value == "1" || value == "yes") {
        *static_cast<bool*>(f) = true;
      } else if (value == "off" || value == "false" || value == "0" || value == "no") {
        *static_cast<bool*>(f) = false;
      } else {
        return Status::InvalidArgument(source + ": " + s.flag + " must be on or off, not '" +
                                       value + "'");
      }
      return Status::Ok();
  }
  return Status::Ok();
}

Status Check(const ServerConfig& c) {
  if (c.auth != "sigv4" && c.auth != "none")
    return Status::InvalidArgument("auth must be sigv4 or none, not '" + c.auth + "'");
  if (c.account_id.size() != 12 ||
      c.account_id.find_first_not_of("0123456789") != std::string::npos)
    return Status::InvalidArgument("account-id must be 12 digits");
  if (c.segment_mb < 1) return Status::InvalidArgument("segment-mb must be at least 1");
  std::string host;
  uint16_t port;
  return c.SplitListen(&host, &port);
}

}  // namespace

Status ServerConfig::SplitListen(std::string* host, uint16_t* port) const {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return Status::InvalidArgument("listen must be host:port, not '" + listen + "'");
  *host = listen.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
  char* end = nullptr;
  long p = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535)
    return Status::InvalidArgument("listen has a bad port: '" + listen + "'");
  *port = static_cast<uint16_t>(p);
  return Status::Ok();
}

Result<ServerConfig> Load(const std::vector<std::string>& args) {
  // Flags first (collected, applied last so they win).
  std::vector<std::pair<const Setting*, std::string>> flags;
  std::string config_file;
  if (const char* e = std::getenv("MILLRACE_CONFIG")) config_file = e;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    size_t eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto take_value = [&]() -> Status {
      if (has_value) return Status::Ok();
      if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
      value = args[++i];
      return Status::Ok();
    };
    if (name == "config") {
      MILLRACE_RETURN_IF_ERROR(take_value());
      config_file = value;
      continue;
    }
    const Setting* found = nullptr;
    for (const Setting& s : Settings())
      if (name == s.flag) found = &s;
    if (!found) return Status::InvalidArgument("unknown flag --" + name + " (see --help)");
    MILLRACE_RETURN_IF_ERROR(take_value());
    flags.emplace_back(found, value);
  }

  ServerConfig c;
  c.config_file = config_file;
  if (!config_file.empty()) {
    toml::table t;
    try {
      t = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      return Status::InvalidArgument("config file " + config_file + ": " +
                                     std::string(e.description()));
    }
    for (auto&& [k, v] : t) {
      const Setting* found = nullptr;
      for (const Setting& s : Settings())
        if (TomlName(s.flag) == k.str()) found = &s;
      if (!found)
        return Status::InvalidArgument("config file " + config_file + ": unknown key '" +
                                       std::string(k.str()) + "'");
      std::string value;
      if (auto sv = v.value<std::string>())
        value = *sv;
      else if (auto iv = v.value<int64_t>())
        value = std::to_string(*iv);
      else if (auto bv = v.value<bool>())
        value = *bv ? "on" : "off";
      else
        return Status::InvalidArgument("config file " + config_file + ": bad value for '" +
                                       std::string(k.str()) + "'");
      MILLRACE_RETURN_IF_ERROR(Assign(*found, c, value, "config file " + config_file));
    }
  }
  for (const Setting& s : Settings()) {
    std::string env = EnvName(s.flag);
    if (const char* e = std::getenv(env.c_str())) MILLRACE_RETURN_IF_ERROR(Assign(s, c, e, env));
  }
  for (auto& [s, value] : flags)
    MILLRACE_RETURN_IF_ERROR(Assign(*s, c, value, std::string("--") + s->flag));
  MILLRACE_RETURN_IF_ERROR(Check(c));
  return c;
}

std::string HelpText() {
  std::string out;
  for (const Setting& s : Settings()) {
    std::string flag =
        std::string("  --") + s.flag + (s.kind == Kind::kBool ? " on|off" : " VALUE");
    flag.resize(std::max<size_t>(flag.size() + 1, 34), ' ');
    out += flag + s.help + "\n" + std::string(34, ' ') + "env " + EnvName(s.flag) + ", toml " +
           TomlName(s.flag) + "\n";
  }
  out +=
      "  --config FILE                   TOML file of the settings above (env MILLRACE_CONFIG)\n";
  return out;
}

}  // namespace millrace::config
