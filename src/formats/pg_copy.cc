#include "formats/pg_copy.h"

#include <simdjson.h>

#include <cstring>
#include <limits>
#include <span>
#include <variant>

#include "common/encoding.h"

namespace millrace::formats {
namespace detail {
// typed_writer.cc: records through the RecordMapper into a PgCopyRows.
Result<std::unique_ptr<FileWriter>> NewPgCopyRowsWriter(const FormatSpec& spec);
}  // namespace detail

namespace {

using parquet::ColumnType;
using parquet::Int128;
using parquet::ParquetColumn;
using parquet::ParquetValue;

constexpr char kHeader[] = "PGCOPY\n\377\r\n\0";     // 11 bytes, then flags and extension
constexpr int64_t kPgEpochDays = 10957;              // 2000-01-01 in days since 1970-01-01
constexpr int64_t kPgEpochMicros = 946684800000000;  // ... in microseconds

void Put16(std::string* out, uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 2);
}
void Put32(std::string* out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}
void Put64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(b, 8);
}

Status Bad(const ParquetColumn& c, const std::string& what) {
  return Status::InvalidArgument("column '" + c.name + "' (" + parquet::ColumnTypeString(c) +
                                 "): " + what);
}

bool AsInteger(const ParquetValue& v, Int128* out) {
  if (const auto* i = std::get_if<int32_t>(&v)) {
    *out = *i;
  } else if (const auto* l = std::get_if<int64_t>(&v)) {
    *out = *l;
  } else if (const auto* w = std::get_if<Int128>(&v)) {
    *out = *w;
  } else {
    return false;
  }
  return true;
}

// Text PostgreSQL takes: valid UTF-8 without NUL (a NUL would fail the whole COPY).
Status CheckText(const ParquetColumn& c, std::string_view s) {
  if (!simdjson::validate_utf8(s.data(), s.size())) return Bad(c, "the string is not valid UTF-8");
  if (std::memchr(s.data(), '\0', s.size()) != nullptr)
    return Bad(c, "the string holds a NUL byte, which PostgreSQL text cannot");
  return Status::Ok();
}

// numeric's binary form of unscaled `u` with `scale` digits after the point (|u| < 10^38).
void PutNumeric(Int128 u, int scale, std::string* out) {
  const bool negative = u < 0;
  unsigned __int128 a = negative ? -static_cast<unsigned __int128>(u) : u;
  // The decimal digits, most significant first, padded so that the point falls on a
  // multiple of 4 from both ends: base-10000 groups aligned on the point.
  char digits[48];
  int n = 0;
  char rev[40];
  do {
    rev[n++] = static_cast<char>(a % 10);
    a /= 10;
  } while (a != 0);
  while (n < scale + 1) rev[n++] = 0;
  const int point = n - scale;  // integer digits
  const int int_pad = (4 - point % 4) % 4;
  const int frac_pad = (4 - scale % 4) % 4;
  int len = 0;
  for (int i = 0; i < int_pad; ++i) digits[len++] = 0;
  for (int i = n - 1; i >= 0; --i) digits[len++] = rev[i];
  for (int i = 0; i < frac_pad; ++i) digits[len++] = 0;
  uint16_t groups[12];
  const int count = len / 4;
  for (int g = 0; g < count; ++g) {
    const char* d = digits + 4 * g;
    groups[g] = static_cast<uint16_t>(d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]);
  }
  int weight = (point + int_pad) / 4 - 1;
  int first = 0;
  while (first < count && groups[first] == 0) {  // leading zero groups
    ++first;
    --weight;
  }
  int last = count;
  while (last > first && groups[last - 1] == 0) --last;  // trailing zero groups
  const int ndigits = last - first;
  if (ndigits == 0) weight = 0;
  char head[12];
  const uint16_t fields[4] = {
      static_cast<uint16_t>(ndigits), static_cast<uint16_t>(static_cast<int16_t>(weight)),
      static_cast<uint16_t>(negative && ndigits > 0 ? 0x4000 : 0), static_cast<uint16_t>(scale)};
  const uint32_t length = static_cast<uint32_t>(8 + 2 * ndigits);
  for (int i = 0; i < 4; ++i) head[i] = static_cast<char>(length >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) {
    head[4 + 2 * i] = static_cast<char>(fields[i] >> 8);
    head[5 + 2 * i] = static_cast<char>(fields[i]);
  }
  out->append(head, 12);
  for (int i = first; i < last; ++i) Put16(out, groups[i]);
}

// Appends the field (length and bytes) of the non-null value `v`, or says why it does not
// fit `c` (the csv writer's rules, and PostgreSQL's ranges).
Status AppendField(const ParquetValue& v, const ParquetColumn& c,
                   simdjson::internal::string_builder<>* json, std::string* out) {
  Int128 integer = 0;
  switch (c.type) {
    case ColumnType::kBoolean:
      if (const auto* b = std::get_if<bool>(&v)) {
        Put32(out, 1);
        out->push_back(*b ? 1 : 0);
        return Status::Ok();
      }
      return Bad(c, "expected a boolean");
    case ColumnType::kInt32:
    case ColumnType::kDate:
      if (std::holds_alternative<Int128>(v) || !AsInteger(v, &integer))
        return Bad(c, "expected an integer");
      if (integer < std::numeric_limits<int32_t>::min() ||
          integer > std::numeric_limits<int32_t>::max())
        return Bad(c, parquet::Int128ToString(integer) + " is out of the int32 range");
      if (c.type == ColumnType::kDate) {
        const int64_t days = static_cast<int64_t>(integer) - kPgEpochDays;
        Put32(out, 4);
        Put32(out, static_cast<uint32_t>(static_cast<int32_t>(days)));
      } else {
        Put32(out, 4);
        Put32(out, static_cast<uint32_t>(static_cast<int32_t>(integer)));
      }
      return Status::Ok();
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros: {
      if (std::holds_alternative<Int128>(v) || !AsInteger(v, &integer))
        return Bad(c, "expected an integer");
      Int128 value = integer;
      if (c.type == ColumnType::kTimestampMillis) value = value * 1000 - kPgEpochMicros;
      if (c.type == ColumnType::kTimestampMicros) value -= kPgEpochMicros;
      if (value < std::numeric_limits<int64_t>::min() ||
          value > std::numeric_limits<int64_t>::max())
        return Bad(c, "out of range");
      Put32(out, 8);
      Put64(out, static_cast<uint64_t>(static_cast<int64_t>(value)));
      return Status::Ok();
    }
    case ColumnType::kFloat:
      if (const auto* f = std::get_if<float>(&v)) {
        uint32_t bits;
        std::memcpy(&bits, f, 4);
        Put32(out, 4);
        Put32(out, bits);
        return Status::Ok();
      }
      return Bad(c, "expected a float");
    case ColumnType::kDouble: {
      double d;
      if (const auto* f = std::get_if<float>(&v)) {
        d = *f;
      } else if (const auto* x = std::get_if<double>(&v)) {
        d = *x;
      } else {
        return Bad(c, "expected a double");
      }
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      Put32(out, 8);
      Put64(out, bits);
      return Status::Ok();
    }
    case ColumnType::kString:
    case ColumnType::kJson: {
      const auto* s = std::get_if<std::string_view>(&v);
      if (s == nullptr)
        return Bad(c, c.type == ColumnType::kJson ? "expected JSON text" : "expected a string");
      MILLRACE_RETURN_IF_ERROR(CheckText(c, *s));
      const bool jsonb = c.type == ColumnType::kJson;
      Put32(out, static_cast<uint32_t>(s->size() + (jsonb ? 1 : 0)));
      if (jsonb) out->push_back(1);  // jsonb's binary format version
      out->append(*s);
      return Status::Ok();
    }
    case ColumnType::kBinary: {  // base64 text, as in the CSV files
      const auto* s = std::get_if<std::string_view>(&v);
      if (s == nullptr) return Bad(c, "expected a string of bytes");
      const size_t at = out->size();
      Put32(out, 0);
      Base64Encode(*s, out);
      const uint32_t n = static_cast<uint32_t>(out->size() - at - 4);
      for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>(n >> (24 - 8 * i));
      return Status::Ok();
    }
    case ColumnType::kDecimal: {
      if (!AsInteger(v, &integer)) return Bad(c, "expected an unscaled decimal integer");
      Int128 limit = parquet::Pow10(c.precision);
      if (integer <= -limit || integer >= limit)
        return Bad(c, "unscaled value " + parquet::Int128ToString(integer) + " has more than " +
                          std::to_string(c.precision) + " digits");
      PutNumeric(integer, c.scale, out);
      return Status::Ok();
    }
    case ColumnType::kList:
    case ColumnType::kStruct: {
      const auto* e = std::get_if<simdjson::dom::element>(&v);
      const bool list = c.type == ColumnType::kList;
      if (e == nullptr || (list ? !e->is_array() : !e->is_object()))
        return Bad(c, list ? "expected a JSON array" : "expected a JSON object");
      json->clear();
      json->append(*e);
      std::string_view text = json->str();
      MILLRACE_RETURN_IF_ERROR(CheckText(c, text));
      Put32(out, static_cast<uint32_t>(text.size() + 1));
      out->push_back(1);
      out->append(text);
      return Status::Ok();
    }
  }
  return Bad(c, "unknown column type");
}

}  // namespace

std::string PgCopyTypeName(const ParquetColumn& c) {
  switch (c.type) {
    case ColumnType::kBoolean:
      return "bool";
    case ColumnType::kInt32:
      return "int4";
    case ColumnType::kInt64:
      return "int8";
    case ColumnType::kFloat:
      return "float4";
    case ColumnType::kDouble:
      return "float8";
    case ColumnType::kString:
    case ColumnType::kBinary:
      return "text";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      return "timestamptz";
    case ColumnType::kDecimal:
      return "numeric";
    case ColumnType::kJson:
    case ColumnType::kList:
    case ColumnType::kStruct:
      return "jsonb";
  }
  return "text";
}

namespace detail {

PgCopyRows::PgCopyRows(parquet::ParquetSchema schema) : schema_(std::move(schema)) {
  file_.append(kHeader, 11);  // the signature, its NUL included
  Put32(&file_, 0);           // flags
  Put32(&file_, 0);           // header extension length
}

Status PgCopyRows::AppendRow(std::span<const ParquetValue> row) {
  if (finished_) return Status::FailedPrecondition("copy writer already finished");
  if (row.size() != schema_.columns.size())
    return Status::InvalidArgument("row has " + std::to_string(row.size()) + " values for " +
                                   std::to_string(schema_.columns.size()) + " columns");
  const size_t row_start = file_.size();
  Put16(&file_, static_cast<uint16_t>(row.size()));
  for (size_t i = 0; i < row.size(); ++i) {
    const ParquetColumn& c = schema_.columns[i];
    Status s = Status::Ok();
    if (std::holds_alternative<std::monostate>(row[i])) {
      if (c.nullable) {
        Put32(&file_, 0xFFFFFFFF);  // NULL
        continue;
      }
      s = Bad(c, "null in a column that is not nullable");
    } else {
      s = AppendField(row[i], c, &json_, &file_);
    }
    if (!s.ok()) {
      file_.resize(row_start);  // all or nothing
      return s;
    }
  }
  ++rows_;
  return Status::Ok();
}

void PgCopyRows::TakeBytes(std::string* out) {
  out->append(file_);
  file_.clear();
}

Result<std::string> PgCopyRows::Finish() {
  if (finished_) return Status::FailedPrecondition("copy writer already finished");
  finished_ = true;
  Put16(&file_, 0xFFFF);  // the trailer: -1
  return std::move(file_);
}

}  // namespace detail

Result<std::unique_ptr<FileWriter>> NewPgCopyWriter(const FormatSpec& spec) {
  if (!spec.schema || !spec.schema->HasColumns())
    return Status::InvalidArgument("binary COPY needs a schema with columns");
  return detail::NewPgCopyRowsWriter(spec);
}

}  // namespace millrace::formats
