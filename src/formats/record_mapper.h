// RecordMapper: turns the records of a stream into rows of a typed dataset's schema.
//
// JSON input: a record is one JSON object, or several (JSON lines: one object per line);
// each gives a row, its columns picked by name or by `path` (object keys separated by
// dots), a missing member being null. CSV input: a record is one CSV line (RFC 4180, the
// schema's delimiter; a trailing newline is ignored); columns take their field by the
// declared header's names, or by position. Values are converted by values.h's rules.
//
// A record that does not fit (not JSON, not an object, a required column missing or null,
// a value that does not convert) is an error naming the column and the reason, and gives
// no row at all. Not thread-safe; one per file writer.
#pragma once

#include <simdjson.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"
#include "formats/table_schema.h"

namespace millrace::formats {

class RecordMapper {
 public:
  // `schema` must have columns.
  explicit RecordMapper(const TableSchema& schema);
  RecordMapper(const RecordMapper&) = delete;
  RecordMapper& operator=(const RecordMapper&) = delete;

  // Where rows go: a callable taking std::span<const parquet::ParquetValue>, returning
  // Status, borrowed for the call (no allocation, no std::function).
  class RowSink {
   public:
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RowSink>>>
    RowSink(F&& f)  // NOLINT: implicit, like a function_ref; `f` outlives the call
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, std::span<const parquet::ParquetValue> row) {
            return (*static_cast<std::remove_reference_t<F>*>(o))(row);
          }) {}
    Status operator()(std::span<const parquet::ParquetValue> row) const {
      return call_(object_, row);
    }

   private:
    void* object_;
    Status (*call_)(void*, std::span<const parquet::ParquetValue>);
  };
  // The sink converts list elements and struct fields itself, all or nothing per row (the
  // Parquet writer does): a record of one row then skips the mapper's own check of them.
  void set_sink_checks_nested(bool v) { sink_checks_nested_ = v; }
  // Maps `record` and, if every row of it fits, hands the rows to `sink` in order (none for
  // a CSV header line or a record of blank lines). The values are valid during the call.
  // Returns the first error: the mapper's (nothing was handed over) or the sink's.
  Status Map(std::string_view record, const RowSink& sink);

 private:
  struct Line {
    simdjson::dom::parser parser;
    // CSV input: one per column, as list and struct values point into their documents.
    std::vector<simdjson::dom::parser> parsers;
    std::vector<std::string> scratch;  // one per column
    std::vector<parquet::ParquetValue> values;
  };
  Status MapJson(std::string_view text, Line* line);
  Status MapDocument(simdjson::dom::element doc, Line* line);
  Status MapCsv(std::string_view text, Line* line, bool* header);
  Status CheckNull(size_t column, const parquet::ParquetValue& v) const;
  // Converts (and drops) the elements and fields of column `i`'s list or struct value `v`,
  // as the file writers will, so that a record whose nested value does not convert gives
  // no row (rather than failing in the sink after the rows of its earlier lines).
  Status CheckNested(size_t i, const parquet::ParquetValue& v);
  Status CheckNestedValue(simdjson::dom::element v, const parquet::ParquetColumn& c,
                          const parquet::ParquetColumn& named);
  Line* LineAt(size_t i);

  const TableSchema schema_;
  // Each column with its nested columns named by their path ("tags.element"), for messages.
  std::vector<parquet::ParquetColumn> named_;
  std::string nested_scratch_;
  // JSON input: each column's path, split at the dots; the distinct first keys of the
  // paths (columns are found in one pass over a record's members), each column's first key.
  std::vector<std::vector<std::string>> paths_;
  std::vector<std::string> keys_;
  std::vector<size_t> key_of_;
  std::vector<simdjson::dom::element> found_;  // per key, this record's member
  std::vector<bool> have_;
  // Member position -> key index (-1: none) as last seen: records of one producer keep an
  // order, so a key is usually found by one comparison.
  std::vector<int> guess_;
  bool sink_checks_nested_ = false;
  bool checking_nested_ = true;  // this record's rows
  // CSV input: each column's field index in a line, and the line's field count.
  std::vector<size_t> field_of_;
  size_t fields_expected_ = 0;
  std::vector<std::unique_ptr<Line>> lines_;
  std::vector<std::string_view> fields_;
  std::vector<bool> quoted_;
  std::string csv_scratch_;
};

}  // namespace millrace::formats
