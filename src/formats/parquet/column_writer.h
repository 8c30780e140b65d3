// ColumnWriter: the values of one flat column, encoded into data pages as they arrive and
// handed out one column chunk per row group (docs/format/parquet.md, "Column chunks").
//
// Memory is the encoded, compressed pages of the current chunk, the current page being
// filled, and the dictionary; rows are never kept. Not thread-safe; owned by the
// ParquetFileWriter.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/schema.h"

namespace millrace::formats::parquet {

struct ColumnWriterOptions {
  Codec codec = Codec::kSnappy;
  size_t page_bytes = 1 << 20;  // a page is cut once its uncompressed values reach this
  bool dictionary = true;       // dictionary-encode BYTE_ARRAY columns
  // Once the PLAIN-encoded dictionary of a chunk passes this, the column falls back to
  // PLAIN for the rest of the file (its pages so far keep the dictionary).
  size_t dictionary_bytes = 1 << 20;
  // BYTE_ARRAY min/max longer than this are left out of the statistics.
  size_t max_statistics_bytes = 4096;
};

// A value checked against its column and reduced to its physical form.
struct Cell {
  bool null = true;
  bool b = false;
  int64_t i = 0;       // INT32 and INT64 (dates, timestamps, decimals up to 18 digits)
  Int128 wide = 0;     // FIXED_LEN_BYTE_ARRAY decimals
  double d = 0;        // FLOAT and DOUBLE
  std::string_view s;  // BYTE_ARRAY; borrowed from the caller's value
};

// The largest single BYTE_ARRAY value: a page (header sizes are int32) must stay < 2 GiB.
inline constexpr size_t kMaxValueBytes = size_t{1} << 30;

class ColumnWriter {
 public:
  // `column` must be valid (ValidateSchema).
  ColumnWriter(const ParquetColumn& column, const ColumnWriterOptions& options);
  ColumnWriter(const ColumnWriter&) = delete;
  ColumnWriter& operator=(const ColumnWriter&) = delete;

  // Checks `v` against the column: InvalidArgument naming the column and the problem.
  Status Convert(const ParquetValue& v, Cell* cell) const;
  // Appends a converted cell. Fails (kInternal) only if a compression library does.
  Status Append(const Cell& cell);

  int64_t NumValues() const { return chunk_values_ + page_levels_; }
  // Encoded pages of this chunk, the page in progress and the dictionary, uncompressed
  // where not yet compressed.
  size_t BufferedBytes() const;

  // Cuts the last page and appends the chunk's pages (dictionary page first) to `*out`,
  // whose size is the chunk's file offset; returns its metadata. The writer then starts a
  // new chunk (a new dictionary, unless the column has fallen back to PLAIN).
  Result<ColumnChunk> FinishChunk(std::string* out);

 private:
  Status FlushPage();
  void AppendPlain(const Cell& cell, std::string* out);
  void UpdateStatistics(const Cell& cell);
  Statistics EncodeStatistics() const;
  size_t PageEstimate() const;

  const ParquetColumn column_;
  const SchemaElement element_;
  const ColumnWriterOptions options_;
  const bool dictionary_column_;  // a BYTE_ARRAY column with the dictionary option on
  bool use_dictionary_;           // false once this column has fallen back to PLAIN

  // The page in progress.
  std::vector<uint32_t> def_levels_;  // nullable columns only
  int64_t page_levels_ = 0;
  int64_t page_non_null_ = 0;
  std::string page_plain_;              // PLAIN values (when not dictionary-encoding)
  int64_t page_bools_ = 0;              // BOOLEAN values packed into page_plain_ so far
  std::vector<uint32_t> page_indices_;  // dictionary indices (when dictionary-encoding)
  bool page_uses_dictionary_ = false;

  // The chunk in progress.
  std::string chunk_pages_;  // data pages: header + compressed body each
  int64_t chunk_values_ = 0;
  int64_t chunk_uncompressed_ = 0;  // data pages, headers included
  bool chunk_plain_pages_ = false, chunk_dictionary_pages_ = false;
  std::unordered_map<std::string, uint32_t> dictionary_;
  std::string dictionary_plain_;  // the entries, PLAIN-encoded, in index order
  uint32_t dictionary_size_ = 0;

  // Statistics of the chunk in progress.
  int64_t null_count_ = 0;
  bool has_min_max_ = false;
  bool min_b_ = true, max_b_ = false;
  Int128 min_i_ = 0, max_i_ = 0;
  double min_d_ = 0, max_d_ = 0;
  std::string min_s_, max_s_;
};

// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool IsValidUtf8(std::string_view s);

// The page-level compression for each codec; snappy is the raw block format (as Parquet
// specifies), not the framing format that whole dataset files use.
Result<std::string> CompressPage(Codec codec, std::string_view body);

}  // namespace millrace::formats::parquet
