// Server configuration. Every setting can come from a command-line flag (--data-dir), an
// environment variable (MILLRACE_DATA_DIR) or a TOML file (data_dir = "..."), in that order
// of precedence, else its default. The table in config.cc is the single list of settings;
// `millrace serve --help` prints it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace millrace::config {

struct ServerConfig {
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:4580";
  std::string auth = "sigv4";  // sigv4 | none
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  bool throttling = true;
  int64_t stream_transition_ms = 500;
  std::string log_level = "info";
  int threads = 0;
  int64_t segment_mb = 128;
  bool sync = true;
  int64_t shard_limit = 20000;
  int64_t max_connections = 4096;
  int64_t max_unauthenticated_mb = 32;
  std::string metrics_auth = "auto";  // on | off | auto (on unless listening on loopback)
  std::string sandbox_user = "millrace-sandbox";
  int64_t lifecycle_interval_s = 60;
  std::string s3_domain;  // set: virtual-hosted S3 requests to <bucket>.<s3_domain>
  std::string tls_cert;   // both set: the port speaks TLS
  std::string tls_key;
  std::string config_file;

  // host and port of `listen`.
  Status SplitListen(std::string* host, uint16_t* port) const;
};

// Parses flags (argv after the command), the environment and the TOML file named by
// --config / MILLRACE_CONFIG. Unknown flags and malformed values are errors that name the
// setting and the source.
Result<ServerConfig> Load(const std::vector<std::string>& args);

// The settings table as help text.
std::string HelpText();

}  // namespace millrace::config
