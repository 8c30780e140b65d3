// FileWriter: turns records into the bytes of one dataset file. One writer per file type:
// jsonl and other (the records' bytes), csv and parquet (rows of the dataset's schema,
// typed_writer.cc). Compression is applied at Finish, except for Parquet, which compresses
// each page itself. The delivery layer feeds records and decides when a file is complete.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "formats/table_schema.h"

namespace millrace::formats {

struct InputRecord {
  std::string_view data;  // the record's bytes, as the producer sent them
  std::string_view partition_key;
  int64_t arrival_ms = 0;
  std::string_view sequence_number;  // may be empty: no writer reads it
  std::string_view shard_id;
};

struct FormatSpec {
  std::string file_type;  // jsonl, other, csv, parquet
  // "", gzip, zstd, snappy (the whole file); for parquet the page codec: snappy (also for
  // ""), zstd, gzip or none.
  std::string compression;
  // csv and parquet: the dataset's schema, with columns.
  std::shared_ptr<const TableSchema> schema;
  // csv output.
  bool csv_header = true;
  char csv_delimiter = ',';
  // other: appended after each record (Firehose's AppendDelimiterToRecord); "" for none.
  std::string record_delimiter;
  // Replaces the format's extension in file names when not empty (Firehose's FileExtension).
  std::string file_extension;
  // parquet: a row group is cut when its encoded columns reach this.
  size_t row_group_bytes = size_t{128} << 20;
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
  // Moves the file's bytes so far to the end of `*out`, when the format lets a file be sent
  // in pieces while it is built (csv, uncompressed); Finish then returns the rest. False,
  // moving nothing, for the others.
  virtual bool TakeBytes(std::string* out) {
    (void)out;
    return false;
  }
};

// Checks the spec (unknown type or compression is InvalidArgument naming the value; csv and
// parquet need a schema with columns).
Status ValidateSpec(const FormatSpec& spec);
Result<std::unique_ptr<FileWriter>> NewWriter(const FormatSpec& spec);
// ".jsonl", ".jsonl.gz", ".zst", "" (other, uncompressed), ".csv.gz", ".parquet" ...
std::string FileExtension(const FormatSpec& spec);
std::string ContentType(const FormatSpec& spec);

}  // namespace millrace::formats
