// The sandbox every transformation process runs in: a function is untrusted code.
//
// When the server runs as root (the full sandbox):
//   - the process runs as an unprivileged user of its own (`--sandbox-user`, default
//     millrace-sandbox, created by `make run`/`make test`; `nobody` if it does not exist),
//     with no supplementary groups and PR_SET_NO_NEW_PRIVS: it cannot read the data
//     directory (0700, the server's), /etc/shadow, or signal the server;
//   - in new PID, network, IPC and UTS namespaces: it is PID 1 of its own PID namespace,
//     so killing it kills everything it started, a child that called setsid() included,
//     and it sees no other process to signal; its network namespace has no interface up
//     (no network, not even the server's loopback port) unless the transformation asks
//     for network (`"network": true`), when it shares the server's;
//   - in a work directory of its own (0700, the sandbox user's), with a copy of the code,
//     HOME and TMPDIR; removed when the worker ends;
//   - with an environment of only what the function is given (AWS_LAMBDA_*, PATH, HOME,
//     TMPDIR, LANG, PYTHONUNBUFFERED);
//   - with rlimits on address space (the function's memory), processes (per sandbox user),
//     CPU seconds, open files, file size and core dumps; it dies with the server
//     (PR_SET_PDEATHSIG).
// When the server does not run as root, no user switch or namespace is possible without
// privileges, and only the rlimits, the environment and the work directory apply; the
// server logs that once. docs/security.md has the table of escape attempts and the tests.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>

#include "common/status.h"
#include "transform/types.h"

namespace millrace::transform {

struct SandboxConfig {
  std::string user = "millrace-sandbox";  // used when running as root
};

// Sets the process-wide sandbox configuration. Call once at start-up, before any worker
// starts; workers started earlier used the defaults.
void ConfigureSandbox(const SandboxConfig& config);

// Limits beyond the function's memory (rlimits, per process unless noted).
inline constexpr rlim_t kSandboxMaxProcesses = 256;  // RLIMIT_NPROC, per sandbox user
inline constexpr rlim_t kSandboxMaxOpenFiles = 256;
inline constexpr rlim_t kSandboxCpuSeconds = 3600;  // a worker is restarted after this much CPU
inline constexpr rlim_t kSandboxMaxFileBytes = 1ull << 30;

// What one worker's sandbox needs, prepared in the server before fork.
struct SandboxPlan {
  bool isolate = false;  // root: user switch and namespaces
  uid_t uid = 0;
  gid_t gid = 0;
  int clone_flags = 0;   // CLONE_NEW* for the child
  std::string work_dir;  // owned by the sandbox user; removed by ~SandboxPlan's owner
  std::string code_dir;  // work_dir/code: the function's code, copied
  std::string tmp_dir;   // work_dir/tmp
};

// Creates the work directory (a copy of spec.code_dir, the bootstrap file if
// `bootstrap_source` is non-empty) and decides the isolation.
[[nodiscard]] Result<SandboxPlan> PrepareSandbox(const FunctionSpec& spec,
                                                 const std::string& bootstrap_source);

// In the child, after fork/clone and before exec: only async-signal-safe calls. Applies
// the rlimits (address space `as_bytes`), the user switch and no-new-privileges; returns
// 0 or the errno of the step that failed.
int EnterSandboxInChild(const SandboxPlan& plan, rlim_t as_bytes);

// Removes a work directory (recursively, never following links). Best effort.
void RemoveSandboxDir(const std::string& work_dir);

}  // namespace millrace::transform
