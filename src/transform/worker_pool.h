// WorkerPool: the running workers of one transformation function.
//
//   WorkerPool pool(spec, /*workers=*/2, [](const LogLine& l) { ... });
//   InvokeResult r = pool.Invoke(records, ctx);   // blocking
//   if (!r.ok()) retry, or send the records to processing-failed/ with r.error->code
//
// The pool starts `workers` processes at construction (ahead of need) and reuses each for
// invocation after invocation. A worker that timed out, crashed, ran out of memory or
// answered garbage is killed and replaced at once by a fresh one; a function error or a
// bad set of record ids leaves the worker in service.
//
// Thread-safe: up to `workers` Invoke calls run concurrently, more wait for a free worker.
// The pool must outlive every Invoke call on it; destroying it kills its workers.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/thread_annotations.h"
#include "transform/types.h"
#include "transform/worker.h"

namespace millrace::transform {

// Loads the function once, in a worker of its own (sandboxed as every worker is), without
// calling it: for python3, imports the handler's module and looks the handler up in it.
// InvalidArgument with Lambda's words ("Runtime.HandlerNotFound: Handler 'h' missing on
// module 'main'", "Runtime.ImportModuleError: Unable to import module 'main': ..." and the
// traceback's last line) when that fails; Unavailable when no worker could be started. The
// exec runtime is not run (it has no way to be asked): Ok. Waits at most `timeout_ms`.
Status CheckFunction(const FunctionSpec& spec, int64_t timeout_ms, WorkerOptions options = {});

class WorkerPool {
 public:
  // Clamps spec.timeout_ms to [1, kMaxTimeoutMs] and spec.memory_mb to
  // [kMinMemoryMb, kMaxMemoryMb]; validating user input is the control API's job.
  WorkerPool(FunctionSpec spec, int workers, LogSink sink, WorkerOptions options = {});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs the function on `records`. Never throws and never blocks past the function's
  // timeout once a worker is free (plus the time to start one, if none is running).
  InvokeResult Invoke(const std::vector<InputRecord>& records, const InvokeContext& ctx);

  const FunctionSpec& spec() const { return spec_; }
  // Pids of the workers not busy now (for tests and status pages).
  std::vector<pid_t> IdlePids();

 private:
  std::unique_ptr<Worker> Spawn();

  const FunctionSpec spec_;
  const LogSink sink_;
  const WorkerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Free slots; a null slot is a worker to start on next use (its start failed).
  std::vector<std::unique_ptr<Worker>> idle_ GUARDED_BY(mu_);
  bool shutdown_ GUARDED_BY(mu_) = false;
};

}  // namespace millrace::transform
