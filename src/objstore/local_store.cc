// LocalStore: objects are files under a root directory, the key being the relative path.
//
// Put writes "<16 hex>.tmp" in the store's staging directory (outside the published tree,
// on the same filesystem: by default "<parent>/.staging/<root's name>"; the server uses
// <data-dir>/staging/<dataset>), fsyncs it, renames it over the object and fsyncs the
// object's directory, so a reader (or a crash) sees the old object, the new one or none,
// never a prefix of either, and a folder synced while files are written never holds a
// partial one. A crash between create and rename leaves a file in the staging directory
// only; SweepStaging removes them at start. Names containing ".tmp-" (the temporary files
// of older versions, written beside the object) stay reserved: keys may not contain them,
// and List never shows them.
//
// Stateless beyond the root, so every method is safe from any number of threads: two Puts
// of one key race only on rename(2), which is atomic, and last one wins.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "common/crypto.h"
#include "common/encoding.h"
#include "objstore/keys.h"
#include "objstore/object_store.h"

namespace millrace::objstore {
namespace {

constexpr std::string_view kTempMarker = ".tmp-";

// Closes a file descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, returning close(2)'s errno (0 on success): on NFS and some FUSE file
  // systems a write error surfaces only here.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char buf[16];
  crypto::RandomBytes(buf, bytes);
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out.push_back(kHex[buf[i] >> 4]);
    out.push_back(kHex[buf[i] & 0xf]);
  }
  return out;
}

std::string_view DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return "";
  return path.substr(0, slash);
}

class LocalStore final : public ObjectStore {
 public:
  // Takes ownership of `root_fd`, an O_PATH|O_DIRECTORY descriptor of `root`, and of
  // `staging_fd`, one of `staging`.
  LocalStore(std::string root, int root_fd, std::string staging, int staging_fd)
      : root_(std::move(root)),
        describe_("local:" + root_),
        root_fd_(root_fd),
        staging_(std::move(staging)),
        staging_fd_(staging_fd) {}
  ~LocalStore() override {
    ::close(root_fd_);
    ::close(staging_fd_);
  }
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  Status Put(const std::string& key, std::string_view data,
             const std::string& content_type) override;
  Result<std::optional<std::string>> Get(const std::string& key) override;
  Result<std::vector<std::string>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return describe_; }

 private:
  Status CheckStoreKey(const std::string& key) const;
  // An IoError or NoSpace for errno `err`, naming the store, the operation, the key and the
  // system call with its path. Callers pass `errno` directly: the other arguments do not
  // allocate, so nothing can change errno before it is read.
  Status Error(int err, std::string_view op, const std::string& key, std::string_view call,
               const std::string& path) const {
    return Status::FromErrno(err, describe_ + ": " + std::string(op) + " '" + key +
                                      "': " + std::string(call) + " " + path);
  }
  Status SyncDir(const std::string& dir, std::string_view op, const std::string& key) const;
  Status MakeParents(const std::string& key) const;
  Status WriteAll(int fd, std::string_view data, const std::string& key,
                  const std::string& path) const;
  Status Walk(const std::string& rel_dir, const std::string& prefix,
              std::vector<std::string>* keys) const;

  // Opens `rel` (a checked key, or one with the temp marker) below the root only: through
  // the root's descriptor with RESOLVE_BENEATH, so neither ".." nor a symbolic link can
  // lead a key out of the store, whatever the directory holds.
  int OpenBeneath(const std::string& rel, int flags, mode_t mode) const;

  const std::string root_;  // without a trailing '/' (unless it is "/")
  const std::string describe_;
  const int root_fd_;
  const std::string staging_;
  const int staging_fd_;
};

int LocalStore::OpenBeneath(const std::string& rel, int flags, mode_t mode) const {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd_, rel.c_str(), &how, sizeof how));
}

Status LocalStore::CheckStoreKey(const std::string& key) const {
  MILLRACE_RETURN_IF_ERROR(CheckKey(key, describe_));
  if (key.find(kTempMarker) != std::string::npos)
    return Status::InvalidArgument(describe_ + ": key '" + key + "' contains '.tmp-', " +
                                   "which names temporary files");
  return Status::Ok();
}

Status LocalStore::SyncDir(const std::string& dir, std::string_view op,
                           const std::string& key) const {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Error(errno, op, key, "open directory", dir);
  if (::fsync(fd.get()) != 0) return Error(errno, op, key, "fsync directory", dir);
  return Status::Ok();
}

// mkdir -p of the key's directories below the root. The parent of every directory on the
// path is fsynced, not only of those this call created: another thread may have created
// one an instant ago and not yet made it durable, and our Put must not be acknowledged
// before its directory entry is. This runs only when a directory was missing, so the
// extra fsyncs are rare.
Status LocalStore::MakeParents(const std::string& key) const {
  std::string_view rel = DirName(key);
  std::string path = root_;
  while (!rel.empty()) {
    size_t slash = rel.find('/');
    std::string parent = path;
    path += '/';
    path += rel.substr(0, slash);
    rel = slash == std::string_view::npos ? std::string_view() : rel.substr(slash + 1);
    if (::mkdir(path.c_str(), 0700) != 0) {
      int err = errno;
      struct stat st;
      if (err != EEXIST) return Error(err, "Put", key, "create directory", path);
      if (::stat(path.c_str(), &st) != 0) return Error(errno, "Put", key, "stat", path);
      if (!S_ISDIR(st.st_mode)) return Error(ENOTDIR, "Put", key, "create directory", path);
    }
    MILLRACE_RETURN_IF_ERROR(SyncDir(parent, "Put", key));
  }
  return Status::Ok();
}

Status LocalStore::WriteAll(int fd, std::string_view data, const std::string& key,
                            const std::string& path) const {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(errno, "Put", key, "write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status LocalStore::Put(const std::string& key, std::string_view data,
                       const std::string& content_type) {
  MILLRACE_RETURN_IF_ERROR(CheckStoreKey(key));
  const std::string path = root_ + "/" + key;
  const std::string_view dir_rel = DirName(key);
  const std::string base = key.substr(dir_rel.empty() ? 0 : dir_rel.size() + 1);
  const std::string dir = dir_rel.empty() ? root_ : root_ + "/" + std::string(dir_rel);
  // The object's directory, reached beneath the root (no link leads out of it).
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY;
  const std::string dir_open = dir_rel.empty() ? "." : std::string(dir_rel);
  int raw_dir = OpenBeneath(dir_open, kDirFlags, 0);
  if (raw_dir < 0 && errno == ENOENT) {  // the directory is missing: the slow path
    MILLRACE_RETURN_IF_ERROR(MakeParents(key));
    raw_dir = OpenBeneath(dir_open, kDirFlags, 0);
  }
  if (raw_dir < 0) return Error(errno, "Put", key, "open directory", dir);
  Fd dir_fd(raw_dir);

  const std::string tmp_name = RandomHex(8) + ".tmp";
  const std::string tmp = staging_ + "/" + tmp_name;
  Fd fd(::openat(staging_fd_, tmp_name.c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return Error(errno, "Put", key, "create", tmp);
  Status s = WriteAll(fd.get(), data, key, tmp);
  if (s.ok()) {  // best effort: without them the S3 API computes the MD5 when asked
    const std::string md5 = HexEncode(crypto::Md5(data).data(), 16);
    (void)::fsetxattr(fd.get(), kMd5Xattr, md5.data(), md5.size(), 0);
    if (!content_type.empty())
      (void)::fsetxattr(fd.get(), kContentTypeXattr, content_type.data(), content_type.size(), 0);
  }
  if (s.ok() && ::fsync(fd.get()) != 0) s = Error(errno, "Put", key, "fsync", tmp);
  if (int err = fd.Close(); s.ok() && err != 0) s = Error(err, "Put", key, "close", tmp);
  if (s.ok() && ::renameat(staging_fd_, tmp_name.c_str(), dir_fd.get(), base.c_str()) != 0) {
    int err = errno;
    s = err == EXDEV
            ? Status::FailedPrecondition(describe_ + ": Put '" + key + "': the staging directory " +
                                         staging_ + " is on another filesystem than " + dir +
                                         "; files are moved into place by rename")
            : Error(err, "Put", key, "rename", tmp + " to " + path);
  }
  if (!s.ok()) {
    ::unlinkat(staging_fd_, tmp_name.c_str(), 0);  // best effort; swept at the next start
    return s;
  }
  if (::fsync(dir_fd.get()) != 0) return Error(errno, "Put", key, "fsync directory", dir);
  return Status::Ok();
}

Result<std::optional<std::string>> LocalStore::Get(const std::string& key) {
  MILLRACE_RETURN_IF_ERROR(CheckStoreKey(key));
  const std::string path = root_ + "/" + key;
  Fd fd(OpenBeneath(key, O_RDONLY, 0));
  if (fd.get() < 0) {
    // ENOTDIR: a segment of the key is a file, so there can be no object under it. ELOOP,
    // EXDEV: a link on the way, which no object of ours is.
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == EXDEV)
      return std::optional<std::string>();
    return Error(errno, "Get", key, "open", path);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error(errno, "Get", key, "stat", path);
  if (!S_ISREG(st.st_mode)) return std::optional<std::string>();  // a directory: no object

  // Objects are replaced by rename, never rewritten in place, so st_size is the size.
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t have = 0;
  while (have < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + have, out.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(errno, "Get", key, "read", path);
    }
    if (n == 0) break;  // shorter than it was: someone truncated it behind our back
    have += static_cast<size_t>(n);
  }
  out.resize(have);
  return std::optional<std::string>(std::move(out));
}

// Adds to `keys` every regular file below root_/rel_dir whose key starts with `prefix`,
// descending only into directories that can hold such keys. `rel_dir` is "" or ends in '/'.
Status LocalStore::Walk(const std::string& rel_dir, const std::string& prefix,
                        std::vector<std::string>* keys) const {
  const std::string dir = rel_dir.empty() ? root_ : root_ + "/" + rel_dir;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    // Missing: nothing under this prefix (or the directory was just deleted).
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return Error(errno, "List", prefix, "open directory", dir);
  }
  Status s;
  std::vector<std::string> subdirs;
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) s = Error(errno, "List", prefix, "read directory", dir);
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == ".." || name.find(kTempMarker) != std::string_view::npos) continue;
    std::string rel = rel_dir + std::string(name);
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {  // some file systems (XFS without ftype, old NFS) do not say
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_REG && rel.starts_with(prefix)) {
      keys->push_back(std::move(rel));
    } else if (type == DT_DIR) {
      rel += '/';
      if (rel.starts_with(prefix) || prefix.starts_with(rel)) subdirs.push_back(std::move(rel));
    }
  }
  ::closedir(d);
  for (const std::string& sub : subdirs) {
    if (!s.ok()) break;
    s = Walk(sub, prefix, keys);
  }
  return s;
}

Result<std::vector<std::string>> LocalStore::List(const std::string& prefix) {
  MILLRACE_RETURN_IF_ERROR(CheckPrefix(prefix, describe_));
  std::vector<std::string> keys;
  // Start at the deepest directory the prefix names in full ("2026/11/" of "2026/11/2").
  size_t slash = prefix.rfind('/');
  std::string start = slash == std::string::npos ? "" : prefix.substr(0, slash + 1);
  MILLRACE_RETURN_IF_ERROR(Walk(start, prefix, &keys));
  std::sort(keys.begin(), keys.end());
  return keys;
}

Status LocalStore::Delete(const std::string& key) {
  MILLRACE_RETURN_IF_ERROR(CheckStoreKey(key));
  const std::string path = root_ + "/" + key;
  if (::unlinkat(root_fd_, key.c_str(), 0) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();  // gone already, as S3
    return Error(errno, "Delete", key, "unlink", path);
  }
  // Empty directories stay: removing them would race with a Put creating a file there.
  return SyncDir(std::string(DirName(path)), "Delete", key);
}

}  // namespace

namespace {

// Creates `dir` (and its parents, 0700) if missing and opens it O_PATH.
Result<int> OpenDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::FromErrno(ec.value(), "local:" + dir + ": create directory");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno(errno, "local:" + dir + ": stat");
  if (!S_ISDIR(st.st_mode)) return Status::FromErrno(ENOTDIR, "local:" + dir + ": not a directory");
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "local:" + dir + ": open");
  return fd;
}

std::string Trimmed(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<std::unique_ptr<ObjectStore>> NewLocalStore(const std::string& root,
                                                   const std::string& staging) {
  if (root.empty()) return Status::InvalidArgument("local object store: the root is empty");
  const std::string r = Trimmed(root);
  std::string st = Trimmed(staging);
  if (st.empty()) {
    std::filesystem::path p(r);
    st = (p.parent_path() / ".staging" / p.filename()).string();
  }
  auto root_fd = OpenDir(r);
  if (!root_fd.ok()) return root_fd.status();
  auto staging_fd = OpenDir(st);
  if (!staging_fd.ok()) {
    ::close(*root_fd);
    return staging_fd.status();
  }
  return std::unique_ptr<ObjectStore>(std::make_unique<LocalStore>(r, *root_fd, st, *staging_fd));
}

Status SweepStaging(const std::string& staging_root) {
  std::error_code ec;
  std::filesystem::directory_iterator it(staging_root, ec);
  if (ec)
    return ec.value() == ENOENT ? Status::Ok()
                                : Status::FromErrno(ec.value(), "sweep " + staging_root);
  for (const auto& entry : it) {
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) return Status::FromErrno(ec.value(), "sweep " + entry.path().string());
  }
  return Status::Ok();
}

}  // namespace millrace::objstore
