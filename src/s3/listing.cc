#include "s3/listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "objstore/object_store.h"

namespace millrace::s3 {

namespace {

struct Entry {
  std::string name;
  bool dir = false;
  std::string sort_key;  // name, or name + "/" for a directory (its keys' common start)
};

bool NotAnObject(const std::string& name) {
  return name.size() > 4 && (name.ends_with(".tmp") || name.starts_with(".tmp-"));
}

// The entries of directory fd `dir`, in key order. Closes nothing.
Result<std::vector<Entry>> ReadEntries(int dir_fd) {
  int dup = ::dup(dir_fd);
  if (dup < 0) return Status::FromErrno(errno, "dup");
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    return Status::FromErrno(errno, "fdopendir");
  }
  ::rewinddir(d);
  std::vector<Entry> out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    bool dir = false;
    if (e->d_type == DT_DIR) {
      dir = true;
    } else if (e->d_type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;
      dir = S_ISDIR(st.st_mode);
    } else if (e->d_type != DT_REG) {
      continue;  // links, devices, ...: not objects
    }
    if (!dir && NotAnObject(name)) continue;
    out.push_back({name, dir, dir ? name + "/" : name});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
  return out;
}

class Walker {
 public:
  Walker(const ListRequest& req, ListResult* out) : req_(req), out_(out) {}

  // Whether the page is full.
  bool Full() const {
    return static_cast<int>(out_->objects.size() + out_->common_prefixes.size()) >= req_.max_keys;
  }

  // Walks directory `fd` whose keys start with `base` ("" or "a/b/").
  Status Walk(int fd, const std::string& base) {
    auto entries = ReadEntries(fd);
    if (!entries.ok()) return entries.status();
    for (const Entry& e : *entries) {
      if (stopped_) return Status::Ok();
      const std::string key = base + e.sort_key;  // a directory's ends with '/'
      if (e.dir) {
        // Disjoint from the prefix: nothing in it.
        if (!key.starts_with(req_.prefix) && !req_.prefix.starts_with(key)) continue;
        // Every key in it is <= after: skip it.
        if (!req_.after.empty() && key < req_.after && !req_.after.starts_with(key)) continue;
        if (req_.after_is_prefix && key.starts_with(req_.after)) continue;
        if (std::optional<std::string> cp = CommonPrefix(key); cp && *cp == key) {
          // The whole directory is one common prefix (delimiter "/").
          if (!req_.after.empty() && *cp <= req_.after) continue;
          int sub = ::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0) continue;
          bool any = HasObject(sub);
          ::close(sub);
          if (any) AddPrefix(*cp);
          continue;
        }
        int sub = ::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        Status st = Walk(sub, key);
        ::close(sub);
        MILLRACE_RETURN_IF_ERROR(st);
        continue;
      }
      if (!key.starts_with(req_.prefix)) continue;
      if (!req_.after.empty() && key <= req_.after) continue;
      if (req_.after_is_prefix && key.starts_with(req_.after)) continue;
      if (std::optional<std::string> cp = CommonPrefix(key)) {
        if ((!req_.after.empty() && *cp <= req_.after) ||
            (!out_->common_prefixes.empty() && out_->common_prefixes.back() == *cp))
          continue;
        AddPrefix(*cp);
        continue;
      }
      if (Full()) {
        out_->truncated = true;
        stopped_ = true;
        return Status::Ok();
      }
      // One open for the size, the time and the MD5 attribute.
      int file = ::openat(fd, e.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (file < 0) continue;
      struct stat st;
      char md5[64];
      ssize_t md5_len = -1;
      if (::fstat(file, &st) == 0 && S_ISREG(st.st_mode))
        md5_len = ::fgetxattr(file, objstore::kMd5Xattr, md5, sizeof md5);
      else
        st.st_mode = 0;
      ::close(file);
      if (!S_ISREG(st.st_mode)) continue;
      const int64_t mtime_ms = st.st_mtim.tv_sec * 1000LL + st.st_mtim.tv_nsec / 1000000;
      if (req_.hidden && req_.hidden(key, mtime_ms)) continue;
      // An MD5 (32 hex digits), or a multipart ETag ("<hex>-<parts>").
      out_->objects.push_back({key, static_cast<uint64_t>(st.st_size), mtime_ms,
                               md5_len >= 32 && md5_len <= 48
                                   ? std::string(md5, static_cast<size_t>(md5_len))
                                   : std::string()});
      out_->last = key;
      out_->last_is_prefix = false;
    }
    return Status::Ok();
  }

 private:
  // The common prefix `key` falls under, if the request has a delimiter and the key holds
  // it after the prefix.
  std::optional<std::string> CommonPrefix(const std::string& key) const {
    if (req_.delimiter.empty() || !key.starts_with(req_.prefix)) return std::nullopt;
    size_t at = key.find(req_.delimiter, req_.prefix.size());
    if (at == std::string::npos) return std::nullopt;
    return key.substr(0, at + req_.delimiter.size());
  }

  void AddPrefix(const std::string& cp) {
    if (Full()) {
      out_->truncated = true;
      stopped_ = true;
      return;
    }
    out_->common_prefixes.push_back(cp);
    out_->last = cp;
    out_->last_is_prefix = true;
  }

  // Whether a directory holds at least one object (at any depth).
  static bool HasObject(int fd) {
    auto entries = ReadEntries(fd);
    if (!entries.ok()) return false;
    for (const Entry& e : *entries) {
      if (!e.dir) return true;
      int sub = ::openat(fd, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) continue;
      bool any = HasObject(sub);
      ::close(sub);
      if (any) return true;
    }
    return false;
  }

  const ListRequest& req_;
  ListResult* out_;
  bool stopped_ = false;
};

}  // namespace

Result<ListResult> ListDirectory(const std::string& root, const ListRequest& req) {
  ListResult out;
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return out;  // a dataset that has delivered nothing yet: empty
    return Status::FromErrno(errno, "open " + root);
  }
  Walker w(req, &out);
  Status st = w.Walk(fd, "");
  ::close(fd);
  if (!st.ok()) return st;
  return out;
}

}  // namespace millrace::s3
