// The schema of a Parquet (or CSV) file as Millrace's callers state it: named columns of one
// logical type each, required or nullable; a column may be a list of one type or a struct of
// named fields, nested to any depth. How each type is stored (physical type, annotations,
// groups) is docs/format/parquet.md's table, implemented by ToSchemaElement.
#pragma once

#include <simdjson.h>

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
  kJson,             // BYTE_ARRAY, STRING: any JSON value as its minified text
  kList,             // LIST group of `children[0]` (3-level, as parquet-format specifies)
  kStruct,           // group of `children`, in order
};

const char* ColumnTypeName(ColumnType t);  // "string", "timestamp_ms", "list", ...

struct ParquetColumn {
  std::string name;
  ColumnType type = ColumnType::kString;
  bool nullable = true;
  int precision = 0;  // kDecimal only: 1..38
  int scale = 0;      // kDecimal only: 0..precision
  // kList: exactly one, the element (its name is "element"); kStruct: the fields (at least
  // one, unique names). Elements and fields are always nullable; `nullable` of a child is
  // ignored.
  std::vector<ParquetColumn> children;
};

struct ParquetSchema {
  std::vector<ParquetColumn> columns;
};

// Names must be non-empty and unique (columns, and the fields of each struct), at least one
// column, decimal precision/scale in range, a list has one child and a struct at least one,
// scalars none, nesting at most 32 deep. InvalidArgument naming the column path otherwise.
Status ValidateSchema(const ParquetSchema& schema);

// The type names of the dataset API: string, binary, boolean, int32, int64, float, double,
// date, timestamp_ms, timestamp_us, decimal(p,s), json, list<T>, struct<name:T,...>
// (spaces allowed between tokens; struct field names are [A-Za-z0-9_$-]+ or "quoted").
// Parses into `column` (type, precision, scale, children); InvalidArgument saying where the
// text goes wrong.
Status ParseColumnType(std::string_view text, ParquetColumn* column);
// The inverse: "decimal(10,2)", "list<struct<a:int64,b:string>>".
std::string ColumnTypeString(const ParquetColumn& column);

// A decimal's unscaled value (123.45 in DECIMAL(5,2) is 12345).
using Int128 = __int128;
// 10^n (0 <= n <= 38) and the base-10 text of a value: decimal limits and messages.
Int128 Pow10(int n);
std::string Int128ToString(Int128 v);

// One cell. Which alternatives a column accepts (anything else is InvalidArgument):
//   boolean: bool; int32, date: int32_t, or int64_t in range; int64, timestamps: int64_t or
//   int32_t; float: float; double: double or float; string, binary: std::string_view (only
//   borrowed for the duration of the append call); decimal: Int128, int64_t or int32_t
//   unscaled, |v| < 10^precision; json: std::string_view of the text. list, struct: a
//   simdjson element (array, object), whose leaves are converted by formats/values.h's
//   JsonToValue. std::monostate is null (nullable columns only).
using ParquetValue = std::variant<std::monostate, bool, int32_t, int64_t, float, double,
                                  std::string_view, Int128, simdjson::dom::element>;

// The stored form of a column: physical type and annotations; for a list or struct, the
// outer group only (num_children, LIST annotation), whose subtree shredder.h lays out.
SchemaElement ToSchemaElement(const ParquetColumn& c);
// The bytes of a FIXED_LEN_BYTE_ARRAY decimal of this precision (19..38 -> 9..16).
int DecimalByteWidth(int precision);
// A description of the schema as JSON, stored in the key-value metadata under
// "millrace.schema": [{"name":..,"type":..,"nullable":..[,"precision":..,"scale":..]}].
std::string SchemaJson(const ParquetSchema& schema);

}  // namespace millrace::formats::parquet
