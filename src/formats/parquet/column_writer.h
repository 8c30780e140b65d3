// ColumnWriter: the values of one leaf column, encoded into data pages as they arrive and
// handed out one column chunk per row group (docs/format/parquet.md, "Column chunks"). A
// flat column is its own leaf; a list or struct column has one leaf per scalar at the end
// of its tree, fed level entries by a Shredder (shredder.h).
//
// Memory is the encoded, compressed pages of the current chunk, the current page being
// filled (its PLAIN values, or its dictionary indices before they are bit-packed, and the
// levels already encoded), and the dictionary with its hash table; rows are never kept.
// The page and chunk buffers are given back when a chunk is written (WriteChunk). Not
// thread-safe; owned by the ParquetFileWriter.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "formats/parquet/buffer.h"
#include "formats/parquet/dictionary.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/page_compressor.h"
#include "formats/parquet/rle.h"
#include "formats/parquet/schema.h"

namespace millrace::formats::parquet {

struct ColumnWriterOptions {
  Codec codec = Codec::kSnappy;
  // A page is cut, at the end of a row, once its encoded levels and values reach this (or
  // its dictionary indices, 4 bytes each before they are bit-packed).
  size_t page_bytes = 1 << 20;
  // Dictionary-encode the column (any physical type but BOOLEAN) while the dictionary pays:
  // the chunk's first dictionary-encoded page must take fewer bytes with its dictionary
  // than PLAIN, and the PLAIN-encoded dictionary must stay within dictionary_bytes.
  // Otherwise the column falls back to PLAIN for the rest of the file (pages written with
  // the dictionary keep it).
  bool dictionary = true;
  size_t dictionary_bytes = 1 << 20;
  // The trial: until the chunk has a dictionary-encoded page, its first page is also cut
  // once the dictionary's memory (entries and hash table) reaches this, so that a column
  // of distinct values gives up its dictionary before it holds more than this (the file
  // writer's share of the row group budget per leaf).
  size_t dictionary_trial_memory = std::numeric_limits<size_t>::max();
  // BYTE_ARRAY min/max longer than this are left out of the statistics.
  size_t max_statistics_bytes = 4096;
  // Check that string and json values are well-formed UTF-8. A caller whose strings are
  // known to be (parsed by simdjson, which validates its whole input) may turn it off.
  bool validate_utf8 = true;
};

// What the column writers of one file share. They flush one page at a time, so one
// compressor's buffers serve them all.
struct WriterContext {
  explicit WriterContext(Codec codec) : compressor(codec) {}
  PageCompressor compressor;
  // The sum of the writers' BufferedBytes(), kept up to date by each writer as it changes
  // (at the end of every row and when pages and chunks are cut).
  size_t buffered_bytes = 0;
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
  // Set with `hash` (HashBytes(s)) by Convert when the BYTE_ARRAY column is
  // dictionary-encoding: Convert starts loading the dictionary's slot for it, so that the
  // cache miss overlaps the conversion of the row's other values.
  bool hashed = false;
  uint64_t hash = 0;
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
  // `context` (whose compressor must use options.codec) must outlive the writer; without
  // one, the writer has its own.
  ColumnWriter(LeafColumn leaf, const ColumnWriterOptions& options,
               WriterContext* context = nullptr);
  ~ColumnWriter();
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
  // Encoded pages of this chunk, the page in progress (uncompressed) and the dictionary's
  // memory (its values and hash table), as of the last row or cut.
  size_t BufferedBytes() const { return reported_; }

  // Writing a chunk takes three calls, so that the file writer can size its buffer and
  // know the footer before it copies a byte: FinishPages cuts the last page and
  // compresses the dictionary page, returning the chunk's size in bytes (pages and
  // headers); ChunkMetadata describes the chunk as it will lie at `file_offset`;
  // WriteChunk appends it (dictionary page first) to `*out`, whose size must be that
  // offset, gives back the chunk's and the page's memory and starts a new chunk (a new
  // dictionary, unless the column has fallen back to PLAIN). FinishPages fails (kInternal)
  // only if a compression library does.
  Result<size_t> FinishPages();
  ColumnChunk ChunkMetadata(int64_t file_offset) const;
  void WriteChunk(std::string* out);

 private:
  void StartEntry() {
    if (page_levels_ == 0) page_uses_dictionary_ = use_dictionary_;
    ++page_levels_;
  }
  void AppendValue(const Cell& cell);
  void AppendDictionaryValue(const Cell& cell);
  // Looks up the keys in pending_, appending their indices to page_indices_.
  void ResolvePending();
  // A new dictionary entry: statistics, and the fallback once the dictionary is too big.
  void AddedEntry(const Cell& cell);
  // After new entries: dictionary_memory_, and the end of the trial.
  void DictionaryGrew();
  Status EndRow();
  Status FlushPage();
  // Compresses `body` (or, when it is null, the compressor's body() followed by `tail`)
  // and appends it to `*out` behind `header`, whose sizes it fills in.
  Status AppendPage(PageHeader* header, const std::string_view* body, std::string_view tail,
                    ByteBuffer* out);
  void AppendPlain(const Cell& cell, ByteBuffer* out);
  // The dictionary: its entries, their PLAIN size, its memory, its page body (PLAIN
  // values, made in `*scratch` when they are not kept PLAIN), the PLAIN values of the
  // indices of the page in progress (appended to `*out`).
  uint32_t DictionarySize() const;
  size_t DictionaryPlainBytes() const;
  size_t DictionaryMemory() const;
  std::string_view DictionaryPage(ByteBuffer* scratch) const;
  void ExpandIndices(ByteBuffer* out) const;
  void ClearDictionary();
  void UpdateStatistics(const Cell& cell);
  Statistics EncodeStatistics() const;
  size_t PageEstimate() const {
    size_t levels = repetition_levels_.EstimatedBytes() + definition_levels_.EstimatedBytes();
    // Dictionary indices wait unpacked (4 bytes each) until the page is cut: count them at
    // that size, so that a page of narrow indices cannot hold 32 times page_bytes.
    return levels + (page_uses_dictionary_
                         ? 1 + (page_indices_.size() + pending_.size()) * sizeof(uint32_t)
                         : page_plain_.size());
  }
  // Brings BufferedBytes() and the context's sum up to date; `page` is PageEstimate().
  void Report(size_t page) {
    const size_t now = chunk_bytes_ + dictionary_memory_ + page;
    context_->buffered_bytes += now - reported_;
    reported_ = now;
  }

  const LeafColumn leaf_;
  const ColumnType type_;
  const SchemaElement element_;
  const PhysicalType physical_;
  const size_t plain_width_;    // a PLAIN value's bytes for fixed-width types, else 0
  const Int128 decimal_limit_;  // 10^precision for decimals
  const ColumnWriterOptions options_;
  const bool check_utf8_;  // a string or json column, with options_.validate_utf8
  std::unique_ptr<WriterContext> own_context_;
  WriterContext* const context_;
  bool use_dictionary_;         // false once this column has fallen back to PLAIN
  bool cut_after_row_ = false;  // the dictionary passed its limit or ended its trial

  // The page in progress.
  RleBitPackedEncoder repetition_levels_;  // used when max_repetition > 0
  RleBitPackedEncoder definition_levels_;  // used when max_definition > 0
  int64_t page_levels_ = 0;
  int64_t page_non_null_ = 0;
  ByteBuffer page_plain_;             // PLAIN values (when not dictionary-encoding)
  int64_t page_bools_ = 0;            // BOOLEAN values packed into page_plain_ so far
  PodVector<uint32_t> page_indices_;  // dictionary indices (when dictionary-encoding)
  // INT32, INT64, FLOAT and DOUBLE values (their bits) whose index is not looked up yet: a
  // batch at once, so that the cache misses in a large dictionary overlap. They follow the
  // values of page_indices_.
  PodVector<uint64_t> pending_;
  size_t page_indexed_plain_bytes_ = 0;  // the PLAIN size of the values page_indices_ stand for
  bool page_uses_dictionary_ = false;
  std::string header_;  // scratch for page headers

  // The chunk in progress.
  ByteBuffer chunk_pages_;      // data pages: header + compressed body each
  ByteBuffer dictionary_page_;  // header + compressed body, made by FinishPages
  size_t chunk_bytes_ = 0;      // chunk_pages_ and dictionary_page_
  int64_t chunk_values_ = 0;
  int64_t chunk_uncompressed_ = 0;  // pages, headers included
  bool chunk_plain_pages_ = false, chunk_dictionary_pages_ = false;
  // The dictionary of the column's physical type (the others stay empty).
  ByteArrayDictionary bytes_dictionary_;              // BYTE_ARRAY
  FixedDictionary<uint32_t> dictionary32_;            // INT32, FLOAT (its bits)
  FixedDictionary<uint64_t> dictionary64_;            // INT64, DOUBLE (its bits)
  FixedDictionary<unsigned __int128> dictionary128_;  // FIXED_LEN_BYTE_ARRAY decimals
  size_t dictionary_memory_ = 0;  // DictionaryMemory() as of the last new entries
  size_t reported_ = 0;           // BufferedBytes(), as added to context_->buffered_bytes

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

}  // namespace millrace::formats::parquet
