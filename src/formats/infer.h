// Schema inference for typed datasets declared without columns (docs/typed-datasets.md,
// "Inferred schemas"). A SchemaInferrer starts from the dataset's schema (no columns, or the
// columns inferred so far) and widens it so that every observed record fits:
//
//   JSON value            type            |  widening of two different types
//   true/false            boolean         |  int64 + double        -> double
//   integer               int64           |  date + timestamp_us   -> timestamp_us
//   other number          double          |  other two scalars     -> string
//   "2024-01-02"          date            |  list/struct + anything else -> json
//   "2024-01-02T03:04:05Z" timestamp_us   |  struct + struct: fields merged
//   other string          string          |  list + list: elements widened
//   [..]                  list<widened elements>
//   {..}                  struct<members, in first-seen order>
//   null / missing        (no type yet; string if none is ever seen)
//
// CSV fields are typed the same way from their text (empty = null); columns are named by
// the declared csv_header, or col_1, col_2, ... Every inferred column is nullable; new
// columns are appended after the known ones; at most kMaxInferredColumns columns.
#pragma once

#include <memory>
#include <string_view>

#include "formats/table_schema.h"

namespace millrace::formats {

inline constexpr size_t kMaxInferredColumns = 1000;

class SchemaInferrer {
 public:
  explicit SchemaInferrer(const TableSchema& start);
  ~SchemaInferrer();
  SchemaInferrer(const SchemaInferrer&) = delete;
  SchemaInferrer& operator=(const SchemaInferrer&) = delete;

  // Widens the schema to fit `record`. Records that cannot be read at all (not JSON, not an
  // object, malformed CSV) are ignored here: they fail conversion later, with the reason.
  void Observe(std::string_view record);

  // The widened schema ("inferred": true). Columns stay empty if nothing was observed.
  TableSchema Schema() const;
  // Whether Schema() differs from the starting schema's columns.
  bool Changed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace millrace::formats
