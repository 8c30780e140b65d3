#include "s3/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/json_writer.h"
#include "objstore/object_store.h"

namespace millrace::s3 {

namespace {

std::vector<std::string_view> Segments(std::string_view key) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    out.push_back(key.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool LooksStaged(std::string_view segment) {
  return segment.starts_with(".tmp-") || segment.ends_with(".tmp");
}

}  // namespace

std::optional<int64_t> ExpiryMs(const Bucket& bucket, std::string_view key, int64_t mtime_ms) {
  std::optional<int64_t> soonest;
  constexpr int64_t kDayMs = 86400LL * 1000;
  for (const LifecycleRule& r : bucket.lifecycle) {
    if (!r.enabled || r.days <= 0 || !key.starts_with(r.prefix)) continue;
    // S3 rounds the expiry up to the next midnight UTC.
    int64_t at = mtime_ms + r.days * kDayMs;
    at = (at + kDayMs - 1) / kDayMs * kDayMs;
    if (!soonest || at < *soonest) soonest = at;
  }
  return soonest;
}

bool ValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  if (name.find("..") != std::string_view::npos) return false;
  // Not formatted as an IP address.
  int dots = 0;
  bool digits = true;
  for (char c : name) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      digits = false;
  }
  return !(digits && dots == 3);
}

std::optional<S3Error> CheckKeyForWrite(std::string_view key) {
  if (key.size() > kMaxKeyBytes) return S3Error{400, "KeyTooLongError", "Your key is too long"};
  if (key.empty()) return S3Error{400, "InvalidArgument", "An object key may not be empty"};
  if (key.find('\0') != std::string_view::npos)
    return S3Error{400, "InvalidArgument", "An object key may not hold a NUL byte"};
  for (std::string_view seg : Segments(key)) {
    if (seg.empty() || seg == "." || seg == ".." || LooksStaged(seg))
      return S3Error{400, "InvalidArgument",
                     "Millrace stores an object as a file at its key's path: a key cannot end "
                     "in '/' or hold an empty, '.' or '..' segment or one named like a "
                     "staging file ('.tmp-*', '*.tmp')"};
    if (seg.size() > 255)
      return S3Error{400, "KeyTooLongError",
                     "Your key is too long (a segment between slashes is over 255 bytes)"};
  }
  return std::nullopt;
}

Result<int> OpenParent(const std::string& root, std::string_view key, bool create,
                       std::string* leaf) {
  std::vector<std::string_view> segs = Segments(key);
  *leaf = std::string(segs.back());
  segs.pop_back();
  // A dataset's folder appears with its first delivery: a write before that makes it.
  if (create) {
    const std::string parent = root.substr(0, root.rfind('/'));  // <data-dir>/datasets
    for (const std::string& d : {parent, root})
      if (!d.empty() && ::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST)
        return Status::FromErrno(errno, "mkdir " + d);
  }
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open bucket directory " + root);
  for (std::string_view seg : segs) {
    const std::string name(seg);
    if (seg.empty() || seg == "." || seg == "..") {
      ::close(fd);
      return Status::NotFound("no such directory");
    }
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
        Status st = Status::FromErrno(errno, "mkdir " + name);
        ::close(fd);
        return st;
      }
      next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    const int err = errno;
    ::close(fd);
    if (next < 0) {
      if (err == ENOTDIR || err == ELOOP)
        return Status::FailedPrecondition("the key's folder " + name +
                                          " is an object (a key cannot be both an object and "
                                          "a folder of other keys in Millrace)");
      return Status::FromErrno(err, "open " + name);
    }
    fd = next;
  }
  return fd;
}

void RemoveEmptyParents(const std::string& root, std::string_view key) {
  std::vector<std::string_view> segs = Segments(key);
  segs.pop_back();
  while (!segs.empty()) {
    std::string path = root;
    for (std::string_view s : segs) path += "/" + std::string(s);
    if (::rmdir(path.c_str()) != 0) return;  // not empty (or gone): its parents are not either
    segs.pop_back();
  }
}

int OpenObject(const std::string& root, std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes || key.find('\0') != std::string_view::npos) {
    errno = ENOENT;
    return -1;
  }
  // No key with a ".", ".." or empty segment was ever stored (CheckKeyForWrite); and
  // "a/../b" must not read "b", which a policy on "a/*" does not cover.
  for (std::string_view seg : Segments(key))
    if (LooksStaged(seg) || seg.empty() || seg == "." || seg == "..") {
      errno = ENOENT;
      return -1;
    }
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  // Beneath the root, without any link: no key reaches outside the bucket.
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const std::string path(key);
  int fd = static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
  const int err = errno;
  ::close(dir);
  errno = err;
  return fd;
}

// ---- Multipart ----------------------------------------------------------------------

namespace {

bool ValidUploadId(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status WriteFileSynced(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno(errno, "create " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Status::FromErrno(errno, "write " + path);
      ::close(fd);
      return st;
    }
    off += static_cast<size_t>(n);
  }
  Status st = ::fsync(fd) == 0 ? Status::Ok() : Status::FromErrno(errno, "fsync " + path);
  ::close(fd);
  return st;
}

Status FsyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  Status st = ::fsync(fd) == 0 ? Status::Ok() : Status::FromErrno(errno, "fsync " + path);
  ::close(fd);
  return st;
}

}  // namespace

std::string MultipartStore::PartName(int number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "part-%05d", number);
  return buf;
}

Status MultipartStore::Create(const MultipartUpload& u) {
  if (!ValidUploadId(u.id)) return Status::InvalidArgument("malformed upload id");
  const std::string dir = Dir(u.id);
  if (::mkdir(dir.c_str(), 0700) != 0) return Status::FromErrno(errno, "mkdir " + dir);
  std::string json;
  JsonWriter w(&json);
  w.BeginObject();
  auto field = [&w](std::string_view k, std::string_view v) {
    w.Key(k);
    w.String(v);
  };
  field("bucket", u.bucket);
  field("key", u.key);
  field("content_type", u.content_type);
  field("headers", u.header_lines);
  field("checksum_algorithm", u.checksum_algorithm);
  w.Key("created_ms");
  w.Int(u.created_ms);
  w.EndObject();
  MILLRACE_RETURN_IF_ERROR(WriteFileSynced(dir + "/upload.json", json));
  MILLRACE_RETURN_IF_ERROR(FsyncDir(dir));
  return FsyncDir(dir_);
}

Result<std::optional<MultipartUpload>> MultipartStore::Get(const std::string& id) const {
  if (!ValidUploadId(id)) return std::optional<MultipartUpload>();
  const std::string path = Dir(id) + "/upload.json";
  simdjson::padded_string json;
  if (simdjson::padded_string::load(path).get(json) != simdjson::SUCCESS)
    return std::optional<MultipartUpload>();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return Status::IoError("corrupt " + path);
  MultipartUpload u;
  u.id = id;
  std::string_view sv;
  int64_t n = 0;
  if (doc["bucket"].get(sv) == simdjson::SUCCESS) u.bucket = std::string(sv);
  if (doc["key"].get(sv) == simdjson::SUCCESS) u.key = std::string(sv);
  if (doc["content_type"].get(sv) == simdjson::SUCCESS) u.content_type = std::string(sv);
  if (doc["headers"].get(sv) == simdjson::SUCCESS) u.header_lines = std::string(sv);
  if (doc["checksum_algorithm"].get(sv) == simdjson::SUCCESS)
    u.checksum_algorithm = std::string(sv);
  if (doc["created_ms"].get(n) == simdjson::SUCCESS) u.created_ms = n;
  return std::optional<MultipartUpload>(std::move(u));
}

Result<std::vector<MultipartUpload>> MultipartStore::List(const std::string& bucket) const {
  std::vector<MultipartUpload> out;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return Status::FromErrno(errno, "open " + dir_);
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d))
    if (ValidUploadId(e->d_name)) ids.push_back(e->d_name);
  ::closedir(d);
  for (const std::string& id : ids) {
    auto u = Get(id);
    if (u.ok() && *u && (*u)->bucket == bucket) out.push_back(std::move(**u));
  }
  std::sort(out.begin(), out.end(), [](const MultipartUpload& a, const MultipartUpload& b) {
    return a.key != b.key ? a.key < b.key : a.created_ms < b.created_ms;
  });
  return out;
}

Result<std::vector<PartInfo>> MultipartStore::Parts(const std::string& id) const {
  std::vector<PartInfo> out;
  const std::string dir = Dir(id);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::FromErrno(errno, "open " + dir);
  DIR* d = ::fdopendir(dfd);
  if (!d) {
    ::close(dfd);
    return Status::FromErrno(errno, "open " + dir);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with("part-") || name.size() != 10) continue;
    PartInfo p;
    p.number = std::atoi(e->d_name + 5);
    int fd = ::openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    char etag[64];
    ssize_t n = ::fgetxattr(fd, objstore::kMd5Xattr, etag, sizeof etag);
    if (::fstat(fd, &st) == 0) {
      p.size = static_cast<uint64_t>(st.st_size);
      p.mtime_ms = st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000;
    }
    ::close(fd);
    // Only an MD5 as Millrace wrote it (32 hex digits): anything else leaves the part without
    // an ETag, so no CompleteMultipartUpload can name it (InvalidPart).
    if (n == 32 &&
        std::string_view(etag, 32).find_first_not_of("0123456789abcdef") == std::string_view::npos)
      p.etag.assign(etag, 32);
    out.push_back(std::move(p));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const PartInfo& a, const PartInfo& b) { return a.number < b.number; });
  return out;
}

Status MultipartStore::Remove(const std::string& id) {
  if (!ValidUploadId(id)) return Status::NotFound("no such upload");
  const std::string dir = Dir(id);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(errno, "open " + dir);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.push_back(e->d_name);
  ::closedir(d);
  // upload.json last: an upload half removed by a crash is still listed, and can be
  // aborted again.
  std::stable_partition(names.begin(), names.end(),
                        [](const std::string& n) { return n != "upload.json"; });
  for (const std::string& n : names) ::unlink((dir + "/" + n).c_str());
  if (::rmdir(dir.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + dir);
  return FsyncDir(dir_);
}

}  // namespace millrace::s3
