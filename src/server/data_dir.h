// The data directory's ownership and privacy.
//
// DataDirLock: one server per data directory. The lock is an exclusive flock(2) on
// <data-dir>/LOCK, held by an open descriptor for the owner's whole life; the kernel drops
// it when the process ends in any way (kill -9 included), so a stale LOCK file never blocks
// a restart. The file holds the owner's pid, for the message a second server prints.
//
// MakePrivate: the data directory holds secrets (the catalog's keys, the iterator key, the
// encryption key) and every record. Everything in it is the server user's alone: new files
// are created 0600 and directories 0700 (the process umask is 077, so SQLite's -wal/-shm
// and every other file follow), and MakePrivate repairs what an older version or an
// operator left readable by others.
#pragma once

#include <string>

#include "common/status.h"

namespace millrace::server {

class DataDirLock {
 public:
  // Creates `dir` (0700) if missing and takes its lock without waiting. FailedPrecondition,
  // naming the directory and the holder's pid, when another process holds it.
  [[nodiscard]] static Result<DataDirLock> Acquire(const std::string& dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Sets the process umask to 077 (files 0600, directories 0700 from here on).
void UsePrivateUmask();

// Creates `dir` if missing, then chmods it and everything below it: directories 0700,
// files 0600 (0700 if they were executable by their owner). Symbolic links are left alone
// and never followed. Returns the number of entries it had to repair.
[[nodiscard]] Result<int> MakePrivate(const std::string& dir);

}  // namespace millrace::server
