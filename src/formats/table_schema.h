// The schema of a typed dataset (csv, parquet) as the dataset API carries it:
//
//   "schema": {"columns": [{"name": "id", "type": "int64", "nullable": false},
//                          {"name": "city", "type": "string", "path": "address.city"}],
//              "input": "auto" | "json" | "csv", "csv_header": ["id", "city"],
//              "csv_delimiter": ",",
//              "inferred": true}
//
// `columns` absent means "infer the columns from the first records delivered"
// (formats/infer.h); an inferred schema says "inferred": true until it is pinned.
// docs/typed-datasets.md is the user-facing contract.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "common/status.h"
#include "formats/parquet/schema.h"

namespace millrace::formats {

// How records are read. kAuto (the default): a record whose first character other than
// blanks is '{' or '[' is JSON, any other a CSV line; kJson and kCsv read every record so.
enum class InputFormat { kAuto, kJson, kCsv };

// Whether `record` is read as JSON under `input`.
bool ReadsAsJson(InputFormat input, std::string_view record);

struct TableColumn {
  parquet::ParquetColumn column;  // name, type, nullable (children for list/struct)
  // JSON records: where the value is in the record, dot-separated object keys ("a.b.c");
  // empty means the column's name. CSV records: unused.
  std::string path;
};

struct TableSchema {
  std::vector<TableColumn> columns;  // empty: to be inferred
  InputFormat input = InputFormat::kAuto;
  // CSV records: the names of the fields of each input line, in order. Columns take the
  // field of their name; without a header they take the fields by position. A line equal
  // to the header (the file's own header line, pushed as a record) is skipped.
  std::vector<std::string> csv_header;
  char csv_delimiter = ',';
  bool inferred = false;  // the columns were inferred, and may still widen (infer.h)

  bool HasColumns() const { return !columns.empty(); }
  parquet::ParquetSchema ToParquet() const;
};

// Reads the "schema" member's value. InvalidArgument naming the member ("schema.columns[2].
// type: unknown type 'str'") otherwise.
Result<TableSchema> ParseTableSchema(simdjson::dom::element schema);
void WriteTableSchema(const TableSchema& schema, JsonWriter* w);
std::string TableSchemaJson(const TableSchema& schema);

}  // namespace millrace::formats
