// ColumnWriter: the values of one leaf column, encoded into data pages as they arrive and
// handed out one column chunk per row group (docs/format/parquet.md, "Column chunks"). A
// flat column is its own leaf; a list or struct column has one leaf per scalar at the end
// of its tree, fed level entries by a Shredder (shredder.h).
//
// Memory is the encoded, compressed pages of the current chunk, the current page being
// filled (its values, the dictionary indices before they are bit-packed, the levels
// already encoded), and the dictionary; rows are never kept. Not thread-safe; owned by the
// ParquetFileWriter.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "formats/parquet/dictionary.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/rle.h"
#include "formats/parquet/schema.h"

namespace millrace::formats::parquet {

struct ColumnWriterOptions {
  Codec codec = Codec::kSnappy;
  // A page is cut, at the end of a row, once its encoded levels and values reach this (or
  // its dictionary indices, 4 bytes each before they are bit-packed).
  size_t page_bytes = 1 << 20;
  bool dictionary = true;  // dictionary-encode BYTE_ARRAY columns
  // Once the PLAIN-encoded dictionary of a chunk passes this, the column falls back to
  // PLAIN for the rest of the file (its pages so far keep the dictionary).
  size_t dictionary_bytes = 1 << 20;
  // BYTE_ARRAY min/max longer than this are left out of the statistics.
  size_t max_statistics_bytes = 4096;
};

// A leaf of the schema tree, stored as one column chunk per row group.
struct LeafColumn {
  // The leaf's type. `name` is its dotted path for messages ("a.b", "tags.element");
  // `nullable` says whether a value may be null (always, inside lists and structs).
  ParquetColumn column;
  std::vector<std::string> path;  // path_in_schema: {"tags", "list", "element"}
  int max_definition = 0;         // 0 for a required flat column, 1 for a nullable one
  int max_repetition = 0;         // 0 outside lists
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
  // `leaf.column` must be a valid scalar column (ValidateSchema); max levels <= 255.
  ColumnWriter(LeafColumn leaf, const ColumnWriterOptions& options);
  ColumnWriter(const ColumnWriter&) = delete;
  ColumnWriter& operator=(const ColumnWriter&) = delete;

  const LeafColumn& leaf() const { return leaf_; }

  // Checks `v` against the column: InvalidArgument naming the column and the problem.
  Status Convert(const ParquetValue& v, Cell* cell) const;
  // Appends a converted cell as a whole row of a flat column (definition level 0 for
  // null, else the maximum; no repetition levels). Fails (kInternal) only if a compression
  // library does.
  Status Append(const Cell& cell);
  // Appends one row of a nested leaf: `repetition.size() == definition.size()` level
  // entries (the first with repetition level 0, all levels within the maxima), and
  // `values`, the converted non-null cells in order, one for each entry whose definition
  // level is the maximum. Fails (kInternal) only if a compression library does.
  Status AppendNested(std::span<const uint8_t> repetition, std::span<const uint8_t> definition,
                      std::span<const Cell> values);

  // Level entries (nulls included) in the chunk so far.
  int64_t NumValues() const { return chunk_values_ + page_levels_; }
  // Encoded pages of this chunk, the page in progress and the dictionary, uncompressed
  // where not yet compressed.
  size_t BufferedBytes() const;

  // Cuts the last page and appends the chunk's pages (dictionary page first) to `*out`,
  // whose size is the chunk's file offset; returns its metadata. The writer then starts a
  // new chunk (a new dictionary, unless the column has fallen back to PLAIN).
  Result<ColumnChunk> FinishChunk(std::string* out);

 private:
  void StartEntry() {
    if (page_levels_ == 0) page_uses_dictionary_ = use_dictionary_;
    ++page_levels_;
  }
  void AppendValue(const Cell& cell);
  Status EndRow();
  Status FlushPage();
  void AppendPlain(const Cell& cell, std::string* out);
  void UpdateStatistics(const Cell& cell);
  Statistics EncodeStatistics() const;
  size_t PageEstimate() const;

  const LeafColumn leaf_;
  const ColumnType type_;
  const SchemaElement element_;
  const PhysicalType physical_;
  const ColumnWriterOptions options_;
  const bool dictionary_column_;  // a BYTE_ARRAY column with the dictionary option on
  bool use_dictionary_;           // false once this column has fallen back to PLAIN
  bool cut_after_row_ = false;    // the dictionary passed its limit during this row

  // The page in progress.
  RleBitPackedEncoder repetition_levels_;  // used when max_repetition > 0
  RleBitPackedEncoder definition_levels_;  // used when max_definition > 0
  int64_t page_levels_ = 0;
  int64_t page_non_null_ = 0;
  std::string page_plain_;              // PLAIN values (when not dictionary-encoding)
  int64_t page_bools_ = 0;              // BOOLEAN values packed into page_plain_ so far
  std::vector<uint32_t> page_indices_;  // dictionary indices (when dictionary-encoding)
  bool page_uses_dictionary_ = false;
  std::string page_body_;  // scratch for FlushPage

  // The chunk in progress.
  std::string chunk_pages_;  // data pages: header + compressed body each
  int64_t chunk_values_ = 0;
  int64_t chunk_uncompressed_ = 0;  // data pages, headers included
  bool chunk_plain_pages_ = false, chunk_dictionary_pages_ = false;
  ByteArrayDictionary dictionary_;

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
