#include "transform/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transform/codec.h"
#include "transform/errc.h"
#include "transform/runtime/bootstrap.h"
#include "transform/sandbox.h"

namespace millrace::transform {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// The absolute path of `name` on PATH (or `name` itself if it has a slash), resolved in
// the parent because execvp is not async-signal-safe after fork.
std::string ResolveOnPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string cand = p.substr(start, end - start) + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return name;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

InvocationError Err(ErrorKind kind, std::string message) {
  return InvocationError{kind, errc::kFunctionError, std::move(message)};
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::Start(const FunctionSpec& spec,
                                              const WorkerOptions& options) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  // The function runs in a sandbox (sandbox.h) on a copy of its code; the bootstrap is a
  // file there, so that `ps` shows no source on its command line.
  const bool python = spec.runtime == Runtime::kPython3;
  auto plan = PrepareSandbox(spec, python ? std::string(kBootstrapPy) : std::string());
  if (!plan.ok())
    return Status::Unavailable("cannot prepare the sandbox: " + plan.status().message());
  std::vector<std::string> args;
  if (python) {
    // The sandbox user cannot enter root's home, where the server's PATH may lead (pyenv):
    // isolated workers run the system's interpreter unless one was named explicitly.
    std::string interpreter = options.python3;
    if (plan->isolate && interpreter == "python3" && access("/usr/bin/python3", X_OK) == 0)
      interpreter = "/usr/bin/python3";
    args = {ResolveOnPath(interpreter), "-u", plan->work_dir + "/bootstrap.py", plan->code_dir,
            spec.handler};
  } else {
    if (spec.handler.starts_with("/")) {
      RemoveSandboxDir(plan->work_dir);
      return Status::InvalidArgument("an exec handler is a path inside the code, not " +
                                     spec.handler);
    }
    args = {plan->code_dir + "/" + spec.handler};
  }
  // An environment of only what the function is given: nothing of the server's.
  std::vector<std::string> env;
  env.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
  env.push_back("HOME=" + plan->tmp_dir);
  env.push_back("TMPDIR=" + plan->tmp_dir);
  env.push_back("LANG=C.UTF-8");
  env.push_back("AWS_LAMBDA_FUNCTION_NAME=" + spec.name);
  env.push_back("AWS_LAMBDA_FUNCTION_VERSION=" + spec.version);
  env.push_back("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(spec.memory_mb));
  env.push_back("PYTHONUNBUFFERED=1");  // exec functions written in Python flush each line
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const rlim_t as_bytes = (static_cast<rlim_t>(spec.memory_mb) + kAddressSpaceHeadroomMb) << 20;
  const char* dir = plan->code_dir.c_str();
  const SandboxPlan& sandbox = *plan;

  // stdin is a socket so that writing to a dead worker fails with EPIPE under
  // MSG_NOSIGNAL instead of raising SIGPIPE in the server.
  int in_sp[2], out_p[2], err_p[2], exec_p[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sp) != 0)
    return Status::Unavailable(std::string("socketpair: ") + strerror(errno));
  if (pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0 || pipe2(exec_p, O_CLOEXEC) != 0)
    return Status::Unavailable(std::string("pipe: ") + strerror(errno));
  // clone(2) without a stack behaves as fork, with the sandbox's new namespaces: the child
  // is PID 1 of its own PID namespace, so killing it ends everything it started.
  pid_t pid = static_cast<pid_t>(
      syscall(SYS_clone, SIGCHLD | sandbox.clone_flags, nullptr, nullptr, nullptr, nullptr));
  if (pid < 0) {
    int e = errno;
    for (int fd :
         {in_sp[0], in_sp[1], out_p[0], out_p[1], err_p[0], err_p[1], exec_p[0], exec_p[1]})
      close(fd);
    RemoveSandboxDir(sandbox.work_dir);
    return Status::Unavailable(std::string("clone: ") + strerror(e));
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own group: a timeout kills whatever the function spawned, too
    dup2(in_sp[1], 0);
    dup2(out_p[1], 1);
    dup2(err_p[1], 2);
    int report = exec_p[1];
    if (report <= 2) report = fcntl(report, F_DUPFD_CLOEXEC, 3);
    // Drop every inherited descriptor of the server but the exec-failure pipe.
    if (report > 3) close_range(3, report - 1, 0);
    close_range(report + 1, ~0u, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    int err = EnterSandboxInChild(sandbox, as_bytes);
    if (err != 0) {
      (void)!write(report, &err, sizeof err);
      _exit(127);
    }
    if (chdir(dir) != 0) {
      err = errno;
    } else {
      execve(argv[0], argv.data(), envp.data());
      err = errno;
    }
    (void)!write(report, &err, sizeof err);
    _exit(127);
  }
  close(in_sp[1]);
  close(out_p[1]);
  close(err_p[1]);
  close(exec_p[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(exec_p[0], &child_errno, sizeof child_errno);  // EOF: exec succeeded
  } while (n < 0 && errno == EINTR);
  close(exec_p[0]);
  std::unique_ptr<Worker> w(new Worker(pid, in_sp[0], out_p[0], err_p[0], spec.name));
  w->work_dir_ = sandbox.work_dir;
  if (n == sizeof child_errno) {
    return Status::Unavailable("cannot start " + args[0] + " in " + spec.code_dir + ": " +
                               strerror(child_errno));
  }
  // Bigger buffers, fewer wake-ups per megabyte (best effort: capped by the kernel).
  int sndbuf = 4 << 20;
  setsockopt(w->in_fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  fcntl(w->out_fd_, F_SETPIPE_SZ, 1 << 20);
  SetNonBlocking(w->in_fd_);
  SetNonBlocking(w->out_fd_);
  SetNonBlocking(w->err_fd_);
  return w;
}

Worker::~Worker() {
  Kill();
  close(in_fd_);
  close(out_fd_);
  close(err_fd_);
  RemoveSandboxDir(work_dir_);
}

void Worker::Kill() {
  if (reaped_) return;
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

bool Worker::Alive() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

std::string Worker::ExitReason(int wait_ms, bool* signaled_kill) {
  for (int i = 0; i < wait_ms && Alive(); i += 5) usleep(5000);
  bool killed_by_us = !reaped_;
  Kill();
  *signaled_kill = false;
  if (killed_by_us) return "Runtime closed its output and was killed";
  if (WIFEXITED(status_))
    return "Runtime.ExitError: Runtime exited with error: exit status " +
           std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) {
    *signaled_kill = WTERMSIG(status_) == SIGKILL;
    return std::string("Runtime.ExitError: Runtime exited with error: signal: ") +
           strsignal(WTERMSIG(status_));
  }
  return "Runtime.ExitError: Runtime exited";
}

void Worker::EmitLog(const LogSink& sink, const std::string& invocation_id,
                     const std::string& request_id, std::string_view text) {
  if (!sink) return;
  if (text.size() > kMaxLogLineBytes) text = text.substr(0, kMaxLogLineBytes);
  LogLine line{function_name_, invocation_id, request_id, pid_, std::string(text)};
  sink(line);
}

bool Worker::ReadLogs(const LogSink& sink, const std::string& invocation_id,
                      const std::string& request_id) {
  char buf[65536];
  bool open = true;
  for (;;) {
    ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n > 0) {
      err_buf_.append(buf, n);
      continue;
    }
    if (n == 0) open = false;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  size_t start = 0;
  for (size_t nl; (nl = err_buf_.find('\n', start)) != std::string::npos; start = nl + 1)
    EmitLog(sink, invocation_id, request_id, std::string_view(err_buf_).substr(start, nl - start));
  err_buf_.erase(0, start);
  if (err_buf_.size() > kMaxLogLineBytes) {  // a line without end: emit what fits
    EmitLog(sink, invocation_id, request_id, err_buf_);
    err_buf_.clear();
  }
  return open;
}

void Worker::FlushLogs(const LogSink& sink, const std::string& invocation_id,
                       const std::string& request_id) {
  ReadLogs(sink, invocation_id, request_id);
  if (!err_buf_.empty()) EmitLog(sink, invocation_id, request_id, err_buf_);
  err_buf_.clear();
}

void Worker::Invoke(const FunctionSpec& spec, const std::string& request,
                    const std::vector<InputRecord>& inputs, const InvokeContext& ctx,
                    int64_t deadline_ns, const LogSink& sink, InvokeResult* result) {
  result->worker_pid = pid_;
  // Lines printed since the last invocation (import time) belong to none; stdout bytes
  // that no request asked for are garbage from the last one and are dropped.
  ReadLogs(sink, "", "");
  out_buf_.clear();
  for (char buf[65536];;) {
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    break;
  }

  const std::string& id = ctx.invocation_id;
  const std::string& rid = result->request_id;
  size_t written = 0, scanned = 0;
  bool err_open = true;
  for (;;) {
    size_t nl = out_buf_.find('\n', scanned);
    if (nl != std::string::npos) {
      FlushLogs(sink, id, rid);  // printed before answering: already in the pipe
      ParseResponse(spec.runtime, std::string_view(out_buf_).substr(0, nl), inputs, result);
      if (nl + 1 < out_buf_.size() && result->ok()) {
        result->records.clear();
        result->error = InvocationError{ErrorKind::kBadResponse, errc::kJsonProcessing,
                                        "the function wrote more than one line of output"};
      }
      out_buf_.clear();
      return;
    }
    scanned = out_buf_.size();
    if (out_buf_.size() > kMaxResponseBytes) {
      Kill();
      FlushLogs(sink, id, rid);
      result->error =
          Err(ErrorKind::kBadResponse, "the function's response exceeds " +
                                           std::to_string(kMaxResponseBytes >> 20) + " MiB");
      return;
    }
    int64_t left_ns = deadline_ns - NowNs();
    if (left_ns <= 0) {
      Kill();
      FlushLogs(sink, id, rid);
      char secs[32];
      snprintf(secs, sizeof secs, "%.2f", spec.timeout_ms / 1000.0);
      result->error =
          Err(ErrorKind::kTimeout, std::string("Task timed out after ") + secs + " seconds");
      return;
    }
    pollfd fds[3];
    int nfds = 0;
    fds[nfds++] = {out_fd_, POLLIN, 0};
    int err_i = -1, in_i = -1;
    if (err_open) {
      err_i = nfds;
      fds[nfds++] = {err_fd_, POLLIN, 0};
    }
    if (written < request.size()) {
      in_i = nfds;
      fds[nfds++] = {in_fd_, POLLOUT, 0};
    }
    int timeout_ms = static_cast<int>(std::min<int64_t>(left_ns / 1000000 + 1, 1000));
    int pr = poll(fds, nfds, timeout_ms);
    if (pr < 0 && errno != EINTR) {
      Kill();
      result->error = Err(ErrorKind::kCrash, std::string("poll: ") + strerror(errno));
      return;
    }
    if (pr <= 0) continue;
    if (in_i >= 0 && fds[in_i].revents) {
      ssize_t n = send(in_fd_, request.data() + written, request.size() - written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written += n;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        written = request.size();  // the worker is gone: its exit is seen on stdout
      }
    }
    if (err_i >= 0 && fds[err_i].revents) err_open = ReadLogs(sink, id, rid);
    if (fds[0].revents) {
      bool eof = false;
      for (;;) {
        ssize_t n = read(out_fd_, chunk_.data(), chunk_.size());
        if (n > 0) {
          out_buf_.append(chunk_.data(), n);
          continue;
        }
        if (n == 0) eof = true;
        if (n < 0 && errno == EINTR) continue;
        break;
      }
      // The answer and the exit can arrive together (a worker that reports a MemoryError
      // and exits, or answers and dies): a whole line already read is the answer.
      // (The pool sees the worker dead before its next use and starts another.)
      if (eof && out_buf_.find('\n', scanned) != std::string::npos) continue;
      if (eof) {
        bool sigkill = false;
        FlushLogs(sink, id, rid);
        std::string why = ExitReason(200, &sigkill);
        FlushLogs(sink, id, rid);
        // The kernel's OOM killer and a failed allocation under RLIMIT_AS that Python
        // cannot report both end in a signal; SIGKILL not sent by us means memory.
        result->error = Err(sigkill ? ErrorKind::kOutOfMemory : ErrorKind::kCrash,
                            (sigkill ? "Runtime.OutOfMemory: " : "") + why);
        return;
      }
    }
  }
}

}  // namespace millrace::transform
