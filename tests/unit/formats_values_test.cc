// formats/values: how a JSON value or a CSV field becomes a cell of a typed column
// (values.h), and the parsers under it: ISO 8601 timestamps and dates (zones, offsets,
// fractions, calendar checks, times before 1970, floor to milliseconds) and decimals
// (rounding half away from zero, exponents, precision limits up to 38 digits).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "formats/values.h"

namespace millrace::formats {
namespace {

using parquet::Int128;

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;

ParquetColumn Col(ColumnType type, int precision = 0, int scale = 0) {
  ParquetColumn c;
  c.name = "c";
  c.type = type;
  c.precision = precision;
  c.scale = scale;
  if (type == ColumnType::kList) {
    ParquetColumn e;
    e.name = "element";
    e.type = ColumnType::kInt64;
    c.children.push_back(e);
  }
  if (type == ColumnType::kStruct) {
    ParquetColumn f;
    f.name = "a";
    f.type = ColumnType::kInt64;
    c.children.push_back(f);
  }
  return c;
}

// An Int128 as decimal digits, so that failures print readably.
std::string Str(Int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? 0 - static_cast<unsigned __int128>(v) : v;
  std::string s;
  while (u > 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  return negative ? "-" + s : s;
}

// ParseDecimal's unscaled value as text, or "false".
std::string Dec(std::string_view text, int precision, int scale) {
  Int128 v = 12345;  // overwritten on success
  if (!ParseDecimal(text, precision, scale, &v)) return "false";
  return Str(v);
}

std::optional<int64_t> Ts(std::string_view text) {
  int64_t micros = 0;
  if (!ParseIsoTimestamp(text, &micros)) return std::nullopt;
  return micros;
}

std::optional<int32_t> Date(std::string_view text) {
  int32_t days = 0;
  if (!ParseIsoDate(text, &days)) return std::nullopt;
  return days;
}

// Converts JSON text through JsonToValue; the value stays valid until the next Json() call.
class JsonToValueTest : public ::testing::Test {
 protected:
  Status Json(std::string_view json, const ParquetColumn& column) {
    simdjson::dom::element e;
    simdjson::error_code ec = parser_.parse(json.data(), json.size()).get(e);
    EXPECT_EQ(ec, simdjson::SUCCESS) << json;
    value_ = std::monostate{};
    return JsonToValue(e, column, &scratch_, &value_);
  }
  // The converted value as alternative T (a test failure if it is another one).
  template <typename T>
  T Get(std::string_view json, const ParquetColumn& column) {
    Status s = Json(json, column);
    EXPECT_TRUE(s.ok()) << json << ": " << s.ToString();
    EXPECT_TRUE(std::holds_alternative<T>(value_))
        << json << " gave alternative " << value_.index();
    return std::holds_alternative<T>(value_) ? std::get<T>(value_) : T{};
  }
  // The error message for `json` (a test failure if it converts).
  std::string Error(std::string_view json, const ParquetColumn& column) {
    Status s = Json(json, column);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << json << " converted";
    return s.message();
  }

  simdjson::dom::parser parser_;
  std::string scratch_;
  ParquetValue value_;
};

// Converts CSV field text through TextToValue.
class TextToValueTest : public ::testing::Test {
 protected:
  Status Text(std::string_view text, const ParquetColumn& column) {
    value_ = int32_t{-7};  // anything but the expected value
    return TextToValue(text, column, &parser_, &scratch_, &value_);
  }
  template <typename T>
  T Get(std::string_view text, const ParquetColumn& column) {
    Status s = Text(text, column);
    EXPECT_TRUE(s.ok()) << text << ": " << s.ToString();
    EXPECT_TRUE(std::holds_alternative<T>(value_))
        << text << " gave alternative " << value_.index();
    return std::holds_alternative<T>(value_) ? std::get<T>(value_) : T{};
  }
  std::string Error(std::string_view text, const ParquetColumn& column) {
    Status s = Text(text, column);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << text << " converted";
    return s.message();
  }

  simdjson::dom::parser parser_;
  std::string scratch_;
  ParquetValue value_;
};

// ---- ParseIsoTimestamp ----

TEST(ParseIsoTimestamp, UtcForms) {
  const int64_t t = 1709296496000000;  // 2024-03-01T12:34:56Z
  EXPECT_EQ(Ts("2024-03-01T12:34:56Z"), t);
  EXPECT_EQ(Ts("2024-03-01t12:34:56z"), t);
  EXPECT_EQ(Ts("2024-03-01 12:34:56Z"), t);  // a space instead of T
  EXPECT_EQ(Ts("2024-03-01T12:34:56"), t);   // no zone: UTC
  EXPECT_EQ(Ts("2024-03-01 12:34:56"), t);
  EXPECT_EQ(Ts("2024-03-01T12:34:56+00:00"), t);
  EXPECT_EQ(Ts("2024-03-01T12:34:56-00:00"), t);
  EXPECT_EQ(Ts("2024-03-01T12:34Z"), t - 56000000);  // no seconds
  EXPECT_EQ(Ts("2024-03-01T12:34"), t - 56000000);
}

TEST(ParseIsoTimestamp, Offsets) {
  const int64_t t = 1709296496000000;  // 2024-03-01T12:34:56Z
  EXPECT_EQ(Ts("2024-03-01T14:34:56+02:00"), t);
  EXPECT_EQ(Ts("2024-03-01T14:34:56+0200"), t);
  EXPECT_EQ(Ts("2024-03-01T14:34:56+02"), t);
  EXPECT_EQ(Ts("2024-03-01T07:04:56-0530"), t);
  EXPECT_EQ(Ts("2024-03-01T07:04:56-05:30"), t);
  EXPECT_EQ(Ts("2024-03-02T02:19:56+13:45"), t);  // crosses midnight forwards
  EXPECT_EQ(Ts("2024-02-29T23:34:56-13:00"), t);  // and backwards, over Feb 29
  EXPECT_EQ(Ts("2024-03-01T12:34:56.123456+02:00"), t - 2 * 3600000000LL + 123456);
  EXPECT_EQ(Ts("2024-03-01T12:34+02:00"), t - 56000000 - 2 * 3600000000LL);
}

TEST(ParseIsoTimestamp, FractionsOfOneToNineDigitsTruncateBelowMicroseconds) {
  const int64_t t = 1709296496000000;
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"1", 100000},         {"12", 120000},        {"123", 123000},     {"1234", 123400},
      {"12345", 123450},     {"123456", 123456},    {"1234567", 123456}, {"12345678", 123456},
      {"123456789", 123456}, {"999999999", 999999}, {"000001", 1},       {"0000009", 0},
  };
  for (const auto& [digits, micros] : cases) {
    EXPECT_EQ(Ts("2024-03-01T12:34:56." + digits + "Z"), t + micros) << digits;
    EXPECT_EQ(Ts("2024-03-01T12:34:56." + digits), t + micros) << digits;
    EXPECT_EQ(Ts("2024-03-01 12:34:56." + digits + "-00:00"), t + micros) << digits;
  }
  EXPECT_EQ(Ts("2024-03-01T12:34:56,5Z"), t + 500000);  // ISO 8601's decimal comma
}

TEST(ParseIsoTimestamp, BareDateIsMidnightUtc) {
  EXPECT_EQ(Ts("2024-03-01"), 19783 * kMicrosPerDay);
  EXPECT_EQ(Ts("1970-01-01"), 0);
  EXPECT_EQ(Ts("1969-12-31"), -kMicrosPerDay);
}

TEST(ParseIsoTimestamp, BeforeTheEpochIsNegative) {
  EXPECT_EQ(Ts("1969-12-31T23:59:59Z"), -1000000);
  EXPECT_EQ(Ts("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_EQ(Ts("1969-12-31T23:59:59.5Z"), -500000);
  EXPECT_EQ(Ts("1970-01-01T00:59:59+01:00"), -1000000);
  // Digits below a microsecond are cut, which for a negative epoch is a floor too.
  EXPECT_EQ(Ts("1969-12-31T23:59:59.9999999Z"), -1);
  EXPECT_EQ(Ts("1960-06-15T08:00:00Z"), -301248000000000);
  EXPECT_EQ(Ts("1900-01-01T00:00:00Z"), -25567 * kMicrosPerDay);
  EXPECT_EQ(Ts("0001-01-01T00:00:00Z"), -719162 * kMicrosPerDay);
  EXPECT_EQ(Ts("0000-01-01"), -719528 * kMicrosPerDay);  // year 0: 1 BC
  EXPECT_EQ(Ts("9999-12-31T23:59:59.999999Z"), 2932897 * kMicrosPerDay - 1);
}

TEST(ParseIsoTimestamp, CalendarChecks) {
  EXPECT_TRUE(Ts("2024-02-29T00:00:00Z"));  // leap year
  EXPECT_TRUE(Ts("2000-02-29T00:00:00Z"));  // divisible by 400
  EXPECT_TRUE(Ts("0000-02-29"));
  EXPECT_FALSE(Ts("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(Ts("1900-02-29T00:00:00Z"));  // divisible by 100, not 400
  EXPECT_FALSE(Ts("2100-02-29"));
  EXPECT_FALSE(Ts("2024-02-30"));
  EXPECT_FALSE(Ts("2024-04-31T00:00:00Z"));
  EXPECT_FALSE(Ts("2024-06-31"));
  EXPECT_FALSE(Ts("2024-01-32"));
  EXPECT_FALSE(Ts("2024-01-00"));
  EXPECT_FALSE(Ts("2024-00-10"));
  EXPECT_FALSE(Ts("2024-13-01T00:00:00Z"));
  EXPECT_TRUE(Ts("2024-12-31T23:59:59Z"));
  EXPECT_FALSE(Ts("2024-03-01T24:00:00Z"));
  EXPECT_FALSE(Ts("2024-03-01T12:60:00Z"));
  EXPECT_FALSE(Ts("2024-03-01T12:34:60Z"));  // no leap seconds
  EXPECT_FALSE(Ts("2024-03-01T12:34:56+24:00"));
  EXPECT_FALSE(Ts("2024-03-01T12:34:56+02:60"));
}

TEST(ParseIsoTimestamp, RefusesWhatIsNotOne) {
  for (const char* text : {"",
                           "2024",
                           "2024-03",
                           "2024-3-01",
                           "2024-03-1",
                           "24-03-01",
                           "2024/03/01",
                           "20240301",
                           "+2024-03-01",
                           " 2024-03-01",
                           "2024-03-01 ",
                           "2024-03-01T",
                           "2024-03-01T12",
                           "2024-03-01T12:3",
                           "2024-03-01T1:02:03",
                           "2024-03-01T12:34:5",
                           "2024-03-01T12:34:56.",
                           "2024-03-01T12:34:56.Z",
                           "2024-03-01T12:34:56.x",
                           "2024-03-01T12:34:56ZZ",
                           "2024-03-01T12:34:56 Z",
                           "2024-03-01T12:34:56+2",
                           "2024-03-01T12:34:56+02:0",
                           "2024-03-01T12:34:56+02:",
                           "2024-03-01T12:34:56+",
                           "2024-03-01T12:34:56+02:00:00",
                           "2024-03-01T12:34:56UTC",
                           "2024-03-01Z",
                           "2024-03-01X12:34:56",
                           "2024-03-01T12:34:56Z ",
                           "1709296496",
                           "now",
                           "2024-03-01T12:34:56Z\n"}) {
    EXPECT_FALSE(Ts(text)) << "'" << text << "'";
  }
}

// ---- ParseIsoDate ----

TEST(ParseIsoDate, DaysSinceTheEpoch) {
  EXPECT_EQ(Date("1970-01-01"), 0);
  EXPECT_EQ(Date("2024-03-01"), 19783);
  EXPECT_EQ(Date("2024-02-29"), 19782);
  EXPECT_EQ(Date("2000-02-29"), 11016);
  EXPECT_EQ(Date("1969-12-31"), -1);
  EXPECT_EQ(Date("1900-01-01"), -25567);
  EXPECT_EQ(Date("0001-01-01"), -719162);
  EXPECT_EQ(Date("9999-12-31"), 2932896);
}

TEST(ParseIsoDate, RefusesInvalidDatesAndTimestamps) {
  for (const char* text :
       {"", "2023-02-29", "1900-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-01",
        "2024-01-00", "2024-1-01", "2024-03-01T00:00:00Z", "2024-03-01 00:00", "2024-03-01Z",
        " 2024-03-01", "2024-03-01 ", "19783", "2024/03/01"}) {
    EXPECT_FALSE(Date(text)) << "'" << text << "'";
  }
}

// ---- ParseDecimal ----

TEST(ParseDecimal, PlainAndSignedNumbers) {
  EXPECT_EQ(Dec("-12.345", 5, 3), "-12345");
  EXPECT_EQ(Dec("12.345", 5, 3), "12345");
  EXPECT_EQ(Dec("+12.345", 5, 3), "12345");
  EXPECT_EQ(Dec("123.45", 5, 2), "12345");
  EXPECT_EQ(Dec("1", 5, 2), "100");
  EXPECT_EQ(Dec("-1", 5, 2), "-100");
  EXPECT_EQ(Dec("007.50", 5, 2), "750");
  EXPECT_EQ(Dec(".5", 1, 1), "5");
  EXPECT_EQ(Dec("-.5", 2, 1), "-5");
  EXPECT_EQ(Dec("5.", 1, 0), "5");
  EXPECT_EQ(Dec("0.000", 5, 2), "0");
  EXPECT_EQ(Dec("-0.000", 5, 2), "0");
  EXPECT_EQ(Dec("0", 1, 0), "0");
  EXPECT_EQ(Dec("00000000000000000000000000000000000000000000", 1, 0), "0");
}

TEST(ParseDecimal, ExponentForms) {
  EXPECT_EQ(Dec("1e3", 4, 0), "1000");
  EXPECT_EQ(Dec("1E3", 4, 0), "1000");
  EXPECT_EQ(Dec("1e+3", 4, 0), "1000");
  EXPECT_EQ(Dec("1.5e-1", 3, 2), "15");
  EXPECT_EQ(Dec("-2.5E2", 5, 1), "-2500");
  EXPECT_EQ(Dec("12345e-4", 5, 4), "12345");
  EXPECT_EQ(Dec("0.0001e4", 1, 0), "1");
  EXPECT_EQ(Dec("1e-400", 5, 2), "0");  // far below the last digit: 0
  EXPECT_EQ(Dec("1e400", 38, 0), "false");
  EXPECT_EQ(Dec("0e400", 38, 0), "0");
  EXPECT_EQ(Dec("1e99999999999999999999", 38, 0), "false");
  // Exponents of any size: what they scale is what counts.
  EXPECT_EQ(Dec("1e-2000", 5, 2), "0");
  EXPECT_EQ(Dec("0e5000", 5, 2), "0");
  EXPECT_EQ(Dec("1" + std::string(1010, '0') + "e-1010", 1, 0), "1");
  EXPECT_EQ(Dec("1" + std::string(1010, '0') + "e-1009", 2, 0), "10");
  EXPECT_EQ(Dec("0." + std::string(1500, '0') + "1e1501", 1, 0), "1");
}

TEST(ParseDecimal, RoundsHalfAwayFromZero) {
  EXPECT_EQ(Dec("0.125", 3, 2), "13");
  EXPECT_EQ(Dec("-0.125", 3, 2), "-13");
  EXPECT_EQ(Dec("0.124", 3, 2), "12");
  EXPECT_EQ(Dec("0.1249999", 3, 2), "12");
  EXPECT_EQ(Dec("-0.1249999", 3, 2), "-12");
  EXPECT_EQ(Dec("0.12500001", 3, 2), "13");
  EXPECT_EQ(Dec("2.5", 1, 0), "3");
  EXPECT_EQ(Dec("-2.5", 1, 0), "-3");
  EXPECT_EQ(Dec("3.5", 1, 0), "4");  // not to even
  EXPECT_EQ(Dec("0.5", 1, 0), "1");
  EXPECT_EQ(Dec("0.49", 1, 0), "0");
  EXPECT_EQ(Dec("0.05", 1, 0), "0");
  EXPECT_EQ(Dec("0.005", 3, 2), "1");
  EXPECT_EQ(Dec("-0.005", 3, 2), "-1");
  EXPECT_EQ(Dec("0.0049", 3, 2), "0");
  EXPECT_EQ(Dec("0.0095", 3, 2), "1");
  EXPECT_EQ(Dec("0.0005", 3, 2), "0");
  EXPECT_EQ(Dec("-0.001", 3, 2), "0");
  EXPECT_EQ(Dec("9.994", 3, 2), "999");
  EXPECT_EQ(Dec("9.995", 3, 2), "false");  // rounds to 10.00: four digits
  EXPECT_EQ(Dec("9.995", 4, 2), "1000");
  EXPECT_EQ(Dec("15e-1", 1, 0), "2");
}

TEST(ParseDecimal, PrecisionLimits) {
  EXPECT_EQ(Dec("99.99", 4, 2), "9999");
  EXPECT_EQ(Dec("-99.99", 4, 2), "-9999");
  EXPECT_EQ(Dec("100", 4, 2), "false");  // 100.00 needs 5 digits
  EXPECT_EQ(Dec("12345", 4, 0), "false");
  EXPECT_EQ(Dec("123.4", 4, 2), "false");
  EXPECT_EQ(Dec("1e4", 4, 0), "false");
  EXPECT_EQ(Dec("1e3", 4, 0), "1000");
  EXPECT_EQ(Dec("999999999", 9, 0), "999999999");
  EXPECT_EQ(Dec("1000000000", 9, 0), "false");
}

TEST(ParseDecimal, ThirtyEightDigits) {
  const std::string nines(38, '9');
  EXPECT_EQ(Dec(nines, 38, 0), nines);
  EXPECT_EQ(Dec("-" + nines, 38, 0), "-" + nines);
  EXPECT_EQ(Dec(nines + "9", 38, 0), "false");
  EXPECT_EQ(Dec("1" + std::string(38, '0'), 38, 0), "false");
  EXPECT_EQ(Dec("0." + nines, 38, 38), nines);
  EXPECT_EQ(Dec("1234567890123456789012345678.9012345678", 38, 10),
            "12345678901234567890123456789012345678");
  EXPECT_EQ(Dec(nines + ".4", 38, 0), nines);
  EXPECT_EQ(Dec(nines + ".5", 38, 0), "false");  // rounds to 10^38
  // A 39th significant digit still rounds the 38th.
  EXPECT_EQ(Dec("12345678901234567890123456789012345678.5", 38, 0),
            "12345678901234567890123456789012345679");
  EXPECT_EQ(Dec("-12345678901234567890123456789012345678.5", 38, 0),
            "-12345678901234567890123456789012345679");
  EXPECT_EQ(Dec("12345678901234567890123456789012345678.4999", 38, 0),
            "12345678901234567890123456789012345678");
  EXPECT_EQ(Dec("0.123456789012345678901234567890123456785", 38, 38),
            "12345678901234567890123456789012345679");
  EXPECT_EQ(Dec("1234567890123456789012345678901234567.891", 38, 1),
            "12345678901234567890123456789012345679");
  EXPECT_EQ(Dec("1234567890123456789012345678901234567.891", 38, 2), "false");
  EXPECT_EQ(Dec("1.23456789012345678901234567890123456785e10", 38, 27),
            "12345678901234567890123456789012345679");
  EXPECT_EQ(Dec("0.0000000000" + std::string(50, '1'), 38, 38),
            "1111111111111111111111111111");  // 10 zeros, then 28 kept digits
}

TEST(ParseDecimal, RefusesWhatIsNotANumber) {
  for (const char* text :
       {"",      "-",   "+",  ".",  "-.",   "e5",  "1e",  "1e+",      "1e-",   "1e+-3", "--1",
        "1.2.3", "1,5", " 1", "1 ", "0x1A", "abc", "NaN", "Infinity", "1_000", "1e3.5", "1..2"}) {
    EXPECT_EQ(Dec(text, 10, 2), "false") << "'" << text << "'";
  }
}

// ---- JsonToValue ----

TEST_F(JsonToValueTest, NullIsNullForEveryType) {
  for (ColumnType t :
       {ColumnType::kBoolean, ColumnType::kInt32, ColumnType::kInt64, ColumnType::kFloat,
        ColumnType::kDouble, ColumnType::kString, ColumnType::kBinary, ColumnType::kDate,
        ColumnType::kTimestampMillis, ColumnType::kTimestampMicros, ColumnType::kJson,
        ColumnType::kList, ColumnType::kStruct}) {
    ParquetColumn c = Col(t);
    c.nullable = false;  // the caller decides
    EXPECT_TRUE(Json("null", c).ok());
    EXPECT_TRUE(std::holds_alternative<std::monostate>(value_)) << ColumnTypeName(t);
  }
  EXPECT_TRUE(Json("null", Col(ColumnType::kDecimal, 5, 2)).ok());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(value_));
}

TEST_F(JsonToValueTest, Booleans) {
  const ParquetColumn c = Col(ColumnType::kBoolean);
  EXPECT_EQ(Get<bool>("true", c), true);
  EXPECT_EQ(Get<bool>("false", c), false);
  EXPECT_EQ(Get<bool>(R"("true")", c), true);
  EXPECT_EQ(Get<bool>(R"("FALSE")", c), false);
  EXPECT_EQ(Get<bool>(R"("True")", c), true);
  EXPECT_NE(Error("1", c).find("expected true or false"), std::string::npos);
  EXPECT_NE(Error("0.0", c).find("expected true or false"), std::string::npos);
  EXPECT_NE(Error(R"("yes")", c).find("'yes' is not true or false"), std::string::npos);
  EXPECT_NE(Error(R"("1")", c).find("not true or false"), std::string::npos);
  Error("[true]", c);
  Error("{}", c);
}

TEST_F(JsonToValueTest, Int32Range) {
  const ParquetColumn c = Col(ColumnType::kInt32);
  EXPECT_EQ(Get<int32_t>("5", c), 5);
  EXPECT_EQ(Get<int32_t>("-5", c), -5);
  EXPECT_EQ(Get<int32_t>("2147483647", c), 2147483647);
  EXPECT_EQ(Get<int32_t>("-2147483648", c), std::numeric_limits<int32_t>::min());
  EXPECT_EQ(Error("2147483648", c), "column 'c' (int32): 2147483648 is out of the int32 range");
  EXPECT_NE(Error("-2147483649", c).find("out of the int32 range"), std::string::npos);
  EXPECT_NE(Error("9223372036854775807", c).find("out of the int32 range"), std::string::npos);
  EXPECT_NE(Error("18446744073709551615", c).find("out of the int64 range"), std::string::npos);
  EXPECT_NE(Error(R"("2147483648")", c).find("out of the int32 range"), std::string::npos);
}

TEST_F(JsonToValueTest, Int64RangeAndUnsignedPastIt) {
  const ParquetColumn c = Col(ColumnType::kInt64);
  EXPECT_EQ(Get<int64_t>("9223372036854775807", c), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Get<int64_t>("-9223372036854775808", c), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Get<int64_t>("0", c), 0);
  EXPECT_EQ(Error("9223372036854775808", c),
            "column 'c' (int64): 9223372036854775808 is out of the int64 range");
  EXPECT_NE(Error("18446744073709551615", c).find("out of the int64 range"), std::string::npos);
  EXPECT_NE(Error(R"("9223372036854775808")", c).find("is not an integer"), std::string::npos);
}

TEST_F(JsonToValueTest, WholeNumbersWithAFractionOrExponent) {
  const ParquetColumn c32 = Col(ColumnType::kInt32), c64 = Col(ColumnType::kInt64);
  EXPECT_EQ(Get<int32_t>("3.0", c32), 3);
  EXPECT_EQ(Get<int32_t>("-3.0", c32), -3);
  EXPECT_EQ(Get<int32_t>("-0.0", c32), 0);
  EXPECT_EQ(Get<int32_t>("1e3", c32), 1000);
  EXPECT_EQ(Get<int32_t>("2.5e1", c32), 25);
  EXPECT_EQ(Get<int64_t>("1e18", c64), 1000000000000000000);
  EXPECT_EQ(Get<int64_t>("-9.2233720368547758e18", c64), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Error("3.5", c32), "column 'c' (int32): 3.5 is not a whole number");
  EXPECT_NE(Error("1e-3", c64).find("not a whole number"), std::string::npos);
  EXPECT_NE(Error("1e19", c64).find("not a whole number"), std::string::npos);
  EXPECT_NE(Error("9.2233720368547758e18", c64).find("not a whole number"), std::string::npos);
  EXPECT_NE(Error("3e9", c32).find("out of the int32 range"), std::string::npos);
}

TEST_F(JsonToValueTest, StringsOfNumbersIntoNumericColumns) {
  EXPECT_EQ(Get<int32_t>(R"("42")", Col(ColumnType::kInt32)), 42);
  EXPECT_EQ(Get<int32_t>(R"("+42")", Col(ColumnType::kInt32)), 42);
  EXPECT_EQ(Get<int64_t>(R"("-9223372036854775808")", Col(ColumnType::kInt64)),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Get<double>(R"("1.5")", Col(ColumnType::kDouble)), 1.5);
  EXPECT_EQ(Get<double>(R"("1e3")", Col(ColumnType::kDouble)), 1000.0);
  EXPECT_EQ(Get<float>(R"("1.5")", Col(ColumnType::kFloat)), 1.5f);
  EXPECT_TRUE(std::isnan(Get<double>(R"("NaN")", Col(ColumnType::kDouble))));
  EXPECT_EQ(Get<double>(R"("Infinity")", Col(ColumnType::kDouble)),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(Get<float>(R"("-inf")", Col(ColumnType::kFloat)),
            -std::numeric_limits<float>::infinity());
  EXPECT_EQ(Str(Get<Int128>(R"("12.345")", Col(ColumnType::kDecimal, 5, 2))), "1235");
  EXPECT_EQ(Error(R"(" 42")", Col(ColumnType::kInt32)),
            "column 'c' (int32): ' 42' is not an integer");
  EXPECT_NE(Error(R"("4.2")", Col(ColumnType::kInt64)).find("'4.2' is not an integer"),
            std::string::npos);
  EXPECT_NE(Error(R"("")", Col(ColumnType::kInt64)).find("is not an integer"), std::string::npos);
  EXPECT_NE(Error(R"("abc")", Col(ColumnType::kDouble)).find("'abc' is not a number"),
            std::string::npos);
  EXPECT_NE(Error(R"("1e39")", Col(ColumnType::kFloat)).find("out of the float range"),
            std::string::npos);
  EXPECT_NE(Error(R"("1e999")", Col(ColumnType::kDouble)).find("is not a number"),
            std::string::npos);
}

TEST_F(JsonToValueTest, FloatsAndDoubles) {
  EXPECT_EQ(Get<float>("1.5", Col(ColumnType::kFloat)), 1.5f);
  EXPECT_EQ(Get<float>("3", Col(ColumnType::kFloat)), 3.0f);
  EXPECT_EQ(Get<float>("-3.4028234663852886e38", Col(ColumnType::kFloat)),
            -std::numeric_limits<float>::max());
  EXPECT_NE(Error("1e39", Col(ColumnType::kFloat)).find("out of the float range"),
            std::string::npos);
  EXPECT_EQ(Get<double>("0.1", Col(ColumnType::kDouble)), 0.1);
  EXPECT_EQ(Get<double>("2", Col(ColumnType::kDouble)), 2.0);
  EXPECT_EQ(Get<double>("1e308", Col(ColumnType::kDouble)), 1e308);
  EXPECT_EQ(Get<double>("18446744073709551615", Col(ColumnType::kDouble)), 18446744073709551615.0);
  EXPECT_NE(Error("true", Col(ColumnType::kDouble)).find("expected a number, not true"),
            std::string::npos);
  EXPECT_NE(Error("[1]", Col(ColumnType::kDouble)).find("expected a double, not [1]"),
            std::string::npos);
}

TEST_F(JsonToValueTest, Decimals) {
  const ParquetColumn c = Col(ColumnType::kDecimal, 5, 2);
  EXPECT_EQ(Str(Get<Int128>("123.456", c)), "12346");
  EXPECT_EQ(Str(Get<Int128>("-123.455", c)), "-12346");
  EXPECT_EQ(Str(Get<Int128>("-0.005", c)), "-1");
  EXPECT_EQ(Str(Get<Int128>("1", c)), "100");
  EXPECT_EQ(Str(Get<Int128>("0.1", c)), "10");
  EXPECT_EQ(Str(Get<Int128>("1.005", c)), "101");  // its shortest text, not 1.00499999...
  EXPECT_EQ(Str(Get<Int128>("1e2", c)), "10000");
  EXPECT_EQ(Error("1000", c),
            "column 'c' (decimal(5,2)): '1000' is not a number of at most 5 digits with 2 after "
            "the point");
  EXPECT_NE(Error("999.995", c).find("at most 5 digits"), std::string::npos);
  EXPECT_NE(Error(R"("12,5")", c).find("'12,5' is not a number"), std::string::npos);
  EXPECT_NE(Error("true", c).find("expected a number, not true"), std::string::npos);
  EXPECT_NE(Error("{}", c).find("expected a decimal"), std::string::npos);
  // Integers past int64 keep all their digits.
  EXPECT_EQ(Str(Get<Int128>("18446744073709551615", Col(ColumnType::kDecimal, 20, 0))),
            "18446744073709551615");
  EXPECT_EQ(Str(Get<Int128>("-9223372036854775808", Col(ColumnType::kDecimal, 38, 10))),
            "-92233720368547758080000000000");
}

// JSON doubles take a fast path (round(d * 10^s), checked to read back as d); it must agree
// with the text path (d's shortest text, rounded half away from zero) everywhere.
TEST_F(JsonToValueTest, DecimalFastPathAgreesWithTheShortestText) {
  const ParquetColumn c = Col(ColumnType::kDecimal, 18, 3);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    // Values of 0 to 6 fraction digits, so that both paths are taken.
    const int digits = static_cast<int>(rng() % 7);
    const int64_t whole = static_cast<int64_t>(rng() % 2000000000) - 1000000000;
    double d = static_cast<double>(whole);
    for (int k = 0; k < digits; ++k) d /= 10;
    char text[64];
    auto [end, ec] = std::to_chars(text, text + sizeof text, d);
    Int128 want;
    ASSERT_TRUE(ParseDecimal(std::string_view(text, end - text), 18, 3, &want)) << text;
    EXPECT_EQ(Str(Get<Int128>(std::string_view(text, end - text), c)), Str(want)) << text;
  }
}

TEST_F(JsonToValueTest, DatesFromTextOrDayNumbers) {
  const ParquetColumn c = Col(ColumnType::kDate);
  EXPECT_EQ(Get<int32_t>(R"("2024-03-01")", c), 19783);
  EXPECT_EQ(Get<int32_t>(R"("1969-12-31")", c), -1);
  EXPECT_EQ(Get<int32_t>("19783", c), 19783);  // days since the epoch
  EXPECT_EQ(Get<int32_t>("-1", c), -1);
  EXPECT_EQ(Get<int32_t>("19783.0", c), 19783);
  EXPECT_NE(Error("3000000000", c).find("out of the int32 range"), std::string::npos);
  EXPECT_EQ(Error(R"("2024-02-30")", c),
            "column 'c' (date): '2024-02-30' is not a date (YYYY-MM-DD)");
  EXPECT_NE(Error(R"("2024-03-01T00:00:00Z")", c).find("is not a date"), std::string::npos);
  EXPECT_NE(Error(R"("19783")", c).find("is not a date"), std::string::npos);
  EXPECT_NE(Error("19783.5", c).find("not a whole number"), std::string::npos);
}

TEST_F(JsonToValueTest, TimestampsFromTextOrEpochs) {
  const ParquetColumn us = Col(ColumnType::kTimestampMicros);
  const ParquetColumn ms = Col(ColumnType::kTimestampMillis);
  EXPECT_EQ(Get<int64_t>(R"("2024-03-01T12:34:56Z")", us), 1709296496000000);
  EXPECT_EQ(Get<int64_t>(R"("2024-03-01T12:34:56Z")", ms), 1709296496000);
  EXPECT_EQ(Get<int64_t>(R"("2024-03-01T14:34:56.123456+02:00")", us), 1709296496123456);
  EXPECT_EQ(Get<int64_t>(R"("2024-03-01")", us), 19783 * kMicrosPerDay);
  // Numbers (and strings of digits) are epochs in the column's unit, as they are.
  EXPECT_EQ(Get<int64_t>("1709296496000", ms), 1709296496000);
  EXPECT_EQ(Get<int64_t>("1709296496000000", us), 1709296496000000);
  EXPECT_EQ(Get<int64_t>(R"("1709296496000")", ms), 1709296496000);
  EXPECT_EQ(Get<int64_t>("-1", ms), -1);
  EXPECT_EQ(Get<int64_t>("1.7e12", ms), 1700000000000);
  EXPECT_EQ(Error(R"("yesterday")", us),
            "column 'c' (timestamp_us): 'yesterday' is not an ISO 8601 timestamp");
  EXPECT_NE(Error(R"("2023-02-29T00:00:00Z")", ms).find("not an ISO 8601"), std::string::npos);
  EXPECT_NE(Error("1.5", ms).find("not a whole number"), std::string::npos);
  EXPECT_NE(Error("true", ms).find("true"), std::string::npos);
}

TEST_F(JsonToValueTest, MillisecondsAreFloored) {
  const ParquetColumn ms = Col(ColumnType::kTimestampMillis);
  EXPECT_EQ(Get<int64_t>(R"("2024-03-01T12:34:56.789999Z")", ms), 1709296496789);
  EXPECT_EQ(Get<int64_t>(R"("1970-01-01T00:00:00.0005Z")", ms), 0);
  EXPECT_EQ(Get<int64_t>(R"("1970-01-01T00:00:00.000999Z")", ms), 0);
  EXPECT_EQ(Get<int64_t>(R"("1969-12-31T23:59:59.9995Z")", ms), -1);
  EXPECT_EQ(Get<int64_t>(R"("1969-12-31T23:59:59.999Z")", ms), -1);
  EXPECT_EQ(Get<int64_t>(R"("1969-12-31T23:59:59.999999Z")", ms), -1);
  EXPECT_EQ(Get<int64_t>(R"("1969-12-31T23:59:58.9991Z")", ms), -1001);
  EXPECT_EQ(Get<int64_t>(R"("1969-12-31T23:59:59Z")", ms), -1000);
  EXPECT_EQ(Get<int64_t>(R"("1960-06-15T08:00:00.0001Z")", ms), -301248000000000 / 1000);
}

TEST_F(JsonToValueTest, NumbersBooleansAndObjectsIntoStringColumnsAreTheirJsonText) {
  const ParquetColumn c = Col(ColumnType::kString);
  EXPECT_EQ(Get<std::string_view>(R"("héllo")", c), "héllo");
  EXPECT_EQ(Get<std::string_view>(R"("a\"b\n")", c), "a\"b\n");  // unescaped
  EXPECT_EQ(Get<std::string_view>(R"("")", c), "");
  EXPECT_EQ(Get<std::string_view>("42", c), "42");
  EXPECT_EQ(Get<std::string_view>("-7", c), "-7");
  EXPECT_EQ(Get<std::string_view>("18446744073709551615", c), "18446744073709551615");
  EXPECT_EQ(Get<std::string_view>("-1.5", c), "-1.5");
  EXPECT_EQ(Get<std::string_view>("true", c), "true");
  EXPECT_EQ(Get<std::string_view>("false", c), "false");
  EXPECT_EQ(Get<std::string_view>(R"({ "b" : [1, 2], "c": {"d": "e"} })", c),
            R"({"b":[1,2],"c":{"d":"e"}})");
  EXPECT_EQ(Get<std::string_view>(R"([ 1 , "x" , null ])", c), R"([1,"x",null])");
}

TEST_F(JsonToValueTest, JsonColumnsHoldMinifiedText) {
  const ParquetColumn c = Col(ColumnType::kJson);
  EXPECT_EQ(Get<std::string_view>(R"({ "a" : 1, "b" : [ true , null ], "c": {} })", c),
            R"({"a":1,"b":[true,null],"c":{}})");
  EXPECT_EQ(Get<std::string_view>(R"( [ ] )", c), "[]");
  EXPECT_EQ(Get<std::string_view>(R"("text")", c), R"("text")");
  EXPECT_EQ(Get<std::string_view>(R"("a\"b")", c), R"("a\"b")");
  EXPECT_EQ(Get<std::string_view>("12", c), "12");
  EXPECT_EQ(Get<std::string_view>("false", c), "false");
}

TEST_F(JsonToValueTest, BinaryTakesStringsOnly) {
  const ParquetColumn c = Col(ColumnType::kBinary);
  EXPECT_EQ(Get<std::string_view>(R"("bytes")", c), "bytes");
  EXPECT_EQ(Error("12", c), "column 'c' (binary): expected a string, not 12");
  Error("{}", c);
}

TEST_F(JsonToValueTest, ListsAndStructsAreTheJsonItself) {
  const ParquetColumn list = Col(ColumnType::kList), st = Col(ColumnType::kStruct);
  EXPECT_TRUE(Get<simdjson::dom::element>("[1, 2, 3]", list).is_array());
  EXPECT_TRUE(Get<simdjson::dom::element>("[]", list).is_array());
  EXPECT_TRUE(Get<simdjson::dom::element>(R"({"a": 1})", st).is_object());
  EXPECT_EQ(Error(R"({"a": 1})", list),
            "column 'c' (list<int64>): expected an array, not {\"a\":1}");
  EXPECT_NE(Error("[1]", st).find("(struct<a:int64>): expected an object, not [1]"),
            std::string::npos);
  EXPECT_NE(Error(R"("[1]")", list).find("expected an array"), std::string::npos);
  EXPECT_NE(Error("5", st).find("expected an object"), std::string::npos);
}

TEST_F(JsonToValueTest, LongValuesAreShortenedInMessages) {
  std::string json = "\"" + std::string(100, 'x') + "\"";
  std::string m = Error(json, Col(ColumnType::kInt64));
  EXPECT_NE(m.find("'" + std::string(37, 'x') + "...'"), std::string::npos) << m;
  EXPECT_LT(m.size(), 100u);
}

TEST(JsonToValueScratch, OneScratchPerLiveValue) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(std::string_view(R"({"a": 12, "b": {"x": true}})")).get(doc),
            simdjson::SUCCESS);
  std::string s1, s2;
  ParquetValue v1, v2;
  ASSERT_TRUE(JsonToValue(doc["a"], Col(ColumnType::kString), &s1, &v1).ok());
  ASSERT_TRUE(JsonToValue(doc["b"], Col(ColumnType::kJson), &s2, &v2).ok());
  EXPECT_EQ(std::get<std::string_view>(v1), "12");
  EXPECT_EQ(std::get<std::string_view>(v2), R"({"x":true})");
}

// ---- TextToValue ----

TEST_F(TextToValueTest, EmptyTextIsNullForEveryType) {
  for (ColumnType t :
       {ColumnType::kBoolean, ColumnType::kInt32, ColumnType::kInt64, ColumnType::kFloat,
        ColumnType::kDouble, ColumnType::kString, ColumnType::kBinary, ColumnType::kDate,
        ColumnType::kTimestampMillis, ColumnType::kTimestampMicros, ColumnType::kJson,
        ColumnType::kList, ColumnType::kStruct, ColumnType::kDecimal}) {
    ParquetColumn c = Col(t, t == ColumnType::kDecimal ? 5 : 0);
    EXPECT_TRUE(Text("", c).ok());
    EXPECT_TRUE(std::holds_alternative<std::monostate>(value_)) << ColumnTypeName(t);
  }
}

TEST_F(TextToValueTest, Scalars) {
  EXPECT_EQ(Get<std::string_view>("abc", Col(ColumnType::kString)), "abc");
  EXPECT_EQ(Get<std::string_view>(" 1 ", Col(ColumnType::kString)), " 1 ");
  EXPECT_EQ(Get<std::string_view>("raw", Col(ColumnType::kBinary)), "raw");
  EXPECT_EQ(Get<int32_t>("42", Col(ColumnType::kInt32)), 42);
  EXPECT_EQ(Get<int32_t>("-42", Col(ColumnType::kInt32)), -42);
  EXPECT_EQ(Get<int32_t>("+42", Col(ColumnType::kInt32)), 42);
  EXPECT_EQ(Get<int64_t>("9223372036854775807", Col(ColumnType::kInt64)),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Get<double>("1e-3", Col(ColumnType::kDouble)), 1e-3);
  EXPECT_EQ(Get<float>("0.5", Col(ColumnType::kFloat)), 0.5f);
  EXPECT_TRUE(std::isnan(Get<float>("nan", Col(ColumnType::kFloat))));
  EXPECT_EQ(Get<double>("-Infinity", Col(ColumnType::kDouble)),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(Str(Get<Int128>("-12.345", Col(ColumnType::kDecimal, 5, 2))), "-1235");
  EXPECT_EQ(Get<int32_t>("2024-03-01", Col(ColumnType::kDate)), 19783);
  EXPECT_EQ(Get<int64_t>("2024-03-01 12:34:56", Col(ColumnType::kTimestampMicros)),
            1709296496000000);
  EXPECT_EQ(Get<int64_t>("2024-03-01T12:34:56.9999Z", Col(ColumnType::kTimestampMillis)),
            1709296496999);
  EXPECT_EQ(Get<int64_t>("1709296496000", Col(ColumnType::kTimestampMillis)), 1709296496000);
}

TEST_F(TextToValueTest, BooleansTakeOneAndZeroToo) {
  const ParquetColumn c = Col(ColumnType::kBoolean);
  EXPECT_EQ(Get<bool>("1", c), true);
  EXPECT_EQ(Get<bool>("0", c), false);
  EXPECT_EQ(Get<bool>("true", c), true);
  EXPECT_EQ(Get<bool>("False", c), false);
  EXPECT_EQ(Get<bool>("TRUE", c), true);
  for (const char* bad : {"yes", "2", "t", "01", " true"}) Error(bad, c);
}

TEST_F(TextToValueTest, Refusals) {
  EXPECT_NE(Error("2147483648", Col(ColumnType::kInt32)).find("out of the int32 range"),
            std::string::npos);
  EXPECT_NE(Error("9223372036854775808", Col(ColumnType::kInt64)).find("is not an integer"),
            std::string::npos);
  EXPECT_NE(Error("4.0", Col(ColumnType::kInt64)).find("is not an integer"), std::string::npos);
  EXPECT_NE(Error(" 4", Col(ColumnType::kInt64)).find("is not an integer"), std::string::npos);
  EXPECT_NE(Error("0x10", Col(ColumnType::kInt64)).find("is not an integer"), std::string::npos);
  EXPECT_NE(Error("1e39", Col(ColumnType::kFloat)).find("out of the float range"),
            std::string::npos);
  EXPECT_NE(Error("1e309", Col(ColumnType::kDouble)).find("is not a number"), std::string::npos);
  EXPECT_NE(Error("1.2.3", Col(ColumnType::kDouble)).find("is not a number"), std::string::npos);
  EXPECT_NE(Error("1000", Col(ColumnType::kDecimal, 5, 2)).find("at most 5 digits"),
            std::string::npos);
  EXPECT_NE(Error("19783", Col(ColumnType::kDate)).find("is not a date"), std::string::npos);
  EXPECT_NE(Error("2024-02-30", Col(ColumnType::kDate)).find("is not a date"), std::string::npos);
  EXPECT_NE(Error("01/03/2024", Col(ColumnType::kTimestampMicros)).find("not an ISO 8601"),
            std::string::npos);
}

TEST_F(TextToValueTest, JsonListAndStructFieldsAreJsonText) {
  EXPECT_EQ(Get<std::string_view>(R"( {"a" : [1, 2]} )", Col(ColumnType::kJson)), R"({"a":[1,2]})");
  EXPECT_EQ(Get<std::string_view>("5", Col(ColumnType::kJson)), "5");
  EXPECT_EQ(Get<std::string_view>("null", Col(ColumnType::kJson)), "null");  // JSON's null
  EXPECT_EQ(Error("{a:1}", Col(ColumnType::kJson)), "column 'c' (json): '{a:1}' is not JSON");
  EXPECT_TRUE(Get<simdjson::dom::element>("[1,2]", Col(ColumnType::kList)).is_array());
  EXPECT_TRUE(Get<simdjson::dom::element>(R"({"a":1})", Col(ColumnType::kStruct)).is_object());
  EXPECT_TRUE(Text("null", Col(ColumnType::kList)).ok());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(value_));
  EXPECT_NE(Error("[1", Col(ColumnType::kList)).find("is not JSON"), std::string::npos);
  EXPECT_NE(Error(R"({"a":1})", Col(ColumnType::kList)).find("expected an array"),
            std::string::npos);
  EXPECT_NE(Error("[1]", Col(ColumnType::kStruct)).find("expected an object"), std::string::npos);
}

}  // namespace
}  // namespace millrace::formats
