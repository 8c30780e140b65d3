// The file operations the log needs, behind an interface so tests can inject faults
// (torn writes, full disks, failing fsync) without touching a real disk's behaviour.
// PosixFileSystem is the real one. Every call returns a Status; none throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace millrace::log {

// An open file. Reads (pread) are thread-safe; writes, truncation and sync are made by
// one thread at a time (the log's commit thread).
class File {
 public:
  virtual ~File() = default;
  virtual Status WriteAt(uint64_t offset, const char* data, size_t n) = 0;
  // Reads up to n bytes at offset into *out (resized to what was read; short at EOF).
  virtual Status ReadAt(uint64_t offset, size_t n, std::string* out) const = 0;
  virtual Status Sync() = 0;  // data and the metadata needed to read it back (fdatasync)
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens for reading and writing, creating it if `create` (and failing if absent otherwise).
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, bool create) = 0;
  virtual Status CreateDir(const std::string& path) = 0;                      // mkdir -p
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;  // names only
  virtual Status Remove(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;  // makes creates/renames/removes durable
  virtual bool Exists(const std::string& path) = 0;

  static FileSystem* Posix();
};

// Writes `data` to `path` atomically: a temporary file, fsync, rename, fsync of the dir.
Status WriteFileAtomically(FileSystem* fs, const std::string& dir, const std::string& name,
                           const std::string& data);
Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path);

}  // namespace millrace::log
