// CsvFileWriter: builds one CSV file (RFC 4180) in memory from typed rows, one line per row,
// for datasets of file type csv. The text form of every column type is the user-facing
// contract in docs/format/datasets.md ("CSV files"); the reader it is checked against is
// DuckDB's read_csv (tests/unit/formats_csv_readers_test.cc).
//
//   auto w = CsvFileWriter::Create(schema, {.header = true, .delimiter = ','});
//   (*w)->AppendRow({int64_t{1}, std::string_view("a")});
//   Result<std::string> file = (*w)->Finish();
//
// Not thread-safe; one writer per file.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "formats/parquet/schema.h"

namespace millrace::formats::csv {

struct CsvOptions {
  bool header = true;    // a first line of the column names
  char delimiter = ',';  // any byte but '"', '\n' and '\r'
};

class CsvFileWriter {
 public:
  // InvalidArgument if the schema is not valid (parquet::ValidateSchema) or the delimiter is
  // '"', '\n' or '\r'.
  static Result<std::unique_ptr<CsvFileWriter>> Create(parquet::ParquetSchema schema,
                                                       CsvOptions options);
  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  // One value per column, in schema order (the alternatives each type accepts are listed on
  // parquet::ParquetValue). InvalidArgument naming the column if a value does not fit it:
  // null in a column that is not nullable, the wrong alternative, invalid UTF-8 in a string
  // or json column, a decimal with more digits than its precision, a list that is not a JSON
  // array or a struct that is not a JSON object. The row is then not written at all and the
  // writer stays usable. Values are only borrowed for the call.
  //
  // The elements of lists and the fields of structs are written as the JSON holds them; they
  // are not checked against the column's children.
  Status AppendRow(std::span<const parquet::ParquetValue> row);
  Status AppendRow(std::initializer_list<parquet::ParquetValue> row) {
    return AppendRow(std::span<const parquet::ParquetValue>(row.begin(), row.size()));
  }

  int64_t RowCount() const { return rows_; }
  size_t BufferedBytes() const { return file_.size(); }  // the file so far

  // The complete file. The writer is spent afterwards (FailedPrecondition on any call).
  Result<std::string> Finish();
  // Moves the rows written so far (and the header) to the end of `*out`; Finish returns
  // only what comes after.
  void TakeBytes(std::string* out) {
    out->append(file_);
    file_.clear();
  }

 private:
  CsvFileWriter(parquet::ParquetSchema schema, CsvOptions options);
  // Quotes the field that starts at file_[start] if it needs it (see the .cc).
  void QuoteIfNeeded(size_t start);

  const parquet::ParquetSchema schema_;
  const CsvOptions options_;
  bool special_[256] = {};     // bytes that make a field quoted: delimiter, '"', '\n', '\r'
  std::vector<uint8_t> scan_;  // per column: whether its text may hold a special byte
  // Minifies list and struct values: the builder simdjson::minify uses, kept so that its
  // buffer is reused from row to row.
  simdjson::internal::string_builder<> json_;
  std::string file_;
  int64_t rows_ = 0;
  bool finished_ = false;
};

// Appends the text of a non-null value of `column` to `*out`, unquoted and unchecked for
// the delimiter (the rules of docs/format/datasets.md, "CSV files"). Appends nothing if the
// value is null or does not fit the column (AppendRow says why).
void AppendValueText(const parquet::ParquetValue& v, const parquet::ParquetColumn& column,
                     std::string* out);

}  // namespace millrace::formats::csv
