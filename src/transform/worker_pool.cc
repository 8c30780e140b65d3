#include "transform/worker_pool.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "common/logging.h"
#include "transform/codec.h"
#include "transform/errc.h"

namespace millrace::transform {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// A random version-4 UUID, for context.aws_request_id.
std::string RandomUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & ~0xf000ull) | 0x4000ull;
  b = (b & ~(0xc000ull << 48)) | (0x8000ull << 48);
  char s[37];
  snprintf(s, sizeof s, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
           static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffull));
  return s;
}

FunctionSpec Clamped(FunctionSpec s) {
  s.timeout_ms = std::clamp<int64_t>(s.timeout_ms, 1, kMaxTimeoutMs);
  s.memory_mb = std::clamp(s.memory_mb, kMinMemoryMb, kMaxMemoryMb);
  return s;
}

bool MustReplace(ErrorKind k) {
  return k == ErrorKind::kTimeout || k == ErrorKind::kCrash || k == ErrorKind::kOutOfMemory ||
         k == ErrorKind::kBadResponse;
}

}  // namespace

WorkerPool::WorkerPool(FunctionSpec spec, int workers, LogSink sink, WorkerOptions options)
    : spec_(Clamped(std::move(spec))), sink_(std::move(sink)), options_(std::move(options)) {
  std::lock_guard<std::mutex> l(mu_);
  for (int i = 0; i < std::max(1, workers); ++i) idle_.push_back(Spawn());
}

WorkerPool::~WorkerPool() {
  std::lock_guard<std::mutex> l(mu_);
  shutdown_ = true;
  idle_.clear();  // kills and reaps each worker
  cv_.notify_all();
}

std::unique_ptr<Worker> WorkerPool::Spawn() {
  auto w = Worker::Start(spec_, options_);
  if (!w.ok()) {
    LOG(kWarn) << "transform: " << spec_.name << ": " << w.status().ToString();
    return nullptr;
  }
  return std::move(*w);
}

std::vector<pid_t> WorkerPool::IdlePids() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<pid_t> out;
  for (auto& w : idle_)
    if (w) out.push_back(w->pid());
  return out;
}

InvokeResult WorkerPool::Invoke(const std::vector<InputRecord>& records, const InvokeContext& ctx) {
  InvokeResult result;
  result.request_id = RandomUuid();
  std::unique_ptr<Worker> worker;
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return shutdown_ || !idle_.empty(); });
    if (shutdown_) {
      result.error = InvocationError{ErrorKind::kShutdown, errc::kFunctionError,
                                     "the transformation is being stopped"};
      return result;
    }
    worker = std::move(idle_.back());
    idle_.pop_back();
  }
  const int64_t start = NowNs();
  if (!worker || !worker->Alive()) worker = Spawn();  // died between invocations
  if (!worker) {
    result.error = InvocationError{ErrorKind::kSpawnFailed, errc::kFunctionError,
                                   "the function's worker process could not be started"};
  } else {
    const int64_t deadline = start + spec_.timeout_ms * 1000000;
    RequestContext rc{result.request_id, spec_.timeout_ms};
    std::string request = BuildRequest(spec_, ctx, rc, records);
    worker->Invoke(spec_, request, records, ctx, deadline, sink_, &result);
    if (!result.ok() && MustReplace(result.error->kind)) {
      worker.reset();    // kill and reap before starting the replacement
      worker = Spawn();  // started ahead of the next invocation
    }
  }
  result.duration_ms = (NowNs() - start) / 1000000;
  if (!result.ok() && sink_) {
    // The error, with the function's traceback, where its printed lines are: what Lambda
    // writes to the function's log ("[ERROR] Type: message" and the traceback).
    LogLine line;
    line.function_name = spec_.name;
    line.invocation_id = ctx.invocation_id;
    line.request_id = result.request_id;
    line.worker_pid = result.worker_pid;
    line.error = true;
    line.text = "[ERROR] " + result.error->message;
    for (const std::string& t : result.error->stack_trace) line.text += "\n" + t;
    sink_(line);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!shutdown_) idle_.push_back(std::move(worker));
  }
  cv_.notify_one();
  return result;
}

Status CheckFunction(const FunctionSpec& spec, int64_t timeout_ms, WorkerOptions options) {
  if (spec.runtime != Runtime::kPython3) return Status::Ok();
  auto worker = Worker::Start(Clamped(spec), options);
  if (!worker.ok())
    return Status::Unavailable("cannot start a worker to load the function: " +
                               worker.status().message());
  InvokeResult result;
  InvokeContext ctx;
  ctx.invocation_id = "check";
  std::vector<LogLine> printed;
  LogSink keep = [&](const LogLine& l) {
    if (printed.size() < 20) printed.push_back(l);
  };
  (*worker)->Invoke(spec, "{\"check\":true}\n", {}, ctx, NowNs() + timeout_ms * 1000000, keep,
                    &result);
  if (result.ok()) return Status::Ok();
  std::string message = result.error->message;
  if (result.error->kind == ErrorKind::kTimeout)
    message = "loading the code took longer than " + std::to_string(timeout_ms / 1000) + " s";
  // The traceback's last line says what went wrong where ("ModuleNotFoundError: ...").
  const auto& trace = result.error->stack_trace;
  if (!trace.empty() && message.find(trace.back()) == std::string::npos)
    message += " (" + trace.back() + ")";
  return Status::InvalidArgument(message);
}

}  // namespace millrace::transform
