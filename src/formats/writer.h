// FileWriter: turns records into the bytes of one dataset file. One writer per file type
// (jsonl and other here; csv and parquet plug in the same way), compression applied at
// Finish. The delivery layer feeds records and decides when a file is complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace millrace::formats {

struct InputRecord {
  std::string_view data;  // the record's bytes, as the producer sent them
  std::string_view partition_key;
  int64_t arrival_ms = 0;
  std::string_view sequence_number;
  std::string_view shard_id;
};

struct FormatSpec {
  std::string file_type;    // jsonl, other (csv, parquet later)
  std::string compression;  // "", gzip, zstd, snappy
};

// Not thread-safe; one per file being built.
class FileWriter {
 public:
  virtual ~FileWriter() = default;
  // Adds a record. An error means this record cannot be written in this format (the caller
  // sends it to format-conversion-failed/ with the message); the writer is still usable.
  virtual Status Add(const InputRecord& r) = 0;
  virtual size_t RecordCount() const = 0;
  virtual size_t BufferedBytes() const = 0;  // uncompressed
  // The finished file (compressed as asked). The writer is spent afterwards.
  virtual Result<std::string> Finish() = 0;
};

// Checks the spec (unknown type or compression is InvalidArgument naming the value).
Status ValidateSpec(const FormatSpec& spec);
Result<std::unique_ptr<FileWriter>> NewWriter(const FormatSpec& spec);
// ".jsonl", ".jsonl.gz", ".zst", "" (other, uncompressed) ...
std::string FileExtension(const FormatSpec& spec);
std::string ContentType(const FormatSpec& spec);

}  // namespace millrace::formats
