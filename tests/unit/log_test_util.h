// Test helpers for the log module: a per-test temporary directory, a FileSystem that
// injects the faults the journal must survive (full disk, torn writes, failing or slow
// fsync), and small helpers to read, damage and walk the files the log writes.
//
// The fault file system wraps a real one (FileSystem::Posix() by default), so the bytes
// that do reach a file are real and can be inspected or reopened afterwards.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "log/file.h"
#include "log/format.h"

namespace millrace::log::testing {

// A fresh directory under /tmp (mkdtemp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/millrace-log-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Wraps a FileSystem and makes chosen writes and syncs fail. Faults (and the write/sync
// counters) apply only to files whose path ends with the target suffix ("" = every file),
// so a test can aim at segments (".seg") without disturbing index writes, or the reverse.
// Thread-safe: the journal's commit thread and the test thread may use it at once.
class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(FileSystem* base = FileSystem::Posix()) : base_(base) {}

  void SetTarget(std::string suffix) {
    std::lock_guard<std::mutex> l(mu_);
    target_ = std::move(suffix);
  }
  // The nth WriteAt from now on a target file (1 = the next one) first writes `torn_bytes`
  // of its buffer (a torn write; 0 = nothing), then fails with NoSpace (ENOSPC).
  void FailNthWrite(int n, size_t torn_bytes = 0) {
    std::lock_guard<std::mutex> l(mu_);
    fail_write_in_ = n;
    torn_bytes_ = torn_bytes;
  }
  // While set, every WriteAt on a target fails with NoSpace having written nothing.
  void SetDiskFull(bool full) {
    std::lock_guard<std::mutex> l(mu_);
    disk_full_ = full;
  }
  // The nth Sync from now on a target file (1 = the next one) fails with IoError (EIO).
  void FailNthSync(int n) {
    std::lock_guard<std::mutex> l(mu_);
    fail_sync_in_ = n;
  }
  // Runs at the start of every Sync of a target file, on the syncing thread, without any
  // lock of this object held: to make fsync slow, or to block it until the test says so.
  void SetSyncHook(std::function<void()> hook) {
    std::lock_guard<std::mutex> l(mu_);
    sync_hook_ = std::move(hook);
  }
  // Clears every armed fault and the hook (counters are kept).
  void ClearFaults() {
    std::lock_guard<std::mutex> l(mu_);
    fail_write_in_ = 0;
    torn_bytes_ = 0;
    disk_full_ = false;
    fail_sync_in_ = 0;
    sync_hook_ = nullptr;
  }

  // Counters, over target files only.
  int64_t writes() const { return Get(&writes_); }
  int64_t failed_writes() const { return Get(&failed_writes_); }
  int64_t syncs() const { return Get(&syncs_); }
  int64_t failed_syncs() const { return Get(&failed_syncs_); }
  // Bytes returned by ReadAt, over every file (to see what recovery had to read).
  int64_t bytes_read() const { return Get(&bytes_read_); }

  Result<std::unique_ptr<File>> Open(const std::string& path, bool create) override {
    auto f = base_->Open(path, create);
    if (!f.ok()) return f.status();
    return std::unique_ptr<File>(new FaultFile(this, path, std::move(*f)));
  }
  Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    return base_->List(dir);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }

 private:
  class FaultFile final : public File {
   public:
    FaultFile(FaultInjectingFileSystem* fs, std::string path, std::unique_ptr<File> base)
        : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}
    Status WriteAt(uint64_t offset, const char* data, size_t n) override {
      size_t torn = 0;
      if (fs_->ShouldFailWrite(path_, &torn)) {
        torn = std::min(torn, n);
        if (torn > 0) MILLRACE_RETURN_IF_ERROR(base_->WriteAt(offset, data, torn));
        return Status::NoSpace("write " + path_ + ": No space left on device (injected)");
      }
      return base_->WriteAt(offset, data, n);
    }
    Status ReadAt(uint64_t offset, size_t n, std::string* out) const override {
      Status st = base_->ReadAt(offset, n, out);
      fs_->AddBytesRead(out->size());
      return st;
    }
    Status Sync() override {
      if (fs_->ShouldFailSync(path_))
        return Status::IoError("fdatasync " + path_ + ": Input/output error (injected)");
      return base_->Sync();
    }
    Status Truncate(uint64_t size) override { return base_->Truncate(size); }
    Result<uint64_t> Size() const override { return base_->Size(); }

   private:
    FaultInjectingFileSystem* const fs_;
    const std::string path_;
    const std::unique_ptr<File> base_;
  };

  bool IsTarget(const std::string& path) const {
    return path.size() >= target_.size() &&
           path.compare(path.size() - target_.size(), target_.size(), target_) == 0;
  }
  bool ShouldFailWrite(const std::string& path, size_t* torn) {
    std::lock_guard<std::mutex> l(mu_);
    if (!IsTarget(path)) return false;
    ++writes_;
    bool fail = disk_full_;
    *torn = 0;
    if (fail_write_in_ > 0 && --fail_write_in_ == 0) {
      fail = true;
      *torn = torn_bytes_;
    }
    if (fail) ++failed_writes_;
    return fail;
  }
  bool ShouldFailSync(const std::string& path) {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!IsTarget(path)) return false;
      ++syncs_;
      hook = sync_hook_;
    }
    if (hook) hook();
    std::lock_guard<std::mutex> l(mu_);
    if (fail_sync_in_ > 0 && --fail_sync_in_ == 0) {
      ++failed_syncs_;
      return true;
    }
    return false;
  }
  void AddBytesRead(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    bytes_read_ += static_cast<int64_t>(n);
  }
  int64_t Get(const int64_t* counter) const {
    std::lock_guard<std::mutex> l(mu_);
    return *counter;
  }

  FileSystem* const base_;
  mutable std::mutex mu_;
  std::string target_;
  int fail_write_in_ = 0;
  size_t torn_bytes_ = 0;
  bool disk_full_ = false;
  int fail_sync_in_ = 0;
  std::function<void()> sync_hook_;
  int64_t writes_ = 0, failed_writes_ = 0, syncs_ = 0, failed_syncs_ = 0, bytes_read_ = 0;
};

// ---- Raw file access, bypassing the log (to inspect and damage what it wrote) ----

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline void AppendBytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline uint64_t FileSize(const std::string& path) {
  return static_cast<uint64_t>(std::filesystem::file_size(path));
}

// XORs one byte of a file in place.
inline void FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x40) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(static_cast<uint8_t>(c) ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// The numbers of the segments in `dir`, ascending.
inline std::vector<uint64_t> SegmentNumbers(const std::string& dir) {
  std::vector<uint64_t> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.size() == 24 && n.compare(20, 4, ".seg") == 0)
      out.push_back(std::stoull(n.substr(0, 20)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A frame found by walking a segment file from its header.
struct FrameAt {
  uint64_t offset = 0;
  FrameHeader header;
  uint64_t size() const { return kFrameHeaderSize + header.payload_len; }
};

// Walks an undamaged segment file frame by frame (stops at the first frame that does not
// decode or verify).
inline std::vector<FrameAt> WalkFrames(const std::string& path) {
  std::string all = ReadBytes(path);
  std::vector<FrameAt> out;
  uint64_t pos = kSegmentHeaderSize;
  while (pos + kFrameHeaderSize <= all.size()) {
    FrameAt f;
    f.offset = pos;
    if (!DecodeFrameHeader(std::string_view(all).substr(pos), &f.header).ok()) break;
    if (pos + f.size() > all.size()) break;
    if (!VerifyFrame(std::string_view(all).substr(pos, f.size()))) break;
    out.push_back(f);
    pos += f.size();
  }
  return out;
}

}  // namespace millrace::log::testing
