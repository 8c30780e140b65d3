#include "formats/csv/csv_writer.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <variant>

#include "common/encoding.h"

namespace millrace::formats::csv {

using parquet::ColumnType;
using parquet::Int128;
using parquet::ParquetColumn;
using parquet::ParquetValue;

namespace {

using JsonBuilder = simdjson::internal::string_builder<>;

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes v (0..99) as two digits.
inline char* Put2(char* p, unsigned v) {
  std::memcpy(p, kDigitPairs + 2 * v, 2);
  return p + 2;
}

// Writes v as exactly `width` digits (v < 10^width), zero-padded.
inline char* PutFixed(char* p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// Floor division and its non-negative remainder.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
inline int64_t FloorMod(int64_t a, int64_t b) {
  int64_t m = a % b;
  return m < 0 ? m + b : m;
}

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days), for
// any day an int64 count of microseconds or milliseconds can reach.
void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);                    // [0, 146096]
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const unsigned mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2 ? 1 : 0);
}

// YYYY-MM-DD. Years 0..9999 take four digits; later years all their digits ("10000-01-01");
// earlier ones a minus sign and at least four digits ("-0001-12-31", astronomical numbering:
// year 0 is 1 BC). DuckDB reads all three forms; it refuses ISO 8601's "+10000".
char* PutDate(char* p, int64_t days) {
  int64_t year;
  unsigned month, day;
  CivilFromDays(days, &year, &month, &day);
  uint64_t y = static_cast<uint64_t>(year);
  if (year < 0) {
    *p++ = '-';
    y = 0 - y;
  }
  if (y <= 9999) {
    p = PutFixed(p, y, 4);
  } else {
    p = std::to_chars(p, p + 24, y).ptr;
  }
  *p++ = '-';
  p = Put2(p, month);
  *p++ = '-';
  return Put2(p, day);
}

// YYYY-MM-DDTHH:MM:SS.fffZ from `ticks` of 10^-digits seconds since the epoch (digits 3 or 6).
char* PutTimestamp(char* p, int64_t ticks, int64_t ticks_per_second, int digits) {
  int64_t seconds = FloorDiv(ticks, ticks_per_second);
  int64_t fraction = FloorMod(ticks, ticks_per_second);
  int64_t days = FloorDiv(seconds, 86400);
  auto second_of_day = static_cast<unsigned>(FloorMod(seconds, 86400));
  p = PutDate(p, days);
  *p++ = 'T';
  p = Put2(p, second_of_day / 3600);
  *p++ = ':';
  p = Put2(p, second_of_day / 60 % 60);
  *p++ = ':';
  p = Put2(p, second_of_day % 60);
  *p++ = '.';
  p = PutFixed(p, static_cast<uint64_t>(fraction), digits);
  *p++ = 'Z';
  return p;
}

// Shortest text that reads back as the same value; NaN and infinities as DuckDB (and
// Python, Java, JavaScript) spell them.
template <typename F>
char* PutFloat(char* p, char* end, F x) {
  if (std::isnan(x)) {
    std::memcpy(p, "NaN", 3);
    return p + 3;
  }
  if (std::isinf(x)) {
    if (x < 0) *p++ = '-';
    std::memcpy(p, "Infinity", 8);
    return p + 8;
  }
  return std::to_chars(p, end, x).ptr;
}

// The unscaled value with exactly `scale` digits after the point (none if scale is 0), and
// at least one before it: -5 at scale 2 is "-0.05". |v| < 10^38.
char* PutDecimal(char* p, Int128 v, int scale) {
  using U128 = unsigned __int128;
  U128 u = v < 0 ? 0 - static_cast<U128>(v) : static_cast<U128>(v);
  if (v < 0) *p++ = '-';
  // The digits, most significant first: in two pieces below 10^19 (u < 10^38).
  char digits[40];
  char* d = digits;
  constexpr uint64_t k1e19 = 10'000'000'000'000'000'000u;
  if (u >= k1e19) {
    d = std::to_chars(d, digits + 20, static_cast<uint64_t>(u / k1e19)).ptr;
    d = PutFixed(d, static_cast<uint64_t>(u % k1e19), 19);
  } else {
    d = std::to_chars(d, digits + 20, static_cast<uint64_t>(u)).ptr;
  }
  auto n = static_cast<int>(d - digits);
  if (scale == 0) {
    std::memcpy(p, digits, n);
    return p + n;
  }
  if (n <= scale) {  // 0.000ddd
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', scale - n);
    p += scale - n;
    std::memcpy(p, digits, n);
    return p + n;
  }
  std::memcpy(p, digits, n - scale);
  p += n - scale;
  *p++ = '.';
  std::memcpy(p, digits + n - scale, scale);
  return p + scale;
}

Status Bad(const ParquetColumn& c, const std::string& what) {
  return Status::InvalidArgument("csv column '" + c.name + "' (" + parquet::ColumnTypeString(c) +
                                 "): " + what);
}

// An integer of any width into *out; false for the other alternatives.
inline bool AsInteger(const ParquetValue& v, Int128* out) {
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

inline void AppendChars(const char* begin, const char* end, std::string* out) {
  out->append(begin, static_cast<size_t>(end - begin));
}

// Appends the text of the non-null value `v`, or returns why it does not fit `c` (and
// appends nothing).
Status AppendField(const ParquetValue& v, const ParquetColumn& c, JsonBuilder* json,
                   std::string* out) {
  char buf[64];
  Int128 integer = 0;
  switch (c.type) {
    case ColumnType::kBoolean:
      if (const auto* b = std::get_if<bool>(&v)) {
        out->append(*b ? "true" : "false");
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
        AppendChars(buf, PutDate(buf, static_cast<int64_t>(integer)), out);
      } else {
        AppendChars(buf, std::to_chars(buf, buf + sizeof buf, static_cast<int32_t>(integer)).ptr,
                    out);
      }
      return Status::Ok();
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros: {
      if (std::holds_alternative<Int128>(v) || !AsInteger(v, &integer))
        return Bad(c, "expected an integer");
      auto i = static_cast<int64_t>(integer);
      char* end = c.type == ColumnType::kInt64 ? std::to_chars(buf, buf + sizeof buf, i).ptr
                  : c.type == ColumnType::kTimestampMillis ? PutTimestamp(buf, i, 1000, 3)
                                                           : PutTimestamp(buf, i, 1000000, 6);
      AppendChars(buf, end, out);
      return Status::Ok();
    }
    case ColumnType::kFloat:
      if (const auto* f = std::get_if<float>(&v)) {
        AppendChars(buf, PutFloat(buf, buf + sizeof buf, *f), out);
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
      AppendChars(buf, PutFloat(buf, buf + sizeof buf, d), out);
      return Status::Ok();
    }
    case ColumnType::kString:
    case ColumnType::kJson: {
      const auto* s = std::get_if<std::string_view>(&v);
      if (s == nullptr)
        return Bad(c, c.type == ColumnType::kJson ? "expected JSON text" : "expected a string");
      if (!simdjson::validate_utf8(s->data(), s->size()))
        return Bad(c, "the string is not valid UTF-8");
      out->append(*s);
      return Status::Ok();
    }
    case ColumnType::kBinary: {
      const auto* s = std::get_if<std::string_view>(&v);
      if (s == nullptr) return Bad(c, "expected a string of bytes");
      Base64Encode(*s, out);
      return Status::Ok();
    }
    case ColumnType::kDecimal: {
      if (!AsInteger(v, &integer)) return Bad(c, "expected an unscaled decimal integer");
      Int128 limit = parquet::Pow10(c.precision);
      if (integer <= -limit || integer >= limit)
        return Bad(c, "unscaled value " + parquet::Int128ToString(integer) + " has more than " +
                          std::to_string(c.precision) + " digits");
      AppendChars(buf, PutDecimal(buf, integer, c.scale), out);
      return Status::Ok();
    }
    case ColumnType::kList:
    case ColumnType::kStruct: {
      const auto* e = std::get_if<simdjson::dom::element>(&v);
      bool list = c.type == ColumnType::kList;
      if (e == nullptr || (list ? !e->is_array() : !e->is_object()))
        return Bad(c, list ? "expected a JSON array" : "expected a JSON object");
      json->clear();
      json->append(*e);
      out->append(json->str());
      return Status::Ok();
    }
  }
  return Bad(c, "unknown column type");
}

}  // namespace

void AppendValueText(const ParquetValue& v, const ParquetColumn& column, std::string* out) {
  if (std::holds_alternative<std::monostate>(v)) return;
  thread_local JsonBuilder json;
  Status ignored = AppendField(v, column, &json, out);  // on error, nothing was appended
  (void)ignored;
}

Result<std::unique_ptr<CsvFileWriter>> CsvFileWriter::Create(parquet::ParquetSchema schema,
                                                             CsvOptions options) {
  MILLRACE_RETURN_IF_ERROR(parquet::ValidateSchema(schema));
  char d = options.delimiter;
  if (d == '"' || d == '\n' || d == '\r')
    return Status::InvalidArgument(
        "csv delimiter may not be a double quote, a line feed or a carriage return");
  return std::unique_ptr<CsvFileWriter>(new CsvFileWriter(std::move(schema), options));
}

CsvFileWriter::CsvFileWriter(parquet::ParquetSchema schema, CsvOptions options)
    : schema_(std::move(schema)), options_(options) {
  for (char c : {options_.delimiter, '"', '\n', '\r'}) special_[static_cast<uint8_t>(c)] = true;
  // Only free text can hold a quote or a line break; the text of the other types is made of
  // letters, digits and "+-./:=", so it needs checking only if the delimiter is one of those.
  const char d = options_.delimiter;
  const bool delimiter_in_text = std::isalnum(static_cast<unsigned char>(d)) ||
                                 (d != 0 && std::strchr("+-./:=", d) != nullptr);
  for (const ParquetColumn& c : schema_.columns) {
    bool free_text = c.type == ColumnType::kString || c.type == ColumnType::kJson ||
                     c.type == ColumnType::kList || c.type == ColumnType::kStruct;
    scan_.push_back(free_text || delimiter_in_text);
  }
  if (!options_.header) return;
  for (size_t i = 0; i < schema_.columns.size(); ++i) {
    if (i > 0) file_.push_back(options_.delimiter);
    size_t start = file_.size();
    file_.append(schema_.columns[i].name);
    QuoteIfNeeded(start);
  }
  file_.push_back('\n');
}

// A field is quoted if it holds a special byte or is empty (an empty unquoted field is
// null). Quoting is done in place, from the back, so the common unquoted field costs one
// scan and no copy.
void CsvFileWriter::QuoteIfNeeded(size_t start) {
  const auto* b = reinterpret_cast<const uint8_t*>(file_.data() + start);
  size_t n = file_.size() - start;
  size_t i = 0;
  // Eight bytes at a time while none is special (a zero byte in x ^ broadcast(c) is a c),
  // then byte by byte from the word that has one.
  constexpr uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
  const uint64_t delimiter = kOnes * static_cast<uint8_t>(options_.delimiter);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, b + i, 8);
    uint64_t hit = 0;
    for (uint64_t x : {w ^ delimiter, w ^ (kOnes * '"'), w ^ (kOnes * '\n'), w ^ (kOnes * '\r')})
      hit |= (x - kOnes) & ~x & kHighs;
    if (hit != 0) break;
  }
  while (i < n && !special_[b[i]]) ++i;
  if (i == n && n > 0) return;
  size_t quotes = 0;
  for (size_t k = i; k < n; ++k) quotes += b[k] == '"';
  file_.resize(file_.size() + quotes + 2);
  char* f = file_.data() + start;
  char* dst = f + n + quotes + 2;  // one past the end
  *--dst = '"';
  size_t end = n;  // move [?, end) to just before dst, doubling quotes
  while (quotes > 0) {
    const char* q = static_cast<const char*>(memrchr(f, '"', end));
    size_t after = end - static_cast<size_t>(q - f) - 1;
    dst -= after;
    std::memmove(dst, q + 1, after);
    *--dst = '"';
    *--dst = '"';
    end = static_cast<size_t>(q - f);
    --quotes;
  }
  dst -= end;
  std::memmove(dst, f, end);
  *--dst = '"';
}

Status CsvFileWriter::AppendRow(std::span<const ParquetValue> row) {
  if (finished_) return Status::FailedPrecondition("csv writer already finished");
  if (row.size() != schema_.columns.size())
    return Status::InvalidArgument("csv row has " + std::to_string(row.size()) + " values for " +
                                   std::to_string(schema_.columns.size()) + " columns");
  const size_t row_start = file_.size();
  for (size_t i = 0; i < row.size(); ++i) {
    const ParquetColumn& c = schema_.columns[i];
    if (i > 0) file_.push_back(options_.delimiter);
    if (std::holds_alternative<std::monostate>(row[i])) {
      if (c.nullable) continue;  // null: the empty unquoted field
      file_.resize(row_start);
      return Bad(c, "null in a column that is not nullable");
    }
    size_t start = file_.size();
    Status s = AppendField(row[i], c, &json_, &file_);
    if (!s.ok()) {
      file_.resize(row_start);  // all or nothing
      return s;
    }
    if (scan_[i] || file_.size() == start) QuoteIfNeeded(start);
  }
  file_.push_back('\n');
  ++rows_;
  return Status::Ok();
}

Result<std::string> CsvFileWriter::Finish() {
  if (finished_) return Status::FailedPrecondition("csv writer already finished");
  finished_ = true;
  return std::move(file_);
}

}  // namespace millrace::formats::csv
