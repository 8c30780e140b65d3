// ParquetFileWriter: builds one Parquet file in memory from rows of a schema whose columns
// may be lists and structs (docs/format/parquet.md). Rows are encoded into the pages of
// each leaf column as they arrive (nested values shredded into levels, shredder.h); a row
// group is cut when it reaches `row_group_rows` rows or `row_group_bytes` buffered bytes,
// and its column chunks are appended to the file bytes, which Finish completes with the
// footer.
//
// Memory: the file so far, plus what the open row group buffers (at most about
// `row_group_bytes` and one row: the encoded pages, per leaf the page being filled and the
// chunk's dictionary with its hash table), plus one row's shredded values and one page's
// compression scratch. Cutting a row group moves its chunks into the file one by one,
// giving back each chunk's memory as it goes, so the two are not held at once.
//
//   auto w = ParquetFileWriter::Create(schema, options);  // Result<unique_ptr<...>>
//   (*w)->AppendRow({int64_t{1}, std::string_view("a")});
//   Result<std::string> file = (*w)->Finish();
//
// Not thread-safe; one writer per file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "formats/parquet/column_writer.h"
#include "formats/parquet/schema.h"
#include "formats/parquet/shredder.h"

namespace millrace::formats::parquet {

inline constexpr char kMagic[] = "PAR1";
inline constexpr size_t kMagicSize = 4;
inline constexpr char kCreatedBy[] = "millrace";
inline constexpr char kSchemaMetadataKey[] = "millrace.schema";

struct ParquetWriterOptions {
  Codec codec = Codec::kSnappy;
  int64_t row_group_rows = 1'000'000;
  size_t row_group_bytes = size_t{128} << 20;  // encoded bytes buffered in the row group
  // The data page size: 0 for 1 MiB, or 4 MiB with zstd (whose window spans a page: longer
  // pages compress better). Smaller when the row group budget is small: each leaf's pages
  // are cut at min(page_bytes, max(64 KiB, row_group_bytes / (2 * leaves))) (PageBytes),
  // so that the pages being filled take at most about half of it.
  size_t page_bytes = 0;
  // Dictionary-encode every column but booleans, while it pays (ColumnWriterOptions).
  bool dictionary = true;
  size_t dictionary_bytes = size_t{1} << 20;  // at most 1 GiB
  size_t max_statistics_bytes = 4096;
  // Check that string and json values are well-formed UTF-8 (InvalidArgument if not). A
  // caller whose strings come from a validated source (a simdjson document) may skip it.
  bool validate_utf8 = true;
  // Written after "millrace.schema"; a key may not be "millrace.schema".
  std::vector<std::pair<std::string, std::string>> key_value_metadata;
};

// "snappy", "zstd", "gzip", "none" or "" (uncompressed). InvalidArgument otherwise.
Result<Codec> ParseCodec(std::string_view name);

// The data page size of a file with `leaves` leaf columns under `options` (their pages are
// cut once they reach it, ColumnWriterOptions::page_bytes).
size_t PageBytes(const ParquetWriterOptions& options, size_t leaves);

class ParquetFileWriter {
 public:
  // InvalidArgument if the schema or options are not valid.
  static Result<std::unique_ptr<ParquetFileWriter>> Create(ParquetSchema schema,
                                                           ParquetWriterOptions options);
  ParquetFileWriter(const ParquetFileWriter&) = delete;
  ParquetFileWriter& operator=(const ParquetFileWriter&) = delete;

  // One value per top-level column, in schema order (a list or struct column takes a
  // simdjson element, schema.h). InvalidArgument (naming the column path) if any value or
  // nested value does not fit its column; the row is then not written and the writer stays
  // usable. String values and elements are only borrowed for the call.
  Status AppendRow(std::span<const ParquetValue> row);
  Status AppendRow(std::initializer_list<ParquetValue> row) {
    return AppendRow(std::span<const ParquetValue>(row.begin(), row.size()));
  }

  int64_t RowCount() const { return rows_before_group_ + group_rows_; }
  // The file so far plus what the open row group buffers (pages, the pages being filled,
  // dictionaries and their hash tables).
  size_t BufferedBytes() const { return file_.size() + context_.buffered_bytes; }

  // The complete file. The writer is spent afterwards (FailedPrecondition on any call).
  // The string's capacity may pass its size: a file past 1 MiB holds at least 32 MiB of
  // address space, of which only its bytes are memory (docs/format/parquet.md, "File
  // layout").
  Result<std::string> Finish();

 private:
  ParquetFileWriter(ParquetSchema schema, ParquetWriterOptions options);
  // Moves the open row group's chunks into the file; the last one (from Finish) also
  // appends the footer.
  Status FlushRowGroup(bool last);

  // A top-level column: flat (its one leaf) or nested (its shredder).
  struct Column {
    ColumnWriter* flat = nullptr;
    std::unique_ptr<Shredder> nested;
  };

  const ParquetSchema schema_;
  const ParquetWriterOptions options_;
  WriterContext context_;  // before leaves_, which use it until they are destroyed
  std::vector<std::unique_ptr<ColumnWriter>> leaves_;  // schema order: a row group's chunks
  std::vector<Column> columns_;
  std::vector<Cell> cells_;  // scratch for one row's flat columns
  std::string file_;         // magic and finished row groups
  FileMetaData metadata_;    // row_groups filled as they are cut
  int64_t rows_before_group_ = 0;
  int64_t group_rows_ = 0;
  bool finished_ = false;
};

}  // namespace millrace::formats::parquet
