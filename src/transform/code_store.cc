#include "transform/code_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>

namespace millrace::transform {
namespace {

namespace fs = std::filesystem;

Status FsError(const std::error_code& ec, const std::string& what) {
  return Status::FromErrno(ec.value(), what);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A relative path of plain components; the reason it is not, or "".
std::string BadPath(std::string_view path) {
  if (path.empty()) return "an empty name";
  if (path[0] == '/') return "an absolute path";
  if (path.find('\\') != std::string_view::npos) return "a backslash";
  if (path.find('\0') != std::string_view::npos) return "a NUL byte";
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") return "a '..' component";
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return "";
}

// Writes `size` bytes from `read` into a new file (O_EXCL: a duplicate entry fails).
// `shown` names the file in errors (the entry, not the temporary path).
Status WriteFile(const std::string& path, const std::string& shown, mode_t mode,
                 const std::function<Result<size_t>(char*, size_t)>& read) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return Status::InvalidArgument("code: the zip entry '" + shown +
                                     "' is refused: a duplicate of an earlier one");
    return Status::FromErrno(errno, "create " + path);
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  char buf[64 * 1024];
  for (;;) {
    auto n = read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    for (size_t off = 0; off < *n;) {
      ssize_t w = ::write(fd, buf + off, *n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Status::FromErrno(errno, "write " + path);
      off += static_cast<size_t>(w);
    }
  }
  if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync " + path);
  // fchmod: the process umask must not take the executable bit away.
  if (::fchmod(fd, mode) != 0) return Status::FromErrno(errno, "chmod " + path);
  return Status::Ok();
}

Status Bad(const std::string& entry, const std::string& why) {
  return Status::InvalidArgument("code: the zip entry '" + entry + "' is refused: " + why);
}

Status ExtractZip(std::string_view content, const std::string& dir) {
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(content.data(), content.size(), 0, &zerr);
  if (!src) {
    std::string m = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    return Status::Internal("libzip: " + m);
  }
  zip_t* za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
  if (!za) {
    zip_source_free(src);
    std::string m = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    return Status::InvalidArgument("code: not a valid zip archive (" + m + ")");
  }
  zip_error_fini(&zerr);
  std::unique_ptr<zip_t, void (*)(zip_t*)> closer(za, [](zip_t* z) { zip_discard(z); });

  zip_int64_t n = zip_get_num_entries(za, 0);
  if (n < 0) return Status::InvalidArgument("code: not a valid zip archive");
  if (static_cast<uint64_t>(n) > CodeStore::kMaxFiles)
    return Status::InvalidArgument("code: the zip has " + std::to_string(n) + " entries; at most " +
                                   std::to_string(CodeStore::kMaxFiles));
  uint64_t total = 0;
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* raw = zip_get_name(za, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_GUESS);
    if (!raw) return Status::InvalidArgument("code: a zip entry has no name");
    std::string name = raw;
    if (std::string why = BadPath(name); !why.empty()) return Bad(name, "it has " + why);
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(za, static_cast<zip_uint64_t>(i), 0, &opsys, &attr) != 0)
      return Bad(name, "its attributes are unreadable");
    mode_t unix_mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attr >> 16) : 0;
    if (S_ISLNK(unix_mode)) return Bad(name, "symbolic links are not allowed");
    if (unix_mode != 0 && (unix_mode & S_IFMT) != 0 && !S_ISREG(unix_mode) && !S_ISDIR(unix_mode))
      return Bad(name, "only files and directories are allowed");

    const bool is_dir = name.back() == '/' || S_ISDIR(unix_mode);
    fs::path target = fs::path(dir) / name;
    std::error_code ec;
    fs::create_directories(is_dir ? target : target.parent_path(), ec);
    if (ec) return FsError(ec, "create directories for " + name);
    if (is_dir) continue;

    zip_file_t* zf = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
    if (!zf) return Bad(name, std::string("cannot be read: ") + zip_strerror(za));
    std::unique_ptr<zip_file_t, void (*)(zip_file_t*)> fcloser(
        zf, [](zip_file_t* f) { zip_fclose(f); });
    const mode_t mode = (unix_mode & 0111) ? 0700 : 0600;
    MILLRACE_RETURN_IF_ERROR(
        WriteFile(target.string(), name, mode, [&](char* buf, size_t cap) -> Result<size_t> {
          zip_int64_t got = zip_fread(zf, buf, cap);
          if (got < 0) return Bad(name, std::string("cannot be read: ") + zip_file_strerror(zf));
          total += static_cast<uint64_t>(got);
          if (total > CodeStore::kMaxUnpackedBytes)
            return Status::InvalidArgument("code: unpacked, the zip is larger than " +
                                           std::to_string(CodeStore::kMaxUnpackedBytes >> 20) +
                                           " MiB");
          return static_cast<size_t>(got);
        }));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno(err, "fsync " + dir);
}

}  // namespace

std::string CodeStore::Dir(const std::string& data_dir, const std::string& name) {
  return data_dir + "/transformations/" + name;
}

Result<std::string> CodeStore::Install(const std::string& data_dir, const std::string& name,
                                       int64_t version, const std::string& file_name,
                                       std::string_view content, const Check& check) {
  if (file_name.empty() || file_name.find('/') != std::string::npos ||
      file_name.find('\\') != std::string::npos || file_name == "." || file_name == "..")
    return Status::InvalidArgument("code.file_name: must be a plain file name, not '" + file_name +
                                   "'");
  if (name.empty() || !BadPath(name).empty() || name.find('/') != std::string::npos || name == ".")
    return Status::InvalidArgument("name: not usable as a directory name");
  const bool zip = EndsWith(file_name, ".zip");
  if (!zip && content.size() > kMaxUnpackedBytes)
    return Status::InvalidArgument("code: larger than " + std::to_string(kMaxUnpackedBytes >> 20) +
                                   " MiB");

  // Absolute: workers run in code_dir whatever the server's working directory.
  std::error_code ec;
  const std::string parent = fs::absolute(Dir(data_dir, name), ec).lexically_normal().string();
  if (ec) return FsError(ec, "resolve " + Dir(data_dir, name));
  const std::string final_dir = parent + "/" + std::to_string(version);
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = parent + "/.tmp-" + std::to_string(version) + "-" +
                          std::to_string(::getpid()) + "-" + std::to_string(counter++);
  fs::create_directories(tmp, ec);
  if (ec) return FsError(ec, "create " + tmp);

  Status st;
  if (zip) {
    st = ExtractZip(content, tmp);
  } else {
    size_t off = 0;
    st = WriteFile(tmp + "/" + file_name, file_name, 0600,
                   [&](char* buf, size_t cap) -> Result<size_t> {
                     size_t n = std::min(cap, content.size() - off);
                     std::memcpy(buf, content.data() + off, n);
                     off += n;
                     return n;
                   });
  }
  if (st.ok() && check) st = check(tmp);
  if (st.ok()) {
    // A directory left by an attempt whose catalog write failed; never one in use (the
    // catalog's version only grows, and a version is installed before it is committed).
    fs::remove_all(final_dir, ec);
    if (ec) st = FsError(ec, "remove " + final_dir);
  }
  if (st.ok() && ::rename(tmp.c_str(), final_dir.c_str()) != 0)
    st = Status::FromErrno(errno, "rename " + tmp + " to " + final_dir);
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    fs::remove(parent, ec);  // only if empty: a first install that failed leaves nothing
    return st;
  }
  MILLRACE_RETURN_IF_ERROR(FsyncDir(parent));
  return final_dir;
}

Status CodeStore::Remove(const std::string& data_dir, const std::string& name) {
  std::error_code ec;
  fs::remove_all(Dir(data_dir, name), ec);
  if (ec) return FsError(ec, "remove " + Dir(data_dir, name));
  return Status::Ok();
}

Status CodeStore::RemoveVersion(const std::string& data_dir, const std::string& name,
                                int64_t version) {
  std::error_code ec;
  const std::string dir = Dir(data_dir, name) + "/" + std::to_string(version);
  fs::remove_all(dir, ec);
  if (ec) return FsError(ec, "remove " + dir);
  return Status::Ok();
}

}  // namespace millrace::transform
