// Values of typed datasets (csv, parquet): how one JSON value or one CSV field becomes a cell
// of a column (the CSV writer, formats/csv/, writes cells back as text). The rules are the
// user-facing contract in docs/typed-datasets.md ("Types"): a value that cannot be converted is an
// error naming the column and the reason, which sends its record to format-conversion-failed/.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "formats/parquet/schema.h"

namespace millrace::formats {

using parquet::ColumnType;
using parquet::ParquetColumn;
using parquet::ParquetValue;

// Converts a JSON value to a cell of `column`. JSON null gives std::monostate (the caller
// decides whether null is allowed). For list and struct columns the array or object itself
// is the value (its elements are converted when written). A string the value refers to
// points into the parsed document or into `*scratch`, which this call may overwrite: keep
// one scratch per value that must stay alive (RecordMapper has one per column).
Status JsonToValue(simdjson::dom::element v, const ParquetColumn& column, std::string* scratch,
                   ParquetValue* out);

// Converts the text of a CSV field. Empty text is null. list and struct columns take the
// field as JSON text, parsed with `parser` (the value then points into the parser's
// document, valid until its next parse).
Status TextToValue(std::string_view text, const ParquetColumn& column,
                   simdjson::dom::parser* parser, std::string* scratch, ParquetValue* out);

// Parsers shared by both paths, exposed for tests. ISO 8601 / RFC 3339 timestamps:
// "2024-03-01T12:34:56Z", "...56.123456+02:00", a space instead of T, no zone meaning UTC,
// or a bare date. Returns false if `text` is not one.
bool ParseIsoTimestamp(std::string_view text, int64_t* micros);
bool ParseIsoDate(std::string_view text, int32_t* days);
// A decimal number as text ("-12.345", "1e3") into an unscaled value of `scale` digits,
// rounded half away from zero; false if it is not a number or does not fit `precision`.
bool ParseDecimal(std::string_view text, int precision, int scale, parquet::Int128* unscaled);

}  // namespace millrace::formats
