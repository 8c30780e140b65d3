// formats/csv: the CSV writer's text form of every column type, quoting, delimiters, the
// header, null against the empty string, refusal of bad rows (all or nothing), and the record
// splitter on well-formed and malformed lines, including writer -> splitter round trips.
// DuckDB reads the files back in formats_csv_readers_test.cc.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "formats/csv/csv_reader.h"
#include "formats/csv/csv_writer.h"

namespace millrace::formats::csv {
namespace {

using parquet::ColumnType;
using parquet::Int128;
using parquet::ParquetColumn;
using parquet::ParquetSchema;
using parquet::ParquetValue;

ParquetColumn Col(std::string name, ColumnType type, bool nullable = true, int precision = 0,
                  int scale = 0) {
  ParquetColumn c;
  c.name = std::move(name);
  c.type = type;
  c.nullable = nullable;
  c.precision = precision;
  c.scale = scale;
  if (type == ColumnType::kList) c.children.push_back(Col("element", ColumnType::kInt64));
  if (type == ColumnType::kStruct) c.children.push_back(Col("a", ColumnType::kInt64));
  return c;
}

// The text AppendValueText gives `v` in a column of `type`.
std::string Text(const ParquetValue& v, ColumnType type, int precision = 0, int scale = 0) {
  std::string out;
  AppendValueText(v, Col("c", type, true, precision, scale), &out);
  return out;
}

std::unique_ptr<CsvFileWriter> Make(ParquetSchema schema, CsvOptions options = {}) {
  auto w = CsvFileWriter::Create(std::move(schema), options);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(w).value() : nullptr;
}

std::string FinishOk(CsvFileWriter& w) {
  Result<std::string> out = w.Finish();
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : "";
}

// One string column, no header: the file for one row holding `s`.
std::string OneString(std::string_view s, char delimiter = ',') {
  auto w = Make({{Col("s", ColumnType::kString)}}, {.header = false, .delimiter = delimiter});
  EXPECT_TRUE(w->AppendRow({s}).ok());
  return FinishOk(*w);
}

std::vector<std::string> Split(std::string_view line, char delimiter = ',',
                               std::vector<bool>* quoted = nullptr) {
  std::vector<std::string_view> fields;
  std::string scratch;
  Status s = SplitCsvRecord(line, delimiter, &fields, &scratch, quoted);
  EXPECT_TRUE(s.ok()) << s.ToString() << " for " << line;
  return std::vector<std::string>(fields.begin(), fields.end());
}

std::string SplitError(std::string_view line, char delimiter = ',') {
  std::vector<std::string_view> fields;
  std::string scratch;
  Status s = SplitCsvRecord(line, delimiter, &fields, &scratch);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << line;
  return s.message();
}

using V = std::vector<std::string>;

// --- Text of each type ---------------------------------------------------------------------

TEST(CsvText, BooleanAndIntegers) {
  EXPECT_EQ(Text(true, ColumnType::kBoolean), "true");
  EXPECT_EQ(Text(false, ColumnType::kBoolean), "false");
  EXPECT_EQ(Text(int32_t{0}, ColumnType::kInt32), "0");
  EXPECT_EQ(Text(int32_t{-42}, ColumnType::kInt32), "-42");
  EXPECT_EQ(Text(std::numeric_limits<int32_t>::min(), ColumnType::kInt32), "-2147483648");
  EXPECT_EQ(Text(std::numeric_limits<int32_t>::max(), ColumnType::kInt32), "2147483647");
  EXPECT_EQ(Text(int64_t{2147483647}, ColumnType::kInt32), "2147483647");  // int64 in range
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::min(), ColumnType::kInt64), "-9223372036854775808");
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::max(), ColumnType::kInt64), "9223372036854775807");
  EXPECT_EQ(Text(int32_t{7}, ColumnType::kInt64), "7");
}

TEST(CsvText, FloatsAreShortestRoundTrip) {
  EXPECT_EQ(Text(0.1, ColumnType::kDouble), "0.1");
  EXPECT_EQ(Text(1.0, ColumnType::kDouble), "1");
  EXPECT_EQ(Text(-0.0, ColumnType::kDouble), "-0");
  EXPECT_EQ(Text(1e300, ColumnType::kDouble), "1e+300");
  EXPECT_EQ(Text(5e-324, ColumnType::kDouble), "5e-324");
  EXPECT_EQ(Text(0.1f, ColumnType::kFloat), "0.1");
  EXPECT_EQ(Text(0.1f, ColumnType::kDouble), "0.10000000149011612");  // the float's value
  EXPECT_EQ(Text(3.4028235e38f, ColumnType::kFloat), "3.4028235e+38");
  EXPECT_EQ(Text(std::nan(""), ColumnType::kDouble), "NaN");
  EXPECT_EQ(Text(-std::nan(""), ColumnType::kDouble), "NaN");
  EXPECT_EQ(Text(std::numeric_limits<double>::infinity(), ColumnType::kDouble), "Infinity");
  EXPECT_EQ(Text(-std::numeric_limits<double>::infinity(), ColumnType::kDouble), "-Infinity");
  EXPECT_EQ(Text(std::numeric_limits<float>::quiet_NaN(), ColumnType::kFloat), "NaN");
  EXPECT_EQ(Text(-std::numeric_limits<float>::infinity(), ColumnType::kFloat), "-Infinity");
  // Every double and float read back from its text is the same value.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    auto b32 = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b32, 4);
    if (!std::isnan(d)) {
      std::string t = Text(d, ColumnType::kDouble);
      ASSERT_EQ(std::strtod(t.c_str(), nullptr), d) << t;
    }
    if (!std::isnan(f)) {
      std::string t = Text(f, ColumnType::kFloat);
      ASSERT_EQ(std::strtof(t.c_str(), nullptr), f) << t;
    }
  }
}

TEST(CsvText, Decimals) {
  EXPECT_EQ(Text(int32_t{-5}, ColumnType::kDecimal, 5, 2), "-0.05");
  EXPECT_EQ(Text(int64_t{12340}, ColumnType::kDecimal, 5, 2), "123.40");
  EXPECT_EQ(Text(int32_t{0}, ColumnType::kDecimal, 5, 2), "0.00");
  EXPECT_EQ(Text(int32_t{7}, ColumnType::kDecimal, 5, 0), "7");
  EXPECT_EQ(Text(int32_t{-99999}, ColumnType::kDecimal, 5, 0), "-99999");
  EXPECT_EQ(Text(int32_t{99999}, ColumnType::kDecimal, 5, 5), "0.99999");
  EXPECT_EQ(Text(int32_t{1}, ColumnType::kDecimal, 38, 38),
            "0.00000000000000000000000000000000000001");
  Int128 max38 = 1;
  for (int i = 0; i < 38; ++i) max38 *= 10;
  max38 -= 1;
  EXPECT_EQ(Text(max38, ColumnType::kDecimal, 38, 0), std::string(38, '9'));
  EXPECT_EQ(Text(-max38, ColumnType::kDecimal, 38, 10),
            "-" + std::string(28, '9') + "." + std::string(10, '9'));
  // Around 10^19, where the digits are made in two pieces.
  Int128 e19 = Int128{10'000'000'000'000'000'000u};
  EXPECT_EQ(Text(e19, ColumnType::kDecimal, 20, 0), "10000000000000000000");
  EXPECT_EQ(Text(e19 - 1, ColumnType::kDecimal, 20, 1), "999999999999999999.9");
  EXPECT_EQ(Text(e19 * 5 + 42, ColumnType::kDecimal, 21, 3), "50000000000000000.042");
}

TEST(CsvText, Dates) {
  EXPECT_EQ(Text(int32_t{0}, ColumnType::kDate), "1970-01-01");
  EXPECT_EQ(Text(int32_t{-1}, ColumnType::kDate), "1969-12-31");
  EXPECT_EQ(Text(int32_t{59}, ColumnType::kDate), "1970-03-01");
  EXPECT_EQ(Text(int32_t{11016}, ColumnType::kDate), "2000-02-29");
  EXPECT_EQ(Text(int32_t{19783}, ColumnType::kDate), "2024-03-01");
  EXPECT_EQ(Text(int32_t{-25566}, ColumnType::kDate), "1900-01-02");
  EXPECT_EQ(Text(int32_t{-25567}, ColumnType::kDate), "1900-01-01");
  EXPECT_EQ(Text(int32_t{-25568}, ColumnType::kDate), "1899-12-31");
  EXPECT_EQ(Text(int32_t{-719162}, ColumnType::kDate), "0001-01-01");
  EXPECT_EQ(Text(int32_t{-719163}, ColumnType::kDate), "0000-12-31");  // 1 BC
  EXPECT_EQ(Text(int32_t{-719529}, ColumnType::kDate), "-0001-12-31");
  EXPECT_EQ(Text(int32_t{2932896}, ColumnType::kDate), "9999-12-31");
  EXPECT_EQ(Text(int32_t{2932897}, ColumnType::kDate), "10000-01-01");
  EXPECT_EQ(Text(int32_t{-4371953}, ColumnType::kDate), "-10000-01-01");
  EXPECT_EQ(Text(std::numeric_limits<int32_t>::max(), ColumnType::kDate), "5881580-07-11");
  EXPECT_EQ(Text(std::numeric_limits<int32_t>::min(), ColumnType::kDate), "-5877641-06-23");
  // Every day from 1900 to 2100 against an independent count of days.
  int32_t days = -25567;  // 1900-01-01
  for (int y = 1900; y <= 2100; ++y) {
    for (int m = 1; m <= 12; ++m) {
      int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      int n = m == 2 && leap ? 29 : month_days[m - 1];
      for (int d = 1; d <= n; ++d, ++days) {
        char want[32];
        snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
        ASSERT_EQ(Text(days, ColumnType::kDate), want);
      }
    }
  }
}

TEST(CsvText, Timestamps) {
  EXPECT_EQ(Text(int64_t{0}, ColumnType::kTimestampMillis), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Text(int64_t{-1}, ColumnType::kTimestampMillis), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Text(int64_t{-1000}, ColumnType::kTimestampMillis), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(Text(int64_t{-1001}, ColumnType::kTimestampMillis), "1969-12-31T23:59:58.999Z");
  EXPECT_EQ(Text(int64_t{1709296496123}, ColumnType::kTimestampMillis), "2024-03-01T12:34:56.123Z");
  EXPECT_EQ(Text(int32_t{5}, ColumnType::kTimestampMillis), "1970-01-01T00:00:00.005Z");
  EXPECT_EQ(Text(int64_t{-1}, ColumnType::kTimestampMicros), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(Text(int64_t{1709296496123456}, ColumnType::kTimestampMicros),
            "2024-03-01T12:34:56.123456Z");
  EXPECT_EQ(Text(int64_t{951782400000000}, ColumnType::kTimestampMicros),
            "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(Text(int64_t{253402300799999999}, ColumnType::kTimestampMicros),
            "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(Text(int64_t{-62135596800000000}, ColumnType::kTimestampMicros),
            "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::min(), ColumnType::kTimestampMicros),
            "-290308-12-21T19:59:05.224192Z");
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::max(), ColumnType::kTimestampMicros),
            "294247-01-10T04:00:54.775807Z");
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::max(), ColumnType::kTimestampMillis),
            "292278994-08-17T07:12:55.807Z");
  EXPECT_EQ(Text(std::numeric_limits<int64_t>::min(), ColumnType::kTimestampMillis),
            "-292275055-05-16T16:47:04.192Z");
  // Every hour for ten years around the epoch, against gmtime.
  for (int64_t s = -5LL * 365 * 86400; s < 5LL * 365 * 86400; s += 3599) {
    time_t t = s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char want[96];
    snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             static_cast<int>(s % 1000 + 1000) % 1000);
    ASSERT_EQ(Text(s * 1000000 + (s % 1000 + 1000) % 1000, ColumnType::kTimestampMicros), want);
  }
}

TEST(CsvText, StringsBinaryJsonListStruct) {
  EXPECT_EQ(Text(std::string_view("h\xc3\xa9llo"), ColumnType::kString), "h\xc3\xa9llo");
  EXPECT_EQ(Text(std::string_view("a,\"b\"\n"), ColumnType::kString), "a,\"b\"\n");  // unquoted
  EXPECT_EQ(Text(std::string_view(""), ColumnType::kBinary), "");
  EXPECT_EQ(Text(std::string_view("\0\xff", 2), ColumnType::kBinary), "AP8=");
  EXPECT_EQ(Text(std::string_view("abc"), ColumnType::kBinary), "YWJj");
  EXPECT_EQ(Text(std::string_view("ab"), ColumnType::kBinary), "YWI=");
  EXPECT_EQ(Text(std::string_view("{\"a\": 1}"), ColumnType::kJson), "{\"a\": 1}");  // as is
  simdjson::dom::parser parser;
  simdjson::dom::element doc =
      parser.parse(std::string_view(R"({"l": [1, 2.5, null, "x\ny"], "s": {"a" : true}})"));
  EXPECT_EQ(Text(doc["l"].value(), ColumnType::kList), R"([1,2.5,null,"x\ny"])");
  EXPECT_EQ(Text(doc["s"].value(), ColumnType::kStruct), R"({"a":true})");
  // A null, or a value that does not fit, appends nothing.
  EXPECT_EQ(Text(std::monostate{}, ColumnType::kString), "");
  EXPECT_EQ(Text(doc["s"].value(), ColumnType::kList), "");
  EXPECT_EQ(Text(int32_t{1}, ColumnType::kString), "");
}

// --- The file -------------------------------------------------------------------------------

TEST(CsvWriter, HeaderRowsAndNulls) {
  ParquetSchema schema{{Col("id", ColumnType::kInt64, false), Col("name", ColumnType::kString),
                        Col("ok", ColumnType::kBoolean)}};
  auto w = Make(schema);
  EXPECT_EQ(w->BufferedBytes(), 11u);
  ASSERT_TRUE(w->AppendRow({int64_t{1}, std::string_view("ann"), true}).ok());
  ASSERT_TRUE(w->AppendRow({int64_t{2}, std::monostate{}, std::monostate{}}).ok());
  ASSERT_TRUE(w->AppendRow({int64_t{3}, std::string_view(""), false}).ok());
  EXPECT_EQ(w->RowCount(), 3);
  EXPECT_EQ(w->BufferedBytes(), 11u + 11 + 4 + 11);
  EXPECT_EQ(FinishOk(*w), "id,name,ok\n1,ann,true\n2,,\n3,\"\",false\n");
  EXPECT_EQ(w->AppendRow({int64_t{4}, std::monostate{}, true}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(w->Finish().status().code(), Code::kFailedPrecondition);
}

TEST(CsvWriter, NoHeaderAndEmptyFiles) {
  ParquetSchema schema{{Col("a", ColumnType::kInt32), Col("b", ColumnType::kInt32)}};
  auto w = Make(schema, {.header = false});
  EXPECT_EQ(FinishOk(*w), "");
  w = Make(schema);
  EXPECT_EQ(FinishOk(*w), "a,b\n");
  w = Make(schema, {.header = false});
  ASSERT_TRUE(w->AppendRow({int32_t{1}, int32_t{2}}).ok());
  ASSERT_TRUE(w->AppendRow({std::monostate{}, std::monostate{}}).ok());
  EXPECT_EQ(FinishOk(*w), "1,2\n,\n");
  // One column: a null row is an empty line, an empty string a quoted one.
  w = Make({{Col("s", ColumnType::kString)}}, {.header = false});
  ASSERT_TRUE(w->AppendRow({std::monostate{}}).ok());
  ASSERT_TRUE(w->AppendRow({std::string_view("")}).ok());
  EXPECT_EQ(FinishOk(*w), "\n\"\"\n");
}

TEST(CsvWriter, Quoting) {
  EXPECT_EQ(OneString("plain text"), "plain text\n");
  EXPECT_EQ(OneString(" spaces kept "), " spaces kept \n");
  EXPECT_EQ(OneString(""), "\"\"\n");
  EXPECT_EQ(OneString("a,b"), "\"a,b\"\n");
  EXPECT_EQ(OneString("say \"hi\""), "\"say \"\"hi\"\"\"\n");
  EXPECT_EQ(OneString("\""), "\"\"\"\"\n");
  EXPECT_EQ(OneString("\"\""), "\"\"\"\"\"\"\n");
  EXPECT_EQ(OneString("line\nbreak"), "\"line\nbreak\"\n");
  EXPECT_EQ(OneString("cr\rlf\r\n"), "\"cr\rlf\r\n\"\n");
  EXPECT_EQ(OneString("x\"y,z\"\n"), "\"x\"\"y,z\"\"\n\"\n");
  EXPECT_EQ(OneString("tab\there"), "tab\there\n");
  // Another delimiter: the comma is plain text, the delimiter is quoted.
  EXPECT_EQ(OneString("a,b", ';'), "a,b\n");
  EXPECT_EQ(OneString("a;b", ';'), "\"a;b\"\n");
  EXPECT_EQ(OneString("tab\there", '\t'), "\"tab\there\"\n");
  EXPECT_EQ(OneString("a,b;c", '\t'), "a,b;c\n");
}

TEST(CsvWriter, DelimitersAndQuotedHeader) {
  ParquetSchema schema{{Col("a;b", ColumnType::kString), Col("c\"d", ColumnType::kInt32),
                        Col("e,f", ColumnType::kDate)}};
  auto w = Make(schema, {.delimiter = ';'});
  ASSERT_TRUE(w->AppendRow({std::string_view("x;y,z"), int32_t{-1}, int32_t{0}}).ok());
  EXPECT_EQ(FinishOk(*w), "\"a;b\";\"c\"\"d\";e,f\n\"x;y,z\";-1;1970-01-01\n");

  w = Make(schema, {.delimiter = '\t'});
  ASSERT_TRUE(w->AppendRow({std::string_view("x\ty"), std::monostate{}, int32_t{1}}).ok());
  EXPECT_EQ(FinishOk(*w), "a;b\t\"c\"\"d\"\te,f\n\"x\ty\"\t\t1970-01-02\n");

  // A delimiter that the text of other types uses: those fields are quoted too.
  w = Make(
      {{Col("d", ColumnType::kDate), Col("n", ColumnType::kInt32), Col("b", ColumnType::kBinary)}},
      {.header = false, .delimiter = '-'});
  ASSERT_TRUE(w->AppendRow({int32_t{0}, int32_t{-5}, std::string_view("\xff\xff")}).ok());
  EXPECT_EQ(FinishOk(*w), "\"1970-01-01\"-\"-5\"-//8=\n");
}

TEST(CsvWriter, RefusesBadOptionsAndSchemas) {
  ParquetSchema schema{{Col("a", ColumnType::kInt32)}};
  for (char d : {'"', '\n', '\r'}) {
    auto w = CsvFileWriter::Create(schema, {.delimiter = d});
    EXPECT_EQ(w.status().code(), Code::kInvalidArgument);
  }
  EXPECT_EQ(CsvFileWriter::Create({}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      CsvFileWriter::Create({{Col("a", ColumnType::kInt32), Col("a", ColumnType::kInt32)}}, {})
          .status()
          .code(),
      Code::kInvalidArgument);
  EXPECT_EQ(
      CsvFileWriter::Create({{Col("d", ColumnType::kDecimal, true, 40, 2)}}, {}).status().code(),
      Code::kInvalidArgument);
}

// Every kind of bad value, in the middle of a row whose earlier fields were fine: the error
// names the column, and the file is as if the row had never been offered.
TEST(CsvWriter, BadRowIsNotWritten) {
  simdjson::dom::parser parser;
  simdjson::dom::element arr = parser.parse(std::string_view("[1]"));
  struct Bad {
    ParquetColumn column;
    ParquetValue value;
    const char* message;
  };
  std::vector<Bad> cases = {
      {Col("b", ColumnType::kBoolean), int32_t{1}, "expected a boolean"},
      {Col("i", ColumnType::kInt32, false), std::monostate{}, "not nullable"},
      {Col("i", ColumnType::kInt32), int64_t{1} << 31, "out of the int32 range"},
      {Col("i", ColumnType::kInt32), 1.0, "expected an integer"},
      {Col("i", ColumnType::kInt64), Int128{1}, "expected an integer"},
      {Col("d", ColumnType::kDate), std::string_view("2024-01-01"), "expected an integer"},
      {Col("t", ColumnType::kTimestampMillis), true, "expected an integer"},
      {Col("f", ColumnType::kFloat), 1.0, "expected a float"},
      {Col("f", ColumnType::kDouble), int64_t{1}, "expected a double"},
      {Col("s", ColumnType::kString), int32_t{1}, "expected a string"},
      {Col("s", ColumnType::kString), std::string_view("ok\xc3"), "not valid UTF-8"},
      {Col("s", ColumnType::kString), std::string_view("\xed\xa0\x80"), "not valid UTF-8"},
      {Col("j", ColumnType::kJson), std::string_view("\"\xff\""), "not valid UTF-8"},
      {Col("j", ColumnType::kJson), int32_t{1}, "expected JSON text"},
      {Col("x", ColumnType::kBinary), false, "expected a string of bytes"},
      {Col("m", ColumnType::kDecimal, true, 3, 1), int32_t{1000}, "has more than 3 digits"},
      {Col("m", ColumnType::kDecimal, true, 3, 1), int32_t{-1000}, "has more than 3 digits"},
      {Col("m", ColumnType::kDecimal, true, 3, 1), 1.5, "expected an unscaled decimal"},
      {Col("l", ColumnType::kList), std::string_view("[1]"), "expected a JSON array"},
      {Col("l", ColumnType::kStruct), arr, "expected a JSON object"},
  };
  for (const Bad& bad : cases) {
    SCOPED_TRACE(bad.message);
    ParquetSchema schema{{Col("first", ColumnType::kString), bad.column}};
    auto w = Make(schema);
    // A value the column takes (only the int32 case is not nullable).
    ParquetValue good = bad.column.nullable ? ParquetValue(std::monostate{}) : int32_t{5};
    ASSERT_TRUE(w->AppendRow({std::string_view("kept"), good}).ok());
    size_t bytes = w->BufferedBytes();
    int64_t rows = w->RowCount();
    Status s =
        w->AppendRow({std::string_view("a long value written before the bad one"), bad.value});
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("column '" + bad.column.name + "'"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(bad.message), std::string::npos) << s.message();
    EXPECT_EQ(w->BufferedBytes(), bytes);
    EXPECT_EQ(w->RowCount(), rows);
    // Still usable.
    ASSERT_TRUE(w->AppendRow({std::string_view("next"), good}).ok());
    std::string file = FinishOk(*w);
    EXPECT_EQ(file.find("a long value"), std::string::npos);
  }
  // A row of the wrong length.
  auto w = Make({{Col("a", ColumnType::kInt32)}});
  EXPECT_EQ(w->AppendRow({int32_t{1}, int32_t{2}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(FinishOk(*w), "a\n");
}

TEST(CsvWriter, EveryTypeInOneRow) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(std::string_view(R"({"l":[1,2],"s":{"a":"x,y"}})"));
  ParquetSchema schema{
      {Col("b", ColumnType::kBoolean), Col("i32", ColumnType::kInt32),
       Col("i64", ColumnType::kInt64), Col("f", ColumnType::kFloat), Col("d", ColumnType::kDouble),
       Col("s", ColumnType::kString), Col("bin", ColumnType::kBinary),
       Col("date", ColumnType::kDate), Col("ts_ms", ColumnType::kTimestampMillis),
       Col("ts_us", ColumnType::kTimestampMicros), Col("dec", ColumnType::kDecimal, true, 10, 3),
       Col("j", ColumnType::kJson), Col("l", ColumnType::kList), Col("st", ColumnType::kStruct)}};
  auto w = Make(schema);
  ASSERT_TRUE(
      w->AppendRow({true, int32_t{-7}, int64_t{1} << 40, 1.5f, -2.25,
                    std::string_view("caf\xc3\xa9"), std::string_view("hi"), int32_t{19783},
                    int64_t{1709296496123}, int64_t{1709296496123456}, int64_t{-1234567},
                    std::string_view(R"({"k":[1,"v"]})"), doc["l"].value(), doc["s"].value()})
          .ok());
  EXPECT_EQ(FinishOk(*w),
            "b,i32,i64,f,d,s,bin,date,ts_ms,ts_us,dec,j,l,st\n"
            "true,-7,1099511627776,1.5,-2.25,caf\xc3\xa9,aGk=,2024-03-01,"
            "2024-03-01T12:34:56.123Z,2024-03-01T12:34:56.123456Z,-1234.567,"
            "\"{\"\"k\"\":[1,\"\"v\"\"]}\",\"[1,2]\",\"{\"\"a\"\":\"\"x,y\"\"}\"\n");
}

TEST(CsvWriter, UnicodeAndLongStrings) {
  std::string unicode =
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a "
      "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88";
  EXPECT_EQ(OneString(unicode), unicode + "\n");
  std::string plain(1 << 20, 'x');
  EXPECT_EQ(OneString(plain), plain + "\n");
  // 1 MiB with quotes and delimiters throughout.
  std::string busy;
  std::string want = "\"";
  for (int i = 0; busy.size() < (1 << 20); ++i) {
    busy.append("\"").append(std::to_string(i)).append(",\n").append(unicode);
    want.append("\"\"").append(std::to_string(i)).append(",\n").append(unicode);
  }
  want += "\"\n";
  EXPECT_EQ(OneString(busy), want);
  // Read back by the splitter.
  std::string file = OneString(busy);
  EXPECT_EQ(Split(file), V{busy});
}

// --- The splitter ---------------------------------------------------------------------------

TEST(CsvSplit, Simple) {
  EXPECT_EQ(Split("a,b,c"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split("a,b,c\n"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split("a,b,c\r\n"), (V{"a", "b", "c"}));
  EXPECT_EQ(Split(""), V{""});
  EXPECT_EQ(Split("\n"), V{""});
  EXPECT_EQ(Split("\r\n"), V{""});
  EXPECT_EQ(Split(std::string_view()), V{""});
  EXPECT_EQ(Split(","), (V{"", ""}));
  EXPECT_EQ(Split("a,"), (V{"a", ""}));
  EXPECT_EQ(Split(",a"), (V{"", "a"}));
  EXPECT_EQ(Split(",,\n"), (V{"", "", ""}));
  EXPECT_EQ(Split(" a , b "), (V{" a ", " b "}));
  EXPECT_EQ(Split("a;b,c", ';'), (V{"a", "b,c"}));
  EXPECT_EQ(Split("a\tb c\t", '\t'), (V{"a", "b c", ""}));
}

TEST(CsvSplit, Quoted) {
  std::vector<bool> quoted;
  EXPECT_EQ(Split("\"\",,x", ',', &quoted), (V{"", "", "x"}));
  EXPECT_EQ(quoted, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(Split("\"a,b\",\"c\"\"d\"\"\",\"\"\"\"", ',', &quoted), (V{"a,b", "c\"d\"", "\""}));
  EXPECT_EQ(quoted, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(Split("\"line\nbreak\",\"cr\r\nlf\"\r\n"), (V{"line\nbreak", "cr\r\nlf"}));
  EXPECT_EQ(Split("\"ends with newline\n\"\n"), V{"ends with newline\n"});
  EXPECT_EQ(Split("x,\"\""), (V{"x", ""}));
  EXPECT_EQ(Split("\"a;b\";c", ';'), (V{"a;b", "c"}));
  EXPECT_EQ(Split("\"a\tb\"\t\"\"", '\t', &quoted), (V{"a\tb", ""}));
  EXPECT_EQ(quoted, (std::vector<bool>{true, true}));
}

TEST(CsvSplit, BareQuotesInUnquotedFieldsAreText) {
  EXPECT_EQ(Split("ab\"c,d"), (V{"ab\"c", "d"}));
  EXPECT_EQ(Split("a\"\",\"b\""), (V{"a\"\"", "b"}));
  EXPECT_EQ(Split(" \"a\""), V{" \"a\""});
}

TEST(CsvSplit, Malformed) {
  EXPECT_EQ(SplitError("\"abc"), "unterminated quoted field starting at offset 0");
  EXPECT_EQ(SplitError("a,\"abc\n"), "unterminated quoted field starting at offset 2");
  EXPECT_EQ(SplitError("a,\"ab\"\"\n"), "unterminated quoted field starting at offset 2");
  EXPECT_EQ(SplitError("\"a\"b,c"), "text after a closing quote at offset 3");
  EXPECT_EQ(SplitError("x,\"a\" ,c"), "text after a closing quote at offset 5");
  EXPECT_EQ(SplitError("\"a\";b"), "text after a closing quote at offset 3");
  EXPECT_EQ(SplitError("1,a\n2,b\n"), "line break outside quotes at offset 3");
  EXPECT_EQ(SplitError("1,a\r2"), "line break outside quotes at offset 3");
  EXPECT_EQ(SplitError("a\r"), "line break outside quotes at offset 1");
  EXPECT_EQ(SplitError("\"ok\",x\n\n"), "line break outside quotes at offset 6");
  EXPECT_NE(SplitError("a", '"').find("delimiter"), std::string::npos);
}

TEST(CsvSplit, ViewsSurviveManyQuotedFields) {
  // The scratch must not move while fields are added: many quoted fields in a long line.
  std::string line;
  V want;
  for (int i = 0; i < 2000; ++i) {
    want.push_back(std::string("v\"").append(std::to_string(i)).append(","));
    line.append(i ? "," : "").append("\"v\"\"").append(std::to_string(i)).append(",\"");
  }
  EXPECT_EQ(Split(line), want);
}

// Random lines over the bytes that matter: the splitter either refuses the line or returns
// fields that lie in the line or the scratch, and rejoining them (quoting every field)
// splits to the same fields again.
TEST(CsvSplit, RandomLines) {
  std::mt19937 rng(11);
  const char alphabet[] = {',', '"', 'a', '\n', '\r', ' '};
  std::vector<std::string_view> fields;
  std::vector<bool> quoted;
  std::string scratch;
  int ok = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string line(rng() % 12, ' ');
    for (char& c : line) c = alphabet[rng() % sizeof alphabet];
    if (!SplitCsvRecord(line, ',', &fields, &scratch, &quoted).ok()) continue;
    ++ok;
    ASSERT_EQ(fields.size(), quoted.size());
    std::string rejoined;
    for (size_t i = 0; i < fields.size(); ++i) {
      const char* p = fields[i].data();
      bool in_line = p >= line.data() && p + fields[i].size() <= line.data() + line.size();
      bool in_scratch =
          p >= scratch.data() && p + fields[i].size() <= scratch.data() + scratch.size();
      ASSERT_TRUE(fields[i].empty() || (quoted[i] ? in_scratch : in_line)) << line;
      if (i > 0) rejoined += ',';
      rejoined += '"';
      for (char c : fields[i]) rejoined += c == '"' ? std::string("\"\"") : std::string(1, c);
      rejoined += '"';
    }
    std::vector<std::string> want(fields.begin(), fields.end());
    EXPECT_EQ(Split(rejoined), want) << line;
  }
  EXPECT_GT(ok, 1000);
}

// Whatever the writer writes, the splitter reads back: values, nulls (unquoted empty) and
// empty strings (quoted empty), with every delimiter.
TEST(CsvSplit, RoundTripFromWriter) {
  std::vector<std::string> values = {"",    "a",    " ",          ",",        ";",     "\t",
                                     "\"",  "\"\"", "a\"b",       "\n",       "\r\n",  "\r",
                                     "x,y", "x;y",  "\"quoted\"", "\xc3\xa9", "end\"", "\",\n"};
  std::mt19937 rng(3);
  for (char delimiter : {',', ';', '\t', '|', ' '}) {
    SCOPED_TRACE(std::string("delimiter ") + delimiter);
    ParquetSchema schema;
    for (int c = 0; c < 5; ++c)
      schema.columns.push_back(Col(std::string(1, 'a' + c), ColumnType::kString));
    auto w = Make(schema, {.header = false, .delimiter = delimiter});
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (int r = 0; r < 500; ++r) {
      std::vector<std::optional<std::string>> row;
      std::vector<ParquetValue> cells;
      for (int c = 0; c < 5; ++c) {
        size_t k = rng() % (values.size() + 1);
        if (k == values.size()) {
          row.push_back(std::nullopt);
        } else {
          row.push_back(values[k] + (rng() % 2 ? values[rng() % values.size()] : ""));
        }
      }
      for (const auto& v : row) {
        cells.push_back(v ? ParquetValue(std::string_view(*v)) : ParquetValue(std::monostate{}));
      }
      ASSERT_TRUE(w->AppendRow(cells).ok());
      rows.push_back(row);
    }
    std::string file = FinishOk(*w);
    // Cut the file into records: a '\n' outside quotes ends one (quotes toggle; a doubled
    // quote toggles twice).
    std::vector<std::string_view> records;
    bool in_quotes = false;
    size_t start = 0;
    for (size_t i = 0; i < file.size(); ++i) {
      if (file[i] == '"') in_quotes = !in_quotes;
      if (file[i] == '\n' && !in_quotes) {
        records.push_back(std::string_view(file).substr(start, i + 1 - start));
        start = i + 1;
      }
    }
    ASSERT_EQ(start, file.size());
    ASSERT_EQ(records.size(), rows.size());
    std::vector<std::string_view> fields;
    std::vector<bool> quoted;
    std::string scratch;
    for (size_t r = 0; r < rows.size(); ++r) {
      ASSERT_TRUE(SplitCsvRecord(records[r], delimiter, &fields, &scratch, &quoted).ok())
          << records[r];
      ASSERT_EQ(fields.size(), 5u) << records[r];
      for (int c = 0; c < 5; ++c) {
        const auto& want = rows[r][c];
        bool null = fields[c].empty() && !quoted[c];
        ASSERT_EQ(null, !want.has_value()) << records[r];
        if (want) {
          EXPECT_EQ(fields[c], *want) << records[r];
        }
      }
    }
  }
}

}  // namespace
}  // namespace millrace::formats::csv
