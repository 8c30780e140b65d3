// Worker: one function's worker process (fork+exec, never code inside the server) and the
// pipes to it. One invocation at a time; not thread-safe (the pool hands a worker to one
// caller at a time). Destroying a Worker SIGKILLs its process group and reaps it.
//
// The server side never blocks without a deadline: every read and write goes through
// poll(2) bounded by the invocation's timeout, so a hung, silent or flooding worker costs
// at most timeout_ms.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "transform/types.h"

namespace millrace::transform {

struct WorkerOptions {
  std::string python3 = "python3";  // resolved against PATH before fork
};

class Worker {
 public:
  // Starts the process; fails (Unavailable) if fork or exec fails. The interpreter and
  // handler import run in the background: the first Invoke waits for them.
  [[nodiscard]] static Result<std::unique_ptr<Worker>> Start(const FunctionSpec& spec,
                                                             const WorkerOptions& options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process has exited or been killed.
  bool Alive();

  // Sends `request` (one line), waits until `deadline_ns` (CLOCK_MONOTONIC) for the
  // response line and validates it. Printed lines go to `sink` tagged with ctx's id.
  // After an error whose kind is kTimeout, kCrash, kOutOfMemory or kBadResponse the
  // worker must be discarded (Alive() may still say true for kBadResponse).
  void Invoke(const FunctionSpec& spec, const std::string& request,
              const std::vector<InputRecord>& inputs, const InvokeContext& ctx, int64_t deadline_ns,
              const LogSink& sink, InvokeResult* result);

 private:
  Worker(pid_t pid, int in_fd, int out_fd, int err_fd, std::string function_name)
      : pid_(pid),
        in_fd_(in_fd),
        out_fd_(out_fd),
        err_fd_(err_fd),
        function_name_(std::move(function_name)) {}
  void Kill();
  // Why the process ended: waits up to `wait_ms` for it, then kills it.
  std::string ExitReason(int wait_ms, bool* signaled_kill);
  // Reads what stderr holds now; complete lines go to sink.
  bool ReadLogs(const LogSink& sink, const std::string& invocation_id,
                const std::string& request_id);
  void EmitLog(const LogSink& sink, const std::string& invocation_id, const std::string& request_id,
               std::string_view text);
  void FlushLogs(const LogSink& sink, const std::string& invocation_id,
                 const std::string& request_id);

  pid_t pid_;
  int in_fd_, out_fd_, err_fd_;
  std::string function_name_;
  std::string work_dir_;  // the sandbox's directory, removed with the worker
  bool reaped_ = false;
  int status_ = 0;
  std::string out_buf_, err_buf_;
  std::vector<char> chunk_ = std::vector<char>(1 << 20);  // read buffer for stdout
};

}  // namespace millrace::transform
