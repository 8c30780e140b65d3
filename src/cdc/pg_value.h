// PostgreSQL values as JSON: a column's text output (what pgoutput sends and COPY writes)
// turned into the change record's images, in one of two image formats.
//
// plain: the row as a natural JSON object. Integers and floats are numbers, numeric is a
//   number when it has at most 15 significant digits (a double holds it exactly) and a
//   string otherwise, bool is true/false, json/jsonb is embedded as JSON, timestamptz is
//   ISO 8601 in UTC ("2026-12-05T21:04:05.123456Z"), timestamp and date ISO 8601 without
//   zone, bytea is base64, arrays are JSON arrays of their elements, NaN and infinities are
//   strings, everything else (text, uuid, enums, intervals, ...) is its text output.
// dynamodb: DynamoDB AttributeValue JSON: {"S": ...}, {"N": "..."} for every number,
//   {"BOOL": ...}, {"NULL": true}, {"B": base64}, {"M": ...} / {"L": ...} for json/jsonb
//   objects and arrays, {"L": ...} for arrays.
//
// The text forms assumed are those of a session with DateStyle=ISO, TimeZone=UTC,
// bytea_output=hex, extra_float_digits=3 (the capture sets them on its connections).
// The format is docs/format/change-record.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"

namespace millrace::cdc {

enum class ImageFormat { kPlain, kDynamoDb };
const char* ImageFormatName(ImageFormat f);  // "plain", "dynamodb"

// What the conversion needs to know of a type (a row of pg_type).
struct TypeInfo {
  uint32_t oid = 0;
  std::string name;     // typname
  char category = 'U';  // typcategory: N numeric, B bool, A array, D date/time, S string, ...
  uint32_t elem = 0;    // for arrays: the element type
  char delim = ',';     // for arrays: the element delimiter
  uint32_t base = 0;    // for domains: the underlying type (converted as that type)
};

// Well-known type oids (pg_type.dat).
namespace oid {
constexpr uint32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26,
                   kJson = 114, kFloat4 = 700, kFloat8 = 701, kMoney = 790, kDate = 1082,
                   kTimestamp = 1114, kTimestampTz = 1184, kNumeric = 1700, kJsonb = 3802;
}

// The types of one database. Starts with the built-in scalar types; the rest (arrays,
// enums, domains) come from the source's pg_type (Add). An unknown oid converts as text.
class TypeMap {
 public:
  TypeMap();
  void Add(TypeInfo t);
  const TypeInfo* Find(uint32_t oid) const;
  bool Knows(uint32_t oid) const { return types_.count(oid) != 0; }

 private:
  std::unordered_map<uint32_t, TypeInfo> types_;
};

// Appends the JSON of the value `text` of type `type_oid` to `out`.
void AppendValue(const TypeMap& types, uint32_t type_oid, std::string_view text, ImageFormat f,
                 std::string* out);
// Appends the JSON of SQL NULL: null (plain) or {"NULL":true} (dynamodb).
void AppendNull(ImageFormat f, std::string* out);

// Decodes one field of COPY's text format (backslash escapes) into `out`. Returns false
// for "\N" (NULL).
bool DecodeCopyField(std::string_view field, std::string* out);

}  // namespace millrace::cdc
