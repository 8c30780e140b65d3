#include "cli/cli.h"

#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli/keys.h"
#include "cli/resources.h"
#include "cli/share.h"
#include "common/logging.h"
#include "config/config.h"
#include "server/app.h"

namespace millrace::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage = R"(millrace: a self-hosted, Kinesis-compatible streaming data server

Usage:
  millrace serve [flags]          run the server (see `millrace serve --help`)
  millrace keys create|list|revoke  manage access keys (see `millrace keys --help`)
  millrace share                    give a customer read-only access to their data, by
                                    access keys or by a role with an ExternalId (see
                                    `millrace share --help`)
  millrace datasets ...           datasets, over the control API (`millrace datasets --help`)
  millrace consumers ...          consumers, over the control API (`millrace consumers --help`)
  millrace transformations ...    transformations, over the control API
                                  (`millrace transformations --help`)
  millrace change-streams ...     PostgreSQL change capture (`millrace change-streams --help`)
  millrace streams ...            read-only stream views (`millrace streams --help`)
  millrace version                print the version
  millrace --help                 this text

Clients use the AWS SDKs or the AWS CLI with --endpoint-url http://HOST:PORT and the key
written to <data-dir>/credentials on first start:
  AWS_SHARED_CREDENTIALS_FILE=./data/credentials aws --endpoint-url http://127.0.0.1:4580 \
      kinesis list-streams
)";

bool WantsHelp(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h" || a == "help") return true;
  return false;
}

int Serve(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << "Usage: millrace serve [flags]\n\nRuns the server. Settings, by flag, "
                 "environment variable or TOML file (flags win, then the environment, then "
                 "the file):\n\n"
              << config::HelpText();
    return 0;
  }
  auto cfg = config::Load(args);
  if (!cfg.ok()) {
    std::cerr << "millrace serve: " << cfg.status().message() << "\n";
    return 2;
  }
  LogLevel level;
  if (!ParseLogLevel(cfg->log_level, &level)) {
    std::cerr << "millrace serve: log-level must be debug, info, warn or error\n";
    return 2;
  }
  SetLogLevel(level);

  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = server::App::Start(*cfg);
  if (!app.ok()) {
    LOG(kError) << "millrace: cannot start: " << app.status().ToString();
    return 1;
  }
  int sig = 0;
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) (*app)->ReloadTls();
  LOG(kInfo) << "millrace: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping";
  (*app)->Stop();
  LOG(kInfo) << "millrace: stopped";
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "serve") return Serve(rest);
  if (cmd == "keys") return Keys(rest);
  if (cmd == "share") return Share(rest);
  if (cmd == "datasets" || cmd == "consumers" || cmd == "transformations" || cmd == "streams" ||
      cmd == "change-streams")
    return Resources(cmd, rest);
  if (cmd == "version" || cmd == "--version") {
    std::cout << "millrace " << kVersion << "\n";
    return 0;
  }
  std::cerr << "millrace: unknown command '" << cmd << "'\n\n" << kUsage;
  return 2;
}

}  // namespace millrace::cli
