#include "formats/parquet/schema.h"

#include <cmath>
#include <set>

#include "common/json_writer.h"

namespace millrace::formats::parquet {

const char* ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kInt32:
      return "int32";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat:
      return "float";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBinary:
      return "binary";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestampMillis:
      return "timestamp_ms";
    case ColumnType::kTimestampMicros:
      return "timestamp_us";
    case ColumnType::kDecimal:
      return "decimal";
  }
  return "?";
}

Status ValidateSchema(const ParquetSchema& schema) {
  if (schema.columns.empty()) return Status::InvalidArgument("parquet schema has no columns");
  std::set<std::string> names;
  for (const ParquetColumn& c : schema.columns) {
    if (c.name.empty()) return Status::InvalidArgument("parquet column with an empty name");
    if (!names.insert(c.name).second)
      return Status::InvalidArgument("parquet column '" + c.name + "' appears twice");
    if (c.type == ColumnType::kDecimal &&
        (c.precision < 1 || c.precision > 38 || c.scale < 0 || c.scale > c.precision)) {
      return Status::InvalidArgument("parquet column '" + c.name + "': decimal(" +
                                     std::to_string(c.precision) + "," + std::to_string(c.scale) +
                                     ") needs 1 <= precision <= 38 and 0 <= scale <= precision");
    }
  }
  return Status::Ok();
}

int DecimalByteWidth(int precision) {
  // The fewest n with 2^(8n-1) > 10^precision - 1.
  int n = 1;
  while ((8.0 * n - 1) < std::ceil(precision * std::log2(10.0))) ++n;
  return n;
}

SchemaElement ToSchemaElement(const ParquetColumn& c) {
  SchemaElement e;
  e.name = c.name;
  e.repetition = c.nullable ? Repetition::kOptional : Repetition::kRequired;
  switch (c.type) {
    case ColumnType::kBoolean:
      e.type = PhysicalType::kBoolean;
      break;
    case ColumnType::kInt32:
      e.type = PhysicalType::kInt32;
      break;
    case ColumnType::kInt64:
      e.type = PhysicalType::kInt64;
      break;
    case ColumnType::kFloat:
      e.type = PhysicalType::kFloat;
      break;
    case ColumnType::kDouble:
      e.type = PhysicalType::kDouble;
      break;
    case ColumnType::kString:
      e.type = PhysicalType::kByteArray;
      e.converted_type = ConvertedType::kUtf8;
      e.logical_type.kind = LogicalType::Kind::kString;
      break;
    case ColumnType::kBinary:
      e.type = PhysicalType::kByteArray;
      break;
    case ColumnType::kDate:
      e.type = PhysicalType::kInt32;
      e.converted_type = ConvertedType::kDate;
      e.logical_type.kind = LogicalType::Kind::kDate;
      break;
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros: {
      bool ms = c.type == ColumnType::kTimestampMillis;
      e.type = PhysicalType::kInt64;
      // The converted types mean "UTC-adjusted", which is what we write.
      e.converted_type = ms ? ConvertedType::kTimestampMillis : ConvertedType::kTimestampMicros;
      e.logical_type.kind = LogicalType::Kind::kTimestamp;
      e.logical_type.unit = ms ? LogicalType::TimeUnit::kMillis : LogicalType::TimeUnit::kMicros;
      e.logical_type.adjusted_to_utc = true;
      break;
    }
    case ColumnType::kDecimal:
      if (c.precision <= 9) {
        e.type = PhysicalType::kInt32;
      } else if (c.precision <= 18) {
        e.type = PhysicalType::kInt64;
      } else {
        e.type = PhysicalType::kFixedLenByteArray;
        e.type_length = DecimalByteWidth(c.precision);
      }
      e.converted_type = ConvertedType::kDecimal;
      e.precision = c.precision;
      e.scale = c.scale;
      e.logical_type.kind = LogicalType::Kind::kDecimal;
      e.logical_type.precision = c.precision;
      e.logical_type.scale = c.scale;
      break;
  }
  return e;
}

std::string SchemaJson(const ParquetSchema& schema) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const ParquetColumn& c : schema.columns) {
    w.BeginObject();
    w.Key("name");
    w.String(c.name);
    w.Key("type");
    w.String(ColumnTypeName(c.type));
    w.Key("nullable");
    w.Bool(c.nullable);
    if (c.type == ColumnType::kDecimal) {
      w.Key("precision");
      w.Int(c.precision);
      w.Key("scale");
      w.Int(c.scale);
    }
    w.EndObject();
  }
  w.EndArray();
  return out;
}

}  // namespace millrace::formats::parquet
