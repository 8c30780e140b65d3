#include "transform/sandbox.h"

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "common/logging.h"
#include "transform/code_store.h"

namespace millrace::transform {
namespace {

std::mutex g_mu;
SandboxConfig g_config;  // guarded by g_mu
std::atomic<bool> g_warned_unprivileged{false};

Status Errno(const std::string& what) { return Status::FromErrno(errno, what); }

// The sandbox user's ids: the configured user, else nobody.
Status ResolveUser(const std::string& name, uid_t* uid, gid_t* gid) {
  for (const std::string& n : {name, std::string("nobody")}) {
    struct passwd pw, *found = nullptr;
    char buf[4096];
    if (getpwnam_r(n.c_str(), &pw, buf, sizeof buf, &found) == 0 && found) {
      if (found->pw_uid == 0)
        return Status::FailedPrecondition("sandbox user " + n + " is root; choose another");
      if (n != name) {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true))
          LOG(kWarn) << "transform: sandbox user " << name << " does not exist (make run creates "
                     << "it); transformations run as nobody";
      }
      *uid = found->pw_uid;
      *gid = found->pw_gid;
      return Status::Ok();
    }
  }
  return Status::FailedPrecondition("neither the sandbox user " + name +
                                    " nor nobody exists; create it (useradd --system " + name +
                                    ")");
}

int ChownEntry(const char* path, const struct stat*, int type, struct FTW*);
thread_local uid_t t_uid;
thread_local gid_t t_gid;
int ChownEntry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_SL || type == FTW_SLN) return 0;
  return ::lchown(path, t_uid, t_gid) == 0 ? 0 : 1;
}

int RemoveEntry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP) return ::rmdir(path), 0;
  return ::unlink(path), 0;
}

// Copies the function's code (a tree the code store unpacked, so within its caps) into the
// sandbox. Bounded all the same: a code directory that holds the sandbox's own folder, or
// more than the code store's limits, is refused rather than copied.
Status CopyCode(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  constexpr uint64_t kMaxBytes = CodeStore::kMaxUnpackedBytes;
  constexpr size_t kMaxEntries = CodeStore::kMaxFiles;
  std::error_code ec;
  const fs::path src = fs::weakly_canonical(from, ec);
  if (ec || !fs::is_directory(src, ec))
    return Status::InvalidArgument("code " + from + " is not a directory");
  const std::string dst = fs::weakly_canonical(to, ec).string();
  if (dst.starts_with(src.string() + "/"))
    return Status::InvalidArgument("code " + from +
                                   " holds the sandbox folder; refusing to copy it");
  if (!fs::create_directory(to, ec) || ec)
    return Status::IoError("mkdir " + to + ": " + ec.message());
  uint64_t bytes = 0;
  size_t entries = 0;
  for (auto it = fs::recursive_directory_iterator(src, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (++entries > kMaxEntries)
      return Status::InvalidArgument("code " + from + " has too many files");
    const fs::path rel = fs::relative(it->path(), src, ec);
    const fs::path out = fs::path(to) / rel;
    if (it->is_symlink(ec)) {
      fs::copy_symlink(it->path(), out, ec);
    } else if (it->is_directory(ec)) {
      fs::create_directory(out, ec);
    } else if (it->is_regular_file(ec)) {
      bytes += it->file_size(ec);
      if (bytes > kMaxBytes) return Status::InvalidArgument("code " + from + " is too large");
      fs::copy_file(it->path(), out, ec);
    }
    if (ec) return Status::IoError("copy " + it->path().string() + ": " + ec.message());
  }
  if (ec) return Status::IoError("copy " + from + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

void ConfigureSandbox(const SandboxConfig& config) {
  std::lock_guard<std::mutex> l(g_mu);
  g_config = config;
}

Result<SandboxPlan> PrepareSandbox(const FunctionSpec& spec, const std::string& bootstrap_source) {
  SandboxPlan plan;
  plan.isolate = ::geteuid() == 0;
  if (plan.isolate) {
    std::string user;
    {
      std::lock_guard<std::mutex> l(g_mu);
      user = g_config.user;
    }
    MILLRACE_RETURN_IF_ERROR(ResolveUser(user, &plan.uid, &plan.gid));
    plan.clone_flags =
        CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | (spec.network ? 0 : CLONE_NEWNET);
  } else if (!g_warned_unprivileged.exchange(true)) {
    LOG(kWarn) << "transform: the server does not run as root, so transformations run as its "
                  "own user, limited by rlimits only (see docs/security.md)";
  }

  const char* base = "/tmp";
  std::string templ = std::string(base) + "/millrace-fn-XXXXXX";
  if (!::mkdtemp(templ.data())) return Errno("mkdtemp " + templ);
  plan.work_dir = templ;
  plan.code_dir = plan.work_dir + "/code";
  plan.tmp_dir = plan.work_dir + "/tmp";
  auto fail = [&](Status st) -> Result<SandboxPlan> {
    RemoveSandboxDir(plan.work_dir);
    return st;
  };
  if (Status st = CopyCode(spec.code_dir, plan.code_dir); !st.ok()) return fail(st);
  if (::mkdir(plan.tmp_dir.c_str(), 0700) != 0) return fail(Errno("mkdir " + plan.tmp_dir));
  if (!bootstrap_source.empty()) {
    std::string path = plan.work_dir + "/bootstrap.py";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(Errno("create " + path));
    bool ok = ::write(fd, bootstrap_source.data(), bootstrap_source.size()) ==
              static_cast<ssize_t>(bootstrap_source.size());
    ::close(fd);
    if (!ok) return fail(Errno("write " + path));
  }
  if (plan.isolate) {
    t_uid = plan.uid;
    t_gid = plan.gid;
    if (::nftw(plan.work_dir.c_str(), ChownEntry, 16, FTW_PHYS) != 0)
      return fail(Errno("chown " + plan.work_dir));
  }
  if (::chmod(plan.work_dir.c_str(), 0700) != 0) return fail(Errno("chmod " + plan.work_dir));
  return plan;
}

int EnterSandboxInChild(const SandboxPlan& plan, rlim_t as_bytes) {
  auto limit = [](int resource, rlim_t v) {
    rlimit r{v, v};
    return ::setrlimit(resource, &r);
  };
  if (limit(RLIMIT_AS, as_bytes) != 0 || limit(RLIMIT_CORE, 0) != 0 ||
      limit(RLIMIT_NOFILE, kSandboxMaxOpenFiles) != 0 ||
      limit(RLIMIT_CPU, kSandboxCpuSeconds) != 0 || limit(RLIMIT_FSIZE, kSandboxMaxFileBytes) != 0)
    return errno;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno;
  if (plan.isolate) {
    // NPROC counts the user's processes: set while still root, enforced after the switch.
    if (limit(RLIMIT_NPROC, kSandboxMaxProcesses) != 0) return errno;
    // Raw system calls, not glibc's wrappers: those apply the change to every thread of the
    // process (__nptl_setxid), and a child made by clone(2) inherits the parent's thread
    // list without its threads, so the wrapper waits forever for threads that are not there
    // (seen: a worker started while other threads ran hung in setgroups). The raw calls
    // change this one thread, which is all the child has.
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) return errno;
    if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) return errno;
    if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) return errno;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

void RemoveSandboxDir(const std::string& work_dir) {
  if (work_dir.empty()) return;
  (void)::nftw(work_dir.c_str(), RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace millrace::transform
