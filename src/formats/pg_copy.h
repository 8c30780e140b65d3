// PostgreSQL's binary COPY format ("COPY ... WITH (FORMAT binary)", PostgreSQL's
// documentation of COPY, "Binary Format") for rows of a dataset's schema: what the
// postgresql target loads when the table's columns have the types below, since PostgreSQL
// takes it at about twice the pace of CSV text (no text to parse per value).
//
//   header  "PGCOPY\n\377\r\n\0", int32 flags 0, int32 header extension length 0
//   row     int16 field count, then per field int32 length (-1: NULL) and its bytes
//   trailer int16 -1
// All integers big-endian. Values as each type's binary receive function reads them:
// boolean 1 byte; int4, int8, float4, float8 as their bytes; text as UTF-8 bytes; date as
// int32 days from 2000-01-01; timestamptz as int64 microseconds from 2000-01-01T00:00Z;
// numeric as int16 ndigits, int16 weight, uint16 sign, uint16 dscale and ndigits int16
// base-10000 digits; jsonb as a version byte 1 and the JSON text.
#pragma once

#include <simdjson.h>

#include <memory>
#include <span>
#include <string>

#include "common/status.h"
#include "formats/parquet/schema.h"
#include "formats/writer.h"

namespace millrace::formats {

inline constexpr char kPgCopyContentType[] = "application/x-postgresql-copy-binary";

// The pg_type.typname a column of `c` must have for its binary values ("int8", "numeric",
// "timestamptz", "jsonb", ...; "text" for binary columns, which go as base64 text as in CSV).
std::string PgCopyTypeName(const parquet::ParquetColumn& c);

// Records mapped by `spec.schema` (as the csv writer maps them, the same values refused)
// into binary COPY data. TakeBytes hands over what is made so far; Finish adds the trailer.
Result<std::unique_ptr<FileWriter>> NewPgCopyWriter(const FormatSpec& spec);

namespace detail {
// The rows of binary COPY data: the RowWriter NewPgCopyWriter's writer maps records into.
class PgCopyRows {
 public:
  explicit PgCopyRows(parquet::ParquetSchema schema);
  // One value per column; InvalidArgument naming the column if one does not fit (the row
  // is then not written).
  Status AppendRow(std::span<const parquet::ParquetValue> row);
  int64_t RowCount() const { return rows_; }
  size_t BufferedBytes() const { return file_.size(); }
  void TakeBytes(std::string* out);
  Result<std::string> Finish();

 private:
  const parquet::ParquetSchema schema_;
  simdjson::internal::string_builder<> json_;
  std::string file_;
  int64_t rows_ = 0;
  bool finished_ = false;
};
}  // namespace detail

}  // namespace millrace::formats
