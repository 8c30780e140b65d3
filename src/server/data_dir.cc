#include "server/data_dir.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log/file.h"

namespace millrace::server {
namespace {

constexpr const char* kLockName = "LOCK";

std::string ReadSmallFile(int fd) {
  char buf[64];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<DataDirLock> DataDirLock::Acquire(const std::string& dir) {
  MILLRACE_RETURN_IF_ERROR(log::FileSystem::Posix()->CreateDir(dir));
  const std::string path = dir + "/" + kLockName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = ReadSmallFile(fd);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status::FailedPrecondition("the data directory " + dir +
                                        " is in use by another millrace process" +
                                        (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                        "; stop it first, or give this one another --data-dir");
    return Status::FromErrno(err, "lock " + path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "write " + path);
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

void UsePrivateUmask() { ::umask(077); }

namespace {
thread_local int t_repaired = 0;
thread_local int t_error = 0;

int RepairEntry(const char* path, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_SL || type == FTW_SLN) return 0;  // never follow or chmod a link's target
  mode_t want;
  if (type == FTW_D || type == FTW_DP || type == FTW_DNR) {
    want = 0700;
  } else if (S_ISREG(st->st_mode)) {
    want = (st->st_mode & S_IXUSR) ? 0700 : 0600;
  } else {
    return 0;  // sockets, fifos: nothing of ours
  }
  if ((st->st_mode & 07777) == want) return 0;
  if (::chmod(path, want) != 0) {
    t_error = errno;
    return 1;
  }
  ++t_repaired;
  return 0;
}
}  // namespace

Result<int> MakePrivate(const std::string& dir) {
  MILLRACE_RETURN_IF_ERROR(log::FileSystem::Posix()->CreateDir(dir));
  t_repaired = 0;
  t_error = 0;
  if (::nftw(dir.c_str(), RepairEntry, 32, FTW_PHYS) != 0)
    return Status::FromErrno(t_error ? t_error : errno, "make " + dir + " private");
  return t_repaired;
}

}  // namespace millrace::server
