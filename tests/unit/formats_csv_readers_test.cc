// formats/csv, read back by an independent reader: every file written here is read by
// DuckDB's read_csv with explicit column types (tests/parquet/read_csv.mjs, which installs
// DuckDB with npm on first use into /tmp/millrace-parquet-deps, shared with the Parquet
// reader test), and every cell DuckDB reports is compared with what was written: every
// scalar type and its edge values, nulls against empty strings, quotes, delimiters and line
// breaks inside values, unicode, long values, other delimiters, the header. Skipped, saying
// so, when node is not installed.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "formats/csv/csv_writer.h"
#include "node_reader_util.h"

namespace millrace::formats::csv {
namespace {

namespace fs = std::filesystem;
using parquet::ColumnType;
using parquet::Int128;
using parquet::ParquetColumn;
using parquet::ParquetSchema;
using parquet::ParquetValue;
using testing_util::DecimalText;
using testing_util::HaveNode;
using testing_util::NodeScript;
using testing_util::RunNode;

// A column to write and how DuckDB is told to read it.
struct Column {
  ParquetColumn column;
  std::string duckdb_type;
  bool base64 = false;  // binary: read as VARCHAR, decoded by from_base64
};

// A table to write and the canonical text of each cell (read_csv.mjs's forms).
struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<ParquetValue>> rows;
  std::vector<std::vector<std::optional<std::string>>> text;
  std::deque<std::string> storage;  // backs the string_views in `rows`
  simdjson::dom::parser parser;     // backs the elements in `rows`
  std::deque<simdjson::dom::document> documents;
};

ParquetSchema SchemaOf(const Table& t) {
  ParquetSchema s;
  for (const Column& c : t.columns) s.columns.push_back(c.column);
  return s;
}

std::string Write(const Table& t, CsvOptions options) {
  auto w = CsvFileWriter::Create(SchemaOf(t), options);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return "";
  for (const auto& row : t.rows) {
    Status s = (*w)->AppendRow(row);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  Result<std::string> file = (*w)->Finish();
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? *file : "";
}

// Writes `bytes` and the read_csv.mjs spec to temporary files and returns what the script
// printed.
std::string ReadBack(const Table& t, const std::string& bytes, char delimiter,
                     const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("millrace-csv-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path file = dir / (name + ".csv"), spec = dir / (name + ".json");
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  std::string json;
  JsonWriter j(&json);
  j.BeginObject();
  j.Key("file");
  j.String(file.string());
  j.Key("delim");
  j.String(std::string(1, delimiter));
  j.Key("columns");
  j.BeginArray();
  for (const Column& c : t.columns) {
    j.BeginObject();
    j.Key("name");
    j.String(c.column.name);
    j.Key("type");
    j.String(c.duckdb_type);
    j.Key("base64");
    j.Bool(c.base64);
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
  std::ofstream(spec, std::ios::binary) << json;
  std::string out = RunNode(NodeScript("read_csv.mjs"), spec.string());
  fs::remove(file);
  fs::remove(spec);
  return out;
}

// --- Expected text, computed independently of the writer -----------------------------------

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    char b[3];
    snprintf(b, sizeof b, "%02x", c);
    out += b;
  }
  return out;
}

// Text values that exercise quoting: delimiters of every test, quotes, line breaks, spaces,
// words that some readers take for null, unicode.
const std::vector<std::string>& Strings() {
  static const std::vector<std::string> v = {
      "plain",
      "",
      " ",
      " leading and trailing ",
      "a,b",
      "a;b",
      "a\tb",
      "a|b",
      "\"",
      "\"\"",
      "say \"hi\", then leave",
      "\"starts and ends\"",
      "line\nbreak",
      "crlf\r\ninside",
      "lone\rcr",
      "\n",
      "ends with newline\n",
      "NULL",
      "null",
      "NaN",
      "\\N",
      "back\\slash",
      "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a",
      "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88",
      "'single quotes'",
      "#not a comment",
  };
  return v;
}

// JSON documents for the json, list and struct columns: as sent, and minified.
struct JsonCase {
  const char* text;
  const char* minified;
};
const std::vector<JsonCase>& ListCases() {
  static const std::vector<JsonCase> v = {
      {"[1, 2, null]", "[1,2,null]"},
      {"[]", "[]"},
      {R"(["a,b", "say \"hi\"", "line\nbreak", "\u00e9"])",
       R"(["a,b","say \"hi\"","line\nbreak","é"])"},
      {"[1.5, -2e300, true, false]", "[1.5,-2e+300,true,false]"},  // simdjson spells it
      {R"([{"a": [1]}, [[]]])", R"([{"a":[1]},[[]]])"},
  };
  return v;
}
const std::vector<JsonCase>& StructCases() {
  static const std::vector<JsonCase> v = {
      {R"({"a": 1, "b": "x"})", R"({"a":1,"b":"x"})"},
      {"{}", "{}"},
      {R"({"a": null, "b": "comma, \"quote\"\r\n"})", R"({"a":null,"b":"comma, \"quote\"\r\n"})"},
      {R"({"nested": {"l": [1, {"x": -0.5}]}})", R"({"nested":{"l":[1,{"x":-0.5}]}})"},
  };
  return v;
}

// Every scalar type (and json, list and struct read as DuckDB JSON), required and nullable,
// with DuckDB's name for it.
std::vector<Column> AllColumns() {
  std::vector<Column> base = {
      {{.name = "b", .type = ColumnType::kBoolean}, "BOOLEAN"},
      {{.name = "i32", .type = ColumnType::kInt32}, "INTEGER"},
      {{.name = "i64", .type = ColumnType::kInt64}, "BIGINT"},
      {{.name = "f", .type = ColumnType::kFloat}, "FLOAT"},
      {{.name = "d", .type = ColumnType::kDouble}, "DOUBLE"},
      {{.name = "s", .type = ColumnType::kString}, "VARCHAR"},
      {{.name = "bin", .type = ColumnType::kBinary}, "VARCHAR", true},
      {{.name = "date", .type = ColumnType::kDate}, "DATE"},
      {{.name = "ts_ms", .type = ColumnType::kTimestampMillis}, "TIMESTAMPTZ"},
      {{.name = "ts_us", .type = ColumnType::kTimestampMicros}, "TIMESTAMPTZ"},
      {{.name = "ts_plain", .type = ColumnType::kTimestampMicros}, "TIMESTAMP"},
      {{.name = "dec9", .type = ColumnType::kDecimal, .precision = 9, .scale = 2}, "DECIMAL(9,2)"},
      {{.name = "dec18", .type = ColumnType::kDecimal, .precision = 18, .scale = 4},
       "DECIMAL(18,4)"},
      {{.name = "dec38", .type = ColumnType::kDecimal, .precision = 38, .scale = 10},
       "DECIMAL(38,10)"},
      {{.name = "dec25", .type = ColumnType::kDecimal, .precision = 25, .scale = 0},
       "DECIMAL(25,0)"},
      {{.name = "dec5_5", .type = ColumnType::kDecimal, .precision = 5, .scale = 5},
       "DECIMAL(5,5)"},
      {{.name = "j", .type = ColumnType::kJson}, "JSON"},
      {{.name = "l",
        .type = ColumnType::kList,
        .children = {{.name = "element", .type = ColumnType::kJson}}},
       "JSON"},
      {{.name = "st",
        .type = ColumnType::kStruct,
        .children = {{.name = "a", .type = ColumnType::kJson}}},
       "JSON"},
  };
  std::vector<Column> all;
  for (Column c : base) {
    c.column.nullable = false;
    all.push_back(c);
    c.column.name += "_null";
    c.column.nullable = true;
    all.push_back(c);
  }
  return all;
}

// Row `i`'s value in column `c` (of index `k`), or null, with its canonical text.
void AddCell(Table* t, const ParquetColumn& c, int k, int i, std::mt19937_64& rng,
             std::vector<ParquetValue>* row, std::vector<std::optional<std::string>>* text) {
  if (c.nullable && (i + k) % 5 == 0) {
    row->push_back(std::monostate{});
    text->push_back(std::nullopt);
    return;
  }
  auto pick = [&](auto&& specials, auto&& random) {
    size_t n = std::size(specials);
    return static_cast<size_t>(i) < n ? specials[i] : random();
  };
  switch (c.type) {
    case ColumnType::kBoolean:
      row->push_back(i % 3 == 0);
      text->push_back(i % 3 == 0 ? "true" : "false");
      return;
    case ColumnType::kInt32: {
      int32_t specials[] = {0, -1, 1, std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max()};
      int32_t v = pick(specials, [&] { return static_cast<int32_t>(rng()); });
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kInt64: {
      int64_t specials[] = {0, -1, std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()};
      int64_t v = pick(specials, [&] { return static_cast<int64_t>(rng()) >> (rng() % 64); });
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kFloat: {
      float specials[] = {0.1f,
                          -0.0f,
                          0.0f,
                          1.0f,
                          std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::min(),
                          std::numeric_limits<float>::denorm_min()};
      float v = pick(specials, [&] {
        float f;
        do {
          auto bits = static_cast<uint32_t>(rng());
          std::memcpy(&f, &bits, 4);
        } while (std::isnan(f));
        return f;
      });
      row->push_back(v);
      char buf[64];
      snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));  // compared as numbers
      text->push_back(buf);
      return;
    }
    case ColumnType::kDouble: {
      double specials[] = {0.1,
                           -0.0,
                           1e300,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min()};
      double v = pick(specials, [&] {
        double d;
        do {
          uint64_t bits = rng();
          std::memcpy(&d, &bits, 8);
        } while (std::isnan(d));
        return d;
      });
      row->push_back(v);
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", v);
      text->push_back(buf);
      return;
    }
    case ColumnType::kString: {
      const auto& s = Strings();
      std::string v = s[i % s.size()];
      if (i >= static_cast<int>(s.size())) v += s[rng() % s.size()];
      row->push_back(std::string_view(t->storage.emplace_back(v)));
      text->push_back(v);
      return;
    }
    case ColumnType::kBinary: {
      std::string v(rng() % 20, '\0');
      for (char& ch : v) ch = static_cast<char>(rng());
      row->push_back(std::string_view(t->storage.emplace_back(v)));
      text->push_back(Hex(v));
      return;
    }
    case ColumnType::kDate: {
      // The epoch and the day before it, 1900-01-01, 2100-12-31, 0001-01-01, 1 BC's last
      // day, 2 BC's last day, 9999-12-31, 10000-01-01, -10000-01-01.
      int32_t specials[] = {0,       -1,      -25567,  47846,   -719162,
                            -719163, -719529, 2932896, 2932897, -4371953};
      int32_t v = pick(specials, [&] {
        return rng() % 2 ? static_cast<int32_t>(rng() % 73413) - 25567  // 1900..2100
                         : static_cast<int32_t>(rng() % 200'000'000) - 100'000'000;
      });
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kTimestampMillis: {
      int64_t specials[] = {
          0, -1, -1000, -1001, 1709296496123, -62135596800000, 253402300800000, -62198755200001};
      // DuckDB's timestamps span about +-290,000 years: +-9e15 ms.
      int64_t v = pick(specials, [&] {
        return static_cast<int64_t>(rng() % 18'000'000'000'000'000) - 9'000'000'000'000'000;
      });
      row->push_back(v);
      text->push_back(std::to_string(v * 1000));
      return;
    }
    case ColumnType::kTimestampMicros: {
      int64_t specials[] = {0, -1, -999999, -1000001, 1709296496123456, 253402300799999999};
      int64_t v = pick(specials, [&] {
        return rng() % 2
                   ? static_cast<int64_t>(rng() % 9'000'000'000'000'000'000u) -
                         4'500'000'000'000'000'000
                   : static_cast<int64_t>(rng() % 8'000'000'000'000'000) - 2'000'000'000'000'000;
      });
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kDecimal: {
      Int128 limit = 1;
      for (int d = 0; d < c.precision; ++d) limit *= 10;
      Int128 specials[] = {0, -1, 1, limit - 1, -(limit - 1), -5};
      Int128 v = pick(specials, [&] {
        Int128 r = (static_cast<Int128>(rng()) << 64) | rng();
        r %= limit;  // signed: negative half the time
        return r >> (rng() % 100);
      });
      if (c.precision <= 9 && i % 2) {
        row->push_back(static_cast<int32_t>(v));
      } else if (c.precision <= 18 && i % 3) {
        row->push_back(static_cast<int64_t>(v));
      } else {
        row->push_back(v);
      }
      text->push_back(DecimalText(v, c.scale));
      return;
    }
    case ColumnType::kJson: {
      const auto& cases = i % 2 ? ListCases() : StructCases();
      const JsonCase& j = cases[i % cases.size()];
      row->push_back(std::string_view(j.text));
      text->push_back(j.text);  // as sent
      return;
    }
    case ColumnType::kList:
    case ColumnType::kStruct: {
      const auto& cases = c.type == ColumnType::kList ? ListCases() : StructCases();
      const JsonCase& j = cases[i % cases.size()];
      simdjson::dom::element e;
      simdjson::error_code err =
          t->parser.parse_into_document(t->documents.emplace_back(), j.text, std::strlen(j.text))
              .get(e);
      EXPECT_EQ(err, simdjson::SUCCESS) << j.text;
      row->push_back(e);
      text->push_back(j.minified);
      return;
    }
  }
}

void Fill(Table* t, int rows) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < rows; ++i) {
    auto& row = t->rows.emplace_back();
    auto& text = t->text.emplace_back();
    for (size_t k = 0; k < t->columns.size(); ++k)
      AddCell(t, t->columns[k].column, static_cast<int>(k), i, rng, &row, &text);
  }
}

std::optional<std::string> Text(simdjson::dom::element e) {
  if (e.is_null()) return std::nullopt;
  return std::string(std::string_view(e.get_string()));
}

// Floats and doubles compare as numbers (JavaScript and printf spell them differently),
// negative zero and NaN included; floats at float precision.
bool SameNumber(const std::string& want, const std::string& got, bool is_float) {
  double a = std::strtod(want.c_str(), nullptr), b = std::strtod(got.c_str(), nullptr);
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::signbit(a) != std::signbit(b)) return false;
  if (is_float) return static_cast<float>(a) == static_cast<float>(b) && b == static_cast<float>(b);
  return a == b;
}

// Compares DuckDB's rows with the table's text.
void ExpectRows(const Table& t, simdjson::dom::element result) {
  simdjson::dom::element error;
  ASSERT_NE(result["error"].get(error), simdjson::SUCCESS) << std::string_view(error.get_string());
  simdjson::dom::array rows = result["rows"].get_array();
  ASSERT_EQ(rows.size(), t.text.size());
  size_t i = 0;
  for (simdjson::dom::element row : rows) {
    simdjson::dom::array cells = row.get_array();
    ASSERT_EQ(cells.size(), t.columns.size());
    size_t k = 0;
    for (simdjson::dom::element cell : cells) {
      const ParquetColumn& c = t.columns[k].column;
      const std::optional<std::string>& want = t.text[i][k];
      std::optional<std::string> got = Text(cell);
      std::string where = "row " + std::to_string(i) + " column " + c.name;
      ASSERT_EQ(want.has_value(), got.has_value()) << where << " got " << got.value_or("null");
      if (want) {
        if (c.type == ColumnType::kFloat || c.type == ColumnType::kDouble) {
          EXPECT_TRUE(SameNumber(*want, *got, c.type == ColumnType::kFloat))
              << where << ": want " << *want << " got " << *got;
        } else {
          EXPECT_EQ(*want, *got) << where;
        }
      }
      ++k;
    }
    ++i;
  }
  // The header line holds the column names.
  simdjson::dom::array header = result["header"].get_array();
  ASSERT_EQ(header.size(), t.columns.size());
  size_t k = 0;
  for (simdjson::dom::element name : header) {
    EXPECT_EQ(std::string_view(name.get_string()), t.columns[k].column.name);
    ++k;
  }
}

void Verify(const Table& t, CsvOptions options, const std::string& name) {
  std::string json = ReadBack(t, Write(t, options), options.delimiter, name);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json.substr(0, 2000);
  ExpectRows(t, root);
}

#define SKIP_WITHOUT_NODE()                                        \
  if (!HaveNode())                                                 \
  GTEST_SKIP() << "node is not installed: the CSV files were not " \
                  "checked by an independent reader (DuckDB)"

TEST(CsvReaders, EveryTypeWithEachDelimiter) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.columns = AllColumns();
  Fill(&t, 1000);
  for (char delimiter : {',', ';', '\t', '|'}) {
    SCOPED_TRACE(std::string("delimiter '") + delimiter + "'");
    Verify(t, {.delimiter = delimiter}, "all-types");
    if (HasFailure()) return;
  }
}

TEST(CsvReaders, HeaderOnly) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.columns = AllColumns();
  Verify(t, {}, "header-only");
}

TEST(CsvReaders, NamesThatNeedQuoting) {
  SKIP_WITHOUT_NODE();
  Table t;
  for (const char* name :
       {"a,b", "c\"d", "e\nf", " spaced ", "\xc3\xbc\xc3\xb1\xc3\xaf", "semi;colon", "\"q\""}) {
    t.columns.push_back({{.name = name, .type = ColumnType::kString}, "VARCHAR"});
  }
  Fill(&t, 100);
  Verify(t, {}, "names");
  Verify(t, {.delimiter = ';'}, "names-semicolon");
}

TEST(CsvReaders, LongValues) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.columns = {{{.name = "id", .type = ColumnType::kInt64, .nullable = false}, "BIGINT"},
               {{.name = "s", .type = ColumnType::kString}, "VARCHAR"},
               {{.name = "bin", .type = ColumnType::kBinary}, "VARCHAR", true}};
  for (int i = 0; i < 8; ++i) {
    // About 1 MiB of text; every other one full of quotes, delimiters and line breaks
    // (quoting makes those longer still).
    std::string s;
    while (s.size() < (size_t{1} << 20)) {
      s += i % 2 ? "\xe2\x82\xac \"quoted\", line\r\n" : "abcdefghijklmnopqrstuvwxyz";
    }
    std::string bin(size_t{256} << 10, '\0');
    for (size_t k = 0; k < bin.size(); ++k) bin[k] = static_cast<char>(k * 7 + i);
    t.rows.push_back({int64_t{i}, std::string_view(t.storage.emplace_back(s)),
                      std::string_view(t.storage.emplace_back(bin))});
    t.text.push_back({std::to_string(i), s, Hex(bin)});
  }
  Verify(t, {}, "long");
}

// list and struct columns read with DuckDB's own nested types, as a user would, rather
// than as JSON.
TEST(CsvReaders, ListAndStructAsDuckdbTypes) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.columns = {{{.name = "l",
                 .type = ColumnType::kList,
                 .children = {{.name = "element", .type = ColumnType::kInt64}}},
                "BIGINT[]"},
               {{.name = "st",
                 .type = ColumnType::kStruct,
                 .children = {{.name = "a", .type = ColumnType::kInt64},
                              {.name = "b", .type = ColumnType::kString}}},
                "STRUCT(a BIGINT, b VARCHAR)"}};
  struct Row {
    const char* list;
    const char* list_text;
    const char* object;
    const char* object_text;
  };
  for (const Row& r :
       {Row{"[1, 2, null]", "[1, 2, NULL]", R"({"a": 1, "b": "x"})", "{'a': 1, 'b': x}"},
        Row{"[]", "[]", R"({"a": null, "b": "y, z"})", "{'a': NULL, 'b': 'y, z'}"},
        Row{"[-9223372036854775808]", "[-9223372036854775808]", R"({"b": "q"})",
            "{'a': NULL, 'b': q}"}}) {
    simdjson::dom::element list, object;
    ASSERT_EQ(t.parser.parse_into_document(t.documents.emplace_back(), r.list, std::strlen(r.list))
                  .get(list),
              simdjson::SUCCESS);
    ASSERT_EQ(
        t.parser.parse_into_document(t.documents.emplace_back(), r.object, std::strlen(r.object))
            .get(object),
        simdjson::SUCCESS);
    t.rows.push_back({list, object});
    t.text.push_back({r.list_text, r.object_text});
  }
  Verify(t, {}, "nested");
}

}  // namespace
}  // namespace millrace::formats::csv
