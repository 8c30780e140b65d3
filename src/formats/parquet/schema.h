// The schema of a Parquet file as Millrace's callers state it: flat, named columns of one
// logical type each, required or nullable. How each type is stored (physical type and
// annotations) is docs/format/parquet.md's table, implemented by ToSchemaElement.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "formats/parquet/metadata.h"

namespace millrace::formats::parquet {

enum class ColumnType {
  kBoolean,          // BOOLEAN
  kInt32,            // INT32
  kInt64,            // INT64
  kFloat,            // FLOAT
  kDouble,           // DOUBLE
  kString,           // BYTE_ARRAY, STRING (UTF8); values must be valid UTF-8
  kBinary,           // BYTE_ARRAY
  kDate,             // INT32 DATE: days since 1970-01-01
  kTimestampMillis,  // INT64 TIMESTAMP(MILLIS, UTC): ms since the epoch
  kTimestampMicros,  // INT64 TIMESTAMP(MICROS, UTC): µs since the epoch
  kDecimal,          // DECIMAL(precision, scale): INT32 (p <= 9), INT64 (p <= 18), else
                     // FIXED_LEN_BYTE_ARRAY of the fewest bytes holding p digits (p <= 38)
};

const char* ColumnTypeName(ColumnType t);  // "string", "timestamp_ms", ...

struct ParquetColumn {
  std::string name;
  ColumnType type = ColumnType::kString;
  bool nullable = true;
  int precision = 0;  // kDecimal only: 1..38
  int scale = 0;      // kDecimal only: 0..precision
};

struct ParquetSchema {
  std::vector<ParquetColumn> columns;
};

// Names must be non-empty and unique, at least one column, decimal precision/scale in
// range. InvalidArgument naming the column otherwise.
Status ValidateSchema(const ParquetSchema& schema);

// A decimal's unscaled value (123.45 in DECIMAL(5,2) is 12345).
using Int128 = __int128;

// One cell. Which alternatives a column accepts (anything else is InvalidArgument):
//   boolean: bool; int32, date: int32_t, or int64_t in range; int64, timestamps: int64_t or
//   int32_t; float: float; double: double or float; string, binary: std::string_view (only
//   borrowed for the duration of the append call); decimal: Int128, int64_t or int32_t
//   unscaled, |v| < 10^precision. std::monostate is null (nullable columns only).
using ParquetValue =
    std::variant<std::monostate, bool, int32_t, int64_t, float, double, std::string_view, Int128>;

// The stored form of a column: physical type and annotations.
SchemaElement ToSchemaElement(const ParquetColumn& c);
// The bytes of a FIXED_LEN_BYTE_ARRAY decimal of this precision (19..38 -> 9..16).
int DecimalByteWidth(int precision);
// A description of the schema as JSON, stored in the key-value metadata under
// "millrace.schema": [{"name":..,"type":..,"nullable":..[,"precision":..,"scale":..]}].
std::string SchemaJson(const ParquetSchema& schema);

}  // namespace millrace::formats::parquet
