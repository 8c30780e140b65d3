#include "formats/values.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace millrace::formats {

namespace {

using parquet::Int128;
using parquet::Pow10;
using simdjson::dom::element;
using simdjson::dom::element_type;

Status Bad(const ParquetColumn& c, const std::string& why) {
  return Status::InvalidArgument("column '" + c.name + "' (" + parquet::ColumnTypeString(c) +
                                 "): " + why);
}

// A short description of a JSON value for messages: the value itself when short.
std::string Describe(element v) {
  std::string text = simdjson::minify(v);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string Quoted(std::string_view text) {
  if (text.size() > 40) return "'" + std::string(text.substr(0, 37)) + "...'";
  return "'" + std::string(text) + "'";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool ParseDouble(std::string_view text, double* out) {
  if (EqualsIgnoreCase(text, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (EqualsIgnoreCase(text, "infinity") || EqualsIgnoreCase(text, "inf") ||
      EqualsIgnoreCase(text, "+infinity") || EqualsIgnoreCase(text, "+inf")) {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (EqualsIgnoreCase(text, "-infinity") || EqualsIgnoreCase(text, "-inf")) {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

void AppendDouble(double d, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  out->append(buf, end);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool LeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Reads exactly `n` digits at *p.
bool Digits(std::string_view text, size_t* p, int n, int* out) {
  if (*p + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char ch = text[*p + i];
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *out = v;
  return true;
}

// YYYY-MM-DD at *p; the date's days since the epoch.
bool DateAt(std::string_view text, size_t* p, int64_t* days) {
  int y, m, d;
  if (!Digits(text, p, 4, &y) || *p >= text.size() || text[(*p)++] != '-' ||
      !Digits(text, p, 2, &m) || *p >= text.size() || text[(*p)++] != '-' ||
      !Digits(text, p, 2, &d))
    return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > kDays[m - 1] + (m == 2 && LeapYear(y))) return false;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

// Epoch in the timestamp column's unit from microseconds (floor, so that a time before the
// epoch keeps its place in the order).
int64_t FromMicros(int64_t micros, ColumnType type) {
  if (type == ColumnType::kTimestampMicros) return micros;
  return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000);
}

Status IntegerValue(int64_t v, const ParquetColumn& c, ParquetValue* out) {
  switch (c.type) {
    case ColumnType::kInt32:
    case ColumnType::kDate:
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return Bad(c, std::to_string(v) + " is out of the int32 range");
      *out = static_cast<int32_t>(v);
      return Status::Ok();
    case ColumnType::kInt64:
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      *out = v;
      return Status::Ok();
    default:
      return Bad(c, "not an integer column");
  }
}

Status DoubleValue(double d, const ParquetColumn& c, ParquetValue* out) {
  if (c.type == ColumnType::kDouble) {
    *out = d;
    return Status::Ok();
  }
  if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
    return Bad(c, std::to_string(d) + " is out of the float range");
  *out = static_cast<float>(d);
  return Status::Ok();
}

Status DecimalValue(std::string_view text, const ParquetColumn& c, ParquetValue* out) {
  Int128 unscaled;
  if (!ParseDecimal(text, c.precision, c.scale, &unscaled))
    return Bad(c, Quoted(text) + " is not a number of at most " + std::to_string(c.precision) +
                      " digits with " + std::to_string(c.scale) + " after the point");
  *out = unscaled;
  return Status::Ok();
}

Status TimestampText(std::string_view text, const ParquetColumn& c, ParquetValue* out) {
  int64_t micros;
  if (ParseIsoTimestamp(text, &micros)) {
    *out = FromMicros(micros, c.type);
    return Status::Ok();
  }
  int64_t epoch;
  if (ParseInt64(text, &epoch)) {
    *out = epoch;
    return Status::Ok();
  }
  return Bad(c, Quoted(text) + " is not an ISO 8601 timestamp");
}

Status DateText(std::string_view text, const ParquetColumn& c, ParquetValue* out) {
  int32_t days;
  if (!ParseIsoDate(text, &days)) return Bad(c, Quoted(text) + " is not a date (YYYY-MM-DD)");
  *out = days;
  return Status::Ok();
}

// Text forms shared by JSON strings and CSV fields for the types that parse text.
Status ScalarText(std::string_view text, const ParquetColumn& c, ParquetValue* out) {
  switch (c.type) {
    case ColumnType::kBoolean:
      if (EqualsIgnoreCase(text, "true")) {
        *out = true;
      } else if (EqualsIgnoreCase(text, "false")) {
        *out = false;
      } else {
        return Bad(c, Quoted(text) + " is not true or false");
      }
      return Status::Ok();
    case ColumnType::kInt32:
    case ColumnType::kInt64: {
      int64_t v;
      if (!ParseInt64(text, &v)) return Bad(c, Quoted(text) + " is not an integer");
      return IntegerValue(v, c, out);
    }
    case ColumnType::kFloat:
    case ColumnType::kDouble: {
      double d;
      if (!ParseDouble(text, &d)) return Bad(c, Quoted(text) + " is not a number");
      return DoubleValue(d, c, out);
    }
    case ColumnType::kDecimal:
      return DecimalValue(text, c, out);
    case ColumnType::kDate:
      return DateText(text, c, out);
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      return TimestampText(text, c, out);
    default:
      *out = text;
      return Status::Ok();
  }
}

}  // namespace

bool ParseIsoDate(std::string_view text, int32_t* days) {
  size_t p = 0;
  int64_t d;
  if (!DateAt(text, &p, &d) || p != text.size()) return false;
  *days = static_cast<int32_t>(d);
  return true;
}

bool ParseIsoTimestamp(std::string_view text, int64_t* micros) {
  size_t p = 0;
  int64_t days;
  if (!DateAt(text, &p, &days)) return false;
  int64_t seconds = 0, fraction_us = 0;
  if (p < text.size() && (text[p] == 'T' || text[p] == 't' || text[p] == ' ')) {
    ++p;
    int hh, mm, ss = 0;
    if (!Digits(text, &p, 2, &hh) || p >= text.size() || text[p++] != ':' ||
        !Digits(text, &p, 2, &mm))
      return false;
    if (p < text.size() && text[p] == ':') {
      ++p;
      if (!Digits(text, &p, 2, &ss)) return false;
      if (p < text.size() && (text[p] == '.' || text[p] == ',')) {
        ++p;
        int n = 0;
        int64_t scale = 100000;
        while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
          if (n < 6) fraction_us += (text[p] - '0') * scale;  // beyond µs: truncated
          scale /= 10;
          ++n;
          ++p;
        }
        if (n == 0) return false;
      }
    }
    if (hh > 23 || mm > 59 || ss > 59) return false;
    seconds = hh * 3600 + mm * 60 + ss;
    if (p < text.size()) {
      char z = text[p];
      if (z == 'Z' || z == 'z') {
        ++p;
      } else if (z == '+' || z == '-') {
        ++p;
        int oh, om = 0;
        if (!Digits(text, &p, 2, &oh)) return false;
        const bool colon = p < text.size() && text[p] == ':';
        if (colon) ++p;
        // "+05", "+0530" and "+05:30", but not "+05:".
        if ((colon || p < text.size()) && !Digits(text, &p, 2, &om)) return false;
        if (oh > 23 || om > 59) return false;
        int64_t offset = oh * 3600 + om * 60;
        seconds -= z == '+' ? offset : -offset;
      } else {
        return false;
      }
    }
  }
  if (p != text.size()) return false;
  *micros = (days * 86400 + seconds) * 1000000 + fraction_us;
  return true;
}

bool ParseDecimal(std::string_view text, int precision, int scale, Int128* unscaled) {
  size_t p = 0;
  bool negative = false;
  if (p < text.size() && (text[p] == '-' || text[p] == '+')) negative = text[p++] == '-';
  // The significant digits and the power of ten they are scaled by.
  Int128 digits = 0;
  int significant = 0;
  int64_t exponent = 0;
  bool any = false, point = false;
  int next_digit = -1;  // the first digit after the point past the 38 kept (it may round them)
  for (; p < text.size(); ++p) {
    char ch = text[p];
    if (ch == '.' && !point) {
      point = true;
      continue;
    }
    if (ch < '0' || ch > '9') break;
    any = true;
    if (significant == 0 && ch == '0') {
      if (point) --exponent;
      continue;
    }
    if (significant < 38) {
      digits = digits * 10 + (ch - '0');
      ++significant;
      if (point) --exponent;
    } else if (!point) {
      ++exponent;  // digits past 38 only round (no precision holds them)
    } else if (next_digit < 0) {
      next_digit = ch - '0';  // later ones cannot change a rounding half away from zero
    }
  }
  if (!any) return false;
  if (p < text.size() && (text[p] == 'e' || text[p] == 'E')) {
    ++p;
    int64_t e;
    size_t start = p;
    if (p < text.size() && (text[p] == '+' || text[p] == '-')) ++p;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9') ++p;
    std::string_view et = text.substr(start, p - start);
    if (!ParseInt64(et, &e)) return false;
    if (e > 1000000000 || e < -1000000000) return false;  // (keeps the sums in range)
    exponent += e;
  }
  if (p != text.size()) return false;
  // value = digits * 10^exponent; unscaled = value * 10^scale.
  const int64_t shift = exponent + scale;
  const Int128 limit = Pow10(precision);
  if (digits == 0) {
    *unscaled = 0;
    return true;
  }
  if (shift >= 0) {
    if (significant + shift > precision) return false;
    digits *= Pow10(static_cast<int>(shift));
    if (shift == 0 && next_digit >= 5) ++digits;
  } else {
    const int64_t drop = -shift;
    if (drop > significant) {
      digits = 0;  // below a tenth of the last kept digit
    } else {
      Int128 divisor = Pow10(static_cast<int>(drop));
      Int128 rest = digits % divisor;
      digits /= divisor;
      if (rest * 2 >= divisor) ++digits;  // half away from zero
    }
  }
  if (digits >= limit) return false;
  *unscaled = negative ? -digits : digits;
  return true;
}

Status JsonToValue(element v, const ParquetColumn& c, std::string* scratch, ParquetValue* out) {
  const element_type t = v.type();
  if (t == element_type::NULL_VALUE) {
    *out = std::monostate{};
    return Status::Ok();
  }
  switch (c.type) {
    case ColumnType::kString:
      if (t == element_type::STRING) {
        *out = std::string_view(v);
      } else {  // numbers, booleans, objects and arrays as their JSON text
        *scratch = simdjson::minify(v);
        *out = std::string_view(*scratch);
      }
      return Status::Ok();
    case ColumnType::kJson:
      *scratch = simdjson::minify(v);
      *out = std::string_view(*scratch);
      return Status::Ok();
    case ColumnType::kBinary:
      if (t != element_type::STRING) return Bad(c, "expected a string, not " + Describe(v));
      *out = std::string_view(v);
      return Status::Ok();
    case ColumnType::kList:
      if (t != element_type::ARRAY) return Bad(c, "expected an array, not " + Describe(v));
      *out = v;
      return Status::Ok();
    case ColumnType::kStruct:
      if (t != element_type::OBJECT) return Bad(c, "expected an object, not " + Describe(v));
      *out = v;
      return Status::Ok();
    default:
      break;
  }
  switch (t) {
    case element_type::STRING:
      return ScalarText(std::string_view(v), c, out);
    case element_type::BOOL:
      if (c.type != ColumnType::kBoolean) return Bad(c, "expected a number, not " + Describe(v));
      *out = bool(v);
      return Status::Ok();
    case element_type::INT64:
    case element_type::UINT64: {
      if (c.type == ColumnType::kBoolean)
        return Bad(c, "expected true or false, not " + Describe(v));
      if (c.type == ColumnType::kFloat || c.type == ColumnType::kDouble)
        return DoubleValue(double(v), c, out);
      if (c.type == ColumnType::kDecimal) {
        *scratch = simdjson::minify(v);
        return DecimalValue(*scratch, c, out);
      }
      if (t == element_type::UINT64) return Bad(c, Describe(v) + " is out of the int64 range");
      return IntegerValue(int64_t(v), c, out);
    }
    case element_type::DOUBLE: {
      double d = double(v);
      if (c.type == ColumnType::kBoolean)
        return Bad(c, "expected true or false, not " + Describe(v));
      if (c.type == ColumnType::kFloat || c.type == ColumnType::kDouble)
        return DoubleValue(d, c, out);
      if (c.type == ColumnType::kDecimal) {
        // Fast path: r = round(d * 10^s) is the answer when r / 10^s reads back as d and
        // one unit of the scale is wider than d's rounding interval (|d| * 10^s < 2^52),
        // for then no other s-digit decimal reads back as d.
        static constexpr double kPow10d[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                             1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        if (c.scale <= 22 && c.precision <= 18) {
          const double p = kPow10d[c.scale];
          const double scaled = d * p;
          if (std::fabs(scaled) < 4.5e15) {
            const double r = std::nearbyint(scaled);
            if (r / p == d) {
              const int64_t unscaled = static_cast<int64_t>(r);
              if (unscaled > -static_cast<int64_t>(kPow10d[c.precision]) &&
                  unscaled < static_cast<int64_t>(kPow10d[c.precision])) {
                *out = static_cast<Int128>(unscaled);
                return Status::Ok();
              }
            }
          }
        }
        scratch->clear();
        AppendDouble(d, scratch);  // the shortest text that reads back as d: 0.1 is "0.1"
        return DecimalValue(*scratch, c, out);
      }
      // Integers and epochs: a whole number written with a fraction or exponent (3.0, 1e3).
      if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) || d != std::floor(d))
        return Bad(c, Describe(v) + " is not a whole number");
      return IntegerValue(static_cast<int64_t>(d), c, out);
    }
    default:
      return Bad(
          c, "expected a " + std::string(parquet::ColumnTypeName(c.type)) + ", not " + Describe(v));
  }
}

Status TextToValue(std::string_view text, const ParquetColumn& c, simdjson::dom::parser* parser,
                   std::string* scratch, ParquetValue* out) {
  if (text.empty()) {
    *out = std::monostate{};
    return Status::Ok();
  }
  switch (c.type) {
    case ColumnType::kBoolean:
      if (text == "1") {
        *out = true;
        return Status::Ok();
      }
      if (text == "0") {
        *out = false;
        return Status::Ok();
      }
      return ScalarText(text, c, out);
    case ColumnType::kJson:
    case ColumnType::kList:
    case ColumnType::kStruct: {
      element doc;
      if (parser->parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS)
        return Bad(c, Quoted(text) + " is not JSON");
      if (c.type == ColumnType::kJson) {
        *scratch = simdjson::minify(doc);
        *out = std::string_view(*scratch);
        return Status::Ok();
      }
      return JsonToValue(doc, c, scratch, out);
    }
    default:
      return ScalarText(text, c, out);
  }
}

}  // namespace millrace::formats
