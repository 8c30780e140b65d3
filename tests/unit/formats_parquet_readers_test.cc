// formats/parquet, read back by independent readers: every file written here is read by
// DuckDB and by hyparquet (tests/parquet/read_parquet.mjs, which installs them with npm on
// first use into /tmp/millrace-parquet-deps), and the rows, DuckDB's column types, the row
// groups, the statistics and the key-value metadata they report are compared with what
// was written; list and struct cells as canonical JSON trees (read_parquet.mjs). Skipped,
// saying so, when node is not installed.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "formats/parquet/file_writer.h"
#include "node_reader_util.h"

namespace millrace::formats::parquet {
namespace {

namespace fs = std::filesystem;
using testing_util::DecimalText;
using testing_util::HaveNode;
using testing_util::NodeScript;
using testing_util::RunNode;

// Writes `bytes` to a temporary file and returns what the node script printed.
std::string ReadBack(const std::string& bytes, const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("millrace-parquet-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path file = dir / (name + ".parquet");
  std::ofstream(file, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  std::string out = RunNode(NodeScript("read_parquet.mjs"), file.string());
  fs::remove(file);
  return out;
}

// A table to write and its canonical text (read_parquet.mjs's forms).
struct Table {
  ParquetSchema schema;
  std::vector<std::vector<ParquetValue>> rows;
  std::vector<std::vector<std::optional<std::string>>> text;
  std::deque<std::string> storage;              // backs the string_views in `rows`
  std::deque<simdjson::dom::parser> documents;  // back the elements in `rows`
};

bool IsNested(const ParquetColumn& c) {
  return c.type == ColumnType::kList || c.type == ColumnType::kStruct;
}

// Row `i`'s value in column `c` (of index `k`), or null.
void AddCell(Table* t, const ParquetColumn& c, int k, int i, std::vector<ParquetValue>* row,
             std::vector<std::optional<std::string>>* text) {
  if (c.nullable && (i + k) % 4 == 0) {
    row->push_back(std::monostate{});
    text->push_back(std::nullopt);
    return;
  }
  char buf[64];
  switch (c.type) {
    case ColumnType::kBoolean:
      row->push_back(i % 3 == 0);
      text->push_back(i % 3 == 0 ? "true" : "false");
      return;
    case ColumnType::kInt32: {
      int32_t v = i == 1 ? INT32_MIN : i == 2 ? INT32_MAX : i * 7 - 1000;
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kInt64: {
      int64_t v = i == 1 ? INT64_MIN : i == 2 ? INT64_MAX : int64_t{i} * 1'000'000'000'007 - 5;
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kFloat: {
      float v = i == 3 ? 0.1f : i == 5 ? -0.0f : static_cast<float>(i % 10) * 0.5f - 2.0f;
      row->push_back(v);
      snprintf(buf, sizeof buf, "%.17g", static_cast<double>(v));
      text->push_back(buf);
      return;
    }
    case ColumnType::kDouble: {
      double v = i == 3 ? 1e300 : i == 5 ? 0.1 : i * 0.25 - 3.0;
      row->push_back(v);
      snprintf(buf, sizeof buf, "%.17g", v);
      text->push_back(buf);
      return;
    }
    case ColumnType::kString: {
      std::string s = i % 7 == 0
                          ? "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 " + std::to_string(i % 3)
                      : i % 11 == 0 ? ""
                                    : "cat-" + std::to_string(i % 5);
      row->push_back(std::string_view(t->storage.emplace_back(s)));
      text->push_back(s);
      return;
    }
    case ColumnType::kBinary: {
      std::string s = {static_cast<char>(i % 256), '\0', '\xff'};
      row->push_back(std::string_view(t->storage.emplace_back(s)));
      snprintf(buf, sizeof buf, "%02x00ff", i % 256);
      text->push_back(buf);
      return;
    }
    case ColumnType::kDate:
      row->push_back(int32_t{i - 1000});
      text->push_back(std::to_string(i - 1000));
      return;
    case ColumnType::kTimestampMillis: {
      int64_t v = 1'700'000'000'000 + int64_t{i} * 1001 - (i == 4 ? 3'000'000'000'000 : 0);
      row->push_back(v);
      text->push_back(std::to_string(v * 1000));
      return;
    }
    case ColumnType::kTimestampMicros: {
      int64_t v = 1'700'000'000'000'000 + int64_t{i} * 7;
      row->push_back(v);
      text->push_back(std::to_string(v));
      return;
    }
    case ColumnType::kDecimal: {
      Int128 limit = 1;
      for (int d = 0; d < c.precision; ++d) limit *= 10;
      Int128 v = (limit - 1) / (i + 1) * (i % 2 ? -1 : 1);
      if (i == 6) v = limit - 1;
      row->push_back(v);
      text->push_back(DecimalText(v, c.scale));
      return;
    }
    case ColumnType::kJson: {  // stored as the caller's text
      std::string s = i % 3 == 0 ? "{\"i\":" + std::to_string(i) + ",\"a\":[true,null]}"
                                 : "\"text " + std::to_string(i % 5) + "\"";
      row->push_back(std::string_view(t->storage.emplace_back(s)));
      text->push_back(s);
      return;
    }
    case ColumnType::kList:  // JsonTable's business
    case ColumnType::kStruct:
      ADD_FAILURE() << "AddCell cannot make " << ColumnTypeString(c);
      return;
  }
}

Table MakeTable(ParquetSchema schema, int rows) {
  Table t;
  t.schema = std::move(schema);
  for (int i = 0; i < rows; ++i) {
    auto& row = t.rows.emplace_back();
    auto& text = t.text.emplace_back();
    for (size_t k = 0; k < t.schema.columns.size(); ++k)
      AddCell(&t, t.schema.columns[k], static_cast<int>(k), i, &row, &text);
  }
  return t;
}

// Every type, required and nullable, with DuckDB's name for it.
std::vector<std::pair<ParquetColumn, std::string>> AllTypes() {
  std::vector<std::pair<ParquetColumn, std::string>> base = {
      {{.name = "b", .type = ColumnType::kBoolean}, "BOOLEAN"},
      {{.name = "i32", .type = ColumnType::kInt32}, "INTEGER"},
      {{.name = "i64", .type = ColumnType::kInt64}, "BIGINT"},
      {{.name = "f", .type = ColumnType::kFloat}, "FLOAT"},
      {{.name = "d", .type = ColumnType::kDouble}, "DOUBLE"},
      {{.name = "s", .type = ColumnType::kString}, "VARCHAR"},
      {{.name = "bin", .type = ColumnType::kBinary}, "BLOB"},
      {{.name = "date", .type = ColumnType::kDate}, "DATE"},
      {{.name = "ts_ms", .type = ColumnType::kTimestampMillis}, "TIMESTAMP WITH TIME ZONE"},
      {{.name = "ts_us", .type = ColumnType::kTimestampMicros}, "TIMESTAMP WITH TIME ZONE"},
      {{.name = "dec9", .type = ColumnType::kDecimal, .precision = 9, .scale = 2}, "DECIMAL(9,2)"},
      {{.name = "dec18", .type = ColumnType::kDecimal, .precision = 18, .scale = 4},
       "DECIMAL(18,4)"},
      {{.name = "dec38", .type = ColumnType::kDecimal, .precision = 38, .scale = 10},
       "DECIMAL(38,10)"},
      {{.name = "dec25", .type = ColumnType::kDecimal, .precision = 25, .scale = 0},
       "DECIMAL(25,0)"},
      {{.name = "json", .type = ColumnType::kJson}, "VARCHAR"},
  };
  std::vector<std::pair<ParquetColumn, std::string>> all;
  for (auto [c, type] : base) {
    c.nullable = false;
    all.push_back({c, type});
    c.name += "_null";
    c.nullable = true;
    all.push_back({c, type});
  }
  return all;
}

ParquetSchema SchemaOf(const std::vector<std::pair<ParquetColumn, std::string>>& cols) {
  ParquetSchema s;
  for (const auto& [c, type] : cols) s.columns.push_back(c);
  return s;
}

std::string Write(const Table& t, const ParquetWriterOptions& options) {
  auto w = ParquetFileWriter::Create(t.schema, options);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  for (const auto& row : t.rows) {
    Status s = (*w)->AppendRow(row);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  Result<std::string> file = (*w)->Finish();
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? *file : "";
}

std::optional<std::string> Text(simdjson::dom::element e) {
  if (e.is_null()) return std::nullopt;
  return std::string(std::string_view(e.get_string()));
}

// Floats compare as numbers: JavaScript and printf spell them differently ("-0", "1e+300").
bool SameNumber(const std::string& want, const std::string& got) {
  double a = std::strtod(want.c_str(), nullptr), b = std::strtod(got.c_str(), nullptr);
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b;
}

// Compares a list or struct cell, canonical JSON trees both, along the column's type.
void ExpectSameTree(simdjson::dom::element want, simdjson::dom::element got, const ParquetColumn& c,
                    const std::string& who, const std::string& where) {
  ASSERT_EQ(want.is_null(), got.is_null())
      << where << ": want " << simdjson::minify(want) << " got " << simdjson::minify(got);
  if (want.is_null()) return;
  if (c.type == ColumnType::kList) {
    simdjson::dom::array w = want.get_array(), g = got.get_array();
    ASSERT_EQ(w.size(), g.size()) << where << ": want " << simdjson::minify(want) << " got "
                                  << simdjson::minify(got);
    auto gi = g.begin();
    size_t k = 0;
    for (simdjson::dom::element e : w) {
      ExpectSameTree(e, *gi, c.children[0], who, where + "[" + std::to_string(k++) + "]");
      ++gi;
    }
    return;
  }
  if (c.type == ColumnType::kStruct) {
    simdjson::dom::object w = want.get_object(), g = got.get_object();
    ASSERT_EQ(w.size(), g.size()) << where << ": got " << simdjson::minify(got);
    for (const ParquetColumn& f : c.children) {
      simdjson::dom::element we, ge;
      ASSERT_EQ(w[f.name].get(we), simdjson::SUCCESS) << where << "." << f.name;
      ASSERT_EQ(g[f.name].get(ge), simdjson::SUCCESS)
          << where << "." << f.name << " missing in " << simdjson::minify(got);
      ExpectSameTree(we, ge, f, who, where + "." + f.name);
    }
    return;
  }
  std::string w(std::string_view(want.get_string())), g(std::string_view(got.get_string()));
  bool numeric = c.type == ColumnType::kFloat || c.type == ColumnType::kDouble;
  if (numeric) {
    EXPECT_TRUE(SameNumber(w, g)) << where << ": want " << w << " got " << g;
  } else {
    EXPECT_EQ(w, g) << where;
  }
}

// Compares one reader's rows with the table's text. Floats compare as numbers (JavaScript
// and printf spell them differently); everything else, decimals too, as text.
void ExpectRows(const Table& t, simdjson::dom::element reader, const std::string& who) {
  simdjson::dom::element error;
  ASSERT_NE(reader["error"].get(error), simdjson::SUCCESS)
      << who << ": " << std::string_view(error.get_string());
  simdjson::dom::array rows = reader["rows"].get_array();
  ASSERT_EQ(rows.size(), t.text.size()) << who;
  simdjson::dom::parser wp, gp;  // for list and struct cells
  size_t i = 0;
  for (simdjson::dom::element row : rows) {
    simdjson::dom::array cells = row.get_array();
    ASSERT_EQ(cells.size(), t.schema.columns.size()) << who;
    size_t k = 0;
    for (simdjson::dom::element cell : cells) {
      const ParquetColumn& c = t.schema.columns[k];
      const std::optional<std::string>& want = t.text[i][k];
      std::optional<std::string> got = Text(cell);
      std::string where = who + " row " + std::to_string(i) + " column " + c.name;
      ASSERT_EQ(want.has_value(), got.has_value()) << where << " got " << got.value_or("null");
      if (want && IsNested(c)) {
        simdjson::dom::element we, ge;
        ASSERT_EQ(wp.parse(*want).get(we), simdjson::SUCCESS) << where << ": " << *want;
        ASSERT_EQ(gp.parse(*got).get(ge), simdjson::SUCCESS) << where << ": " << *got;
        ExpectSameTree(we, ge, c, who, where);
      } else if (want) {
        bool numeric = c.type == ColumnType::kFloat || c.type == ColumnType::kDouble;
        if (numeric) {
          EXPECT_TRUE(SameNumber(*want, *got)) << where << ": want " << *want << " got " << *got;
        } else {
          EXPECT_EQ(*want, *got) << where;
        }
      }
      ++k;
    }
    ++i;
  }
}

struct ReadResult {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

// Reads `bytes` back and checks rows (both readers), DuckDB's types and the footer facts.
void Verify(const Table& t, const std::vector<std::string>& duckdb_types, const std::string& bytes,
            const std::string& name, int64_t want_row_groups, ReadResult* result) {
  std::string json = ReadBack(bytes, name);
  ASSERT_EQ(result->parser.parse(json).get(result->root), simdjson::SUCCESS) << json;
  simdjson::dom::element duck = result->root["duckdb"], hyp = result->root["hyparquet"];
  ExpectRows(t, duck, "duckdb");
  ExpectRows(t, hyp, "hyparquet");
  size_t k = 0;
  for (simdjson::dom::element col : duck["columns"].get_array()) {
    ASSERT_LT(k, duckdb_types.size());
    EXPECT_EQ(std::string_view(col["name"].get_string()), t.schema.columns[k].name);
    EXPECT_EQ(std::string_view(col["type"].get_string()), duckdb_types[k])
        << t.schema.columns[k].name;
    ++k;
  }
  EXPECT_EQ(k, duckdb_types.size());
  EXPECT_EQ(std::string_view(duck["created_by"].get_string()), "millrace");
  EXPECT_EQ(std::string_view(hyp["created_by"].get_string()), "millrace");
  EXPECT_EQ(std::string_view(duck["num_rows"].get_string()), std::to_string(t.rows.size()));
  EXPECT_EQ(std::string_view(hyp["num_rows"].get_string()), std::to_string(t.rows.size()));
  EXPECT_EQ(std::string_view(duck["num_row_groups"].get_string()), std::to_string(want_row_groups));
  EXPECT_EQ(std::string_view(duck["kv"]["millrace.schema"].get_string()), SchemaJson(t.schema));
}

#define SKIP_WITHOUT_NODE()                                            \
  if (!HaveNode())                                                     \
  GTEST_SKIP() << "node is not installed: the Parquet files were not " \
                  "checked by independent readers (DuckDB, hyparquet)"

struct Case {
  Codec codec;
  const char* duckdb_codec;
  bool dictionary;
};

TEST(ParquetReaders, EveryTypeCodecAndDictionary) {
  SKIP_WITHOUT_NODE();
  auto cols = AllTypes();
  std::vector<std::string> types;
  for (const auto& [c, type] : cols) types.push_back(type);
  Table t = MakeTable(SchemaOf(cols), 1000);
  for (Case c :
       {Case{Codec::kUncompressed, "UNCOMPRESSED", true}, Case{Codec::kSnappy, "SNAPPY", true},
        Case{Codec::kZstd, "ZSTD", true}, Case{Codec::kGzip, "GZIP", true},
        Case{Codec::kUncompressed, "UNCOMPRESSED", false}, Case{Codec::kSnappy, "SNAPPY", false},
        Case{Codec::kZstd, "ZSTD", false}, Case{Codec::kGzip, "GZIP", false}}) {
    SCOPED_TRACE(std::string(c.duckdb_codec) + (c.dictionary ? " dictionary" : " plain"));
    ParquetWriterOptions o;
    o.codec = c.codec;
    o.dictionary = c.dictionary;
    o.row_group_rows = 300;  // 4 row groups
    o.page_bytes = 512;      // several pages per chunk
    ReadResult r;
    Verify(t, types, Write(t, o), "all-types", 4, &r);
    if (HasFailure()) return;
    // DuckDB's view of the column chunks: codec, encodings, statistics.
    for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
      std::string column(std::string_view(m["column"].get_string()));
      std::string encodings(std::string_view(m["encodings"].get_string()));
      SCOPED_TRACE(column + " " + encodings);
      EXPECT_EQ(std::string_view(m["compression"].get_string()), c.duckdb_codec);
      size_t k = 0;
      while (t.schema.columns[k].name != column) ++k;
      // Never for booleans or without the option; for the strings, whose 9 values repeat,
      // always (DictionaryEveryPhysicalType has every type with repeated values).
      bool boolean = ToSchemaElement(t.schema.columns[k]).type == PhysicalType::kBoolean;
      bool dictionary = encodings.find("DICTIONARY") != std::string::npos;
      if (!c.dictionary || boolean) {
        EXPECT_FALSE(dictionary);
      }
      if (c.dictionary && t.schema.columns[k].type == ColumnType::kString) {
        EXPECT_TRUE(dictionary);
      }
      int row_group = std::stoi(std::string(std::string_view(m["row_group"].get_string())));
      EXPECT_EQ(std::string_view(m["num_values"].get_string()),
                std::to_string(std::min(300, 1000 - row_group * 300)));
      int64_t nulls = 0;
      std::optional<int64_t> lo, hi;
      for (int i = row_group * 300; i < row_group * 300 + 300 && i < 1000; ++i) {
        if (!t.text[i][k]) {
          ++nulls;
          continue;
        }
        if (t.schema.columns[k].type == ColumnType::kInt32) {
          int64_t v = std::stoll(*t.text[i][k]);
          lo = lo ? std::min(*lo, v) : v;
          hi = hi ? std::max(*hi, v) : v;
        }
      }
      EXPECT_EQ(std::string_view(m["null_count"].get_string()), std::to_string(nulls));
      if (lo) {
        EXPECT_EQ(std::string_view(m["min"].get_string()), std::to_string(*lo));
        EXPECT_EQ(std::string_view(m["max"].get_string()), std::to_string(*hi));
      }
      if (column == "s" && row_group == 0) {  // unsigned byte order: "" < "cat-0" < "h\xc3..."
        EXPECT_EQ(std::string_view(m["min"].get_string()), "");
        EXPECT_EQ(std::string_view(m["max"].get_string()).substr(0, 1), "h");
      }
    }
  }
}

TEST(ParquetReaders, EmptyFile) {
  SKIP_WITHOUT_NODE();
  auto cols = AllTypes();
  std::vector<std::string> types;
  for (const auto& [c, type] : cols) types.push_back(type);
  Table t = MakeTable(SchemaOf(cols), 0);
  ReadResult r;
  Verify(t, types, Write(t, {}), "empty", 0, &r);
}

TEST(ParquetReaders, AllNullColumns) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.schema = {{{.name = "id", .type = ColumnType::kInt64, .nullable = false},
               {.name = "s", .type = ColumnType::kString},
               {.name = "n", .type = ColumnType::kInt32},
               {.name = "dec", .type = ColumnType::kDecimal, .precision = 30, .scale = 3}}};
  for (int i = 0; i < 2500; ++i) {
    t.rows.push_back({int64_t{i}, std::monostate{}, std::monostate{}, std::monostate{}});
    t.text.push_back({std::to_string(i), std::nullopt, std::nullopt, std::nullopt});
  }
  ParquetWriterOptions o;
  o.row_group_rows = 1000;
  ReadResult r;
  Verify(t, {"BIGINT", "VARCHAR", "INTEGER", "DECIMAL(30,3)"}, Write(t, o), "all-null", 3, &r);
  for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
    if (std::string_view(m["column"].get_string()) == "id") continue;
    EXPECT_TRUE(m["min"].is_null());
    EXPECT_TRUE(m["max"].is_null());
    EXPECT_NE(std::string_view(m["null_count"].get_string()), "0");
  }
}

TEST(ParquetReaders, LongStringsUnicodeAndDictionaryFallback) {
  SKIP_WITHOUT_NODE();
  Table t;
  t.schema = {{{.name = "s", .type = ColumnType::kString},
               {.name = "b", .type = ColumnType::kBinary, .nullable = false}}};
  for (int i = 0; i < 40; ++i) {
    std::string s;
    if (i % 10 < 3) {
      s = "\xe2\x82\xac repeated";  // the first page: the dictionary pays
    } else if (i % 10 == 3) {
      s = std::string(size_t{3} << 20, 'x') + std::to_string(i);  // 3 MiB: a page of its own
    } else if (i % 2 == 0) {
      s = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a "
          "\xf0\x9f\x8f\xb3\xef\xb8\x8f\xe2\x80\x8d\xf0\x9f\x8c\x88 " +
          std::to_string(i);
    } else {
      s = std::string(5000 + i, static_cast<char>('a' + i % 26));  // distinct, long
    }
    std::string_view sv = t.storage.emplace_back(s);
    t.rows.push_back({sv, sv});
    t.text.push_back({s, std::nullopt});
    std::string hex;
    for (unsigned char ch : s) {
      char buf[3];
      snprintf(buf, sizeof buf, "%02x", ch);
      hex += buf;
    }
    t.text.back()[1] = hex;
  }
  ParquetWriterOptions o;
  o.row_group_rows = 20;
  o.page_bytes = 12;              // rows 0-2 (3 indices of 4 bytes and one for the width)
  o.dictionary_bytes = 64 << 10;  // passed by the 3 MiB value: fallback to PLAIN
  ReadResult r;
  Verify(t, {"VARCHAR", "BLOB"}, Write(t, o), "long-unicode", 2, &r);
  int row_group = 0;
  for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
    std::string encodings(std::string_view(m["encodings"].get_string()));
    // The first chunk starts with the dictionary (a page of rows 0-2, which it makes
    // smaller, then rows 3's page) and falls back; the column stays PLAIN.
    if (row_group++ < 2) {
      EXPECT_NE(encodings.find("DICTIONARY"), std::string::npos) << encodings;
      EXPECT_NE(encodings.find("PLAIN"), std::string::npos) << encodings;
    } else {
      EXPECT_EQ(encodings.find("DICTIONARY"), std::string::npos) << encodings;
    }
    EXPECT_TRUE(m["max"].is_null());  // longer than max_statistics_bytes: left out
  }
}

// Row i's value of a column of scalar type `c` drawn from a handful of values (`v` picks
// one: 0..6) or, for v >= 7, a value of its own; nullptr text for the row's null.
void AddValue(Table* t, const ParquetColumn& c, int64_t v, std::vector<ParquetValue>* row,
              std::vector<std::optional<std::string>>* text) {
  const int k = static_cast<int>(v % 7);
  const bool own = v >= 7;
  char buf[64];
  switch (c.type) {
    case ColumnType::kBoolean:
      row->push_back(v % 2 == 0);
      text->push_back(v % 2 == 0 ? "true" : "false");
      return;
    case ColumnType::kInt32: {
      const int32_t some[] = {INT32_MIN, -1, 0, 1, 7, INT32_MAX, 42};
      int32_t x = own ? static_cast<int32_t>(v * 7919 - 1'000'000) : some[k];
      row->push_back(x);
      text->push_back(std::to_string(x));
      return;
    }
    case ColumnType::kInt64: {
      const int64_t some[] = {INT64_MIN, -1, 0, 1, 1'000'000'000'007, INT64_MAX, 42};
      int64_t x = own ? v * 1'000'000'000'039 - 5 : some[k];
      row->push_back(x);
      text->push_back(std::to_string(x));
      return;
    }
    case ColumnType::kFloat: {
      const float some[] = {-0.0f, 0.0f, 1.5f, -2.25f, 3.0e38f, std::nanf(""), 0.1f};
      float x = own ? static_cast<float>(v) * 0.37f : some[k];
      row->push_back(x);
      snprintf(buf, sizeof buf, "%.17g", static_cast<double>(x));
      text->push_back(buf);
      return;
    }
    case ColumnType::kDouble: {
      const double some[] = {-0.0, 0.0, 1e300, -2.5, std::nan(""), 0.1, -1e-300};
      double x = own ? static_cast<double>(v) * 1.1 : some[k];
      row->push_back(x);
      snprintf(buf, sizeof buf, "%.17g", x);
      text->push_back(buf);
      return;
    }
    case ColumnType::kString:
    case ColumnType::kJson: {
      const char* some_strings[] = {"",
                                    "a",
                                    "h\xc3\xa9llo",
                                    "\xf0\x9f\x98\x80",
                                    "cat",
                                    "dog",
                                    "a somewhat longer value, longer than sixteen bytes"};
      const char* some_json[] = {"{\"a\":1}", "[1,2]", "\"s\"", "null", "123", "true", "{}"};
      std::string s = own ? (c.type == ColumnType::kJson ? "{\"v\":" + std::to_string(v) + "}"
                                                         : "value " + std::to_string(v))
                          : (c.type == ColumnType::kJson ? some_json[k] : some_strings[k]);
      row->push_back(std::string_view(t->storage.emplace_back(s)));
      text->push_back(s);
      return;
    }
    case ColumnType::kBinary: {
      std::string s = own ? "\x01" + std::to_string(v) : std::string(static_cast<size_t>(k), '\0');
      if (!own && k > 0) s.back() = '\xff';
      row->push_back(std::string_view(t->storage.emplace_back(s)));
      std::string hex;
      for (unsigned char ch : s) {
        snprintf(buf, sizeof buf, "%02x", ch);
        hex += buf;
      }
      text->push_back(hex);
      return;
    }
    case ColumnType::kDate: {
      const int32_t some[] = {-719162, -1, 0, 1, 19000, 2932896, 365};  // 0001-01-01..9999-12-31
      int32_t x = own ? static_cast<int32_t>(v) : some[k];
      row->push_back(x);
      text->push_back(std::to_string(x));
      return;
    }
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros: {
      const int64_t some[] = {-86'400'000, -1, 0, 1, 1'700'000'000'123, 4'102'444'800'000, 999};
      const int64_t scale = c.type == ColumnType::kTimestampMillis ? 1000 : 1;
      int64_t x = own ? 1'600'000'000'000 + v * 1001 : some[k];
      if (c.type == ColumnType::kTimestampMicros) x *= 1000;
      row->push_back(x);
      text->push_back(std::to_string(x * scale));
      return;
    }
    case ColumnType::kDecimal: {
      Int128 limit = 1;
      for (int d = 0; d < c.precision; ++d) limit *= 10;
      const Int128 some[] = {-(limit - 1), -1, 0, 1, limit - 1, limit / 3, -limit / 7};
      Int128 x = own ? (limit - 1) / (v + 2) * (v % 2 ? -1 : 1) : some[k];
      row->push_back(x);
      text->push_back(DecimalText(x, c.scale));
      return;
    }
    case ColumnType::kList:
    case ColumnType::kStruct:
      ADD_FAILURE() << "AddValue cannot make " << ColumnTypeString(c);
      return;
  }
}

// Every scalar type, required and nullable, each column's values drawn from 7 (`own_from`
// on, each row a value of its own); nullable columns are null in every 5th row.
Table DictionaryTable(const std::vector<std::pair<ParquetColumn, std::string>>& cols, int rows,
                      int own_from) {
  Table t;
  t.schema = SchemaOf(cols);
  for (int i = 0; i < rows; ++i) {
    auto& row = t.rows.emplace_back();
    auto& text = t.text.emplace_back();
    for (size_t k = 0; k < cols.size(); ++k) {
      const ParquetColumn& c = cols[k].first;
      if (c.nullable && (i + static_cast<int>(k)) % 5 == 0) {
        row.push_back(std::monostate{});
        text.push_back(std::nullopt);
      } else {
        AddValue(&t, c, i >= own_from ? 7 + i : (i * 3 + static_cast<int>(k)) % 7, &row, &text);
      }
    }
  }
  return t;
}

std::string MetaText(simdjson::dom::element m, const char* field) {
  simdjson::dom::element e = m[field];
  return e.is_null() ? "null" : std::string(std::string_view(e.get_string()));
}

TEST(ParquetReaders, DictionaryEveryPhysicalType) {
  SKIP_WITHOUT_NODE();
  // Every type but boolean dictionary-encoded in every chunk and read back exactly, -0.0
  // and 0.0 and NaN among the floats, decimals of every width, the extremes of each type.
  auto cols = AllTypes();
  std::vector<std::string> types;
  for (const auto& [c, type] : cols) types.push_back(type);
  Table t = DictionaryTable(cols, 2100, /*own_from=*/1 << 30);
  for (Codec codec : {Codec::kSnappy, Codec::kZstd, Codec::kUncompressed}) {
    SCOPED_TRACE(static_cast<int>(codec));
    ParquetWriterOptions o;
    o.codec = codec;
    o.row_group_rows = 700;  // 3 row groups
    o.page_bytes = 256;      // pages of 63 indices: 11 or 12 a chunk
    ReadResult r;
    Verify(t, types, Write(t, o), "dictionary-types", 3, &r);
    if (HasFailure()) return;
    for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
      std::string column(std::string_view(m["column"].get_string()));
      std::string encodings(std::string_view(m["encodings"].get_string()));
      SCOPED_TRACE(column + " " + encodings);
      size_t k = 0;
      while (t.schema.columns[k].name != column) ++k;
      const ParquetColumn& c = t.schema.columns[k];
      if (c.type == ColumnType::kBoolean) {
        EXPECT_EQ(encodings.find("DICTIONARY"), std::string::npos);
        EXPECT_EQ(MetaText(m, "dictionary_page_offset"), "null");
        continue;
      }
      EXPECT_NE(encodings.find("RLE_DICTIONARY"), std::string::npos);
      EXPECT_NE(MetaText(m, "dictionary_page_offset"), "null");
      // min and max come from the dictionary's entries.
      if (c.type == ColumnType::kInt32) {
        EXPECT_EQ(MetaText(m, "min"), std::to_string(INT32_MIN));
        EXPECT_EQ(MetaText(m, "max"), std::to_string(INT32_MAX));
      } else if (c.type == ColumnType::kInt64) {
        EXPECT_EQ(MetaText(m, "min"), std::to_string(INT64_MIN));
        EXPECT_EQ(MetaText(m, "max"), std::to_string(INT64_MAX));
      }
    }
  }
}

TEST(ParquetReaders, DictionaryFallbackEveryPhysicalType) {
  SKIP_WITHOUT_NODE();
  // Rows 0-399 repeat 7 values (the first pages pay for their dictionary), then every row
  // has a value of its own: each column's dictionary passes dictionary_bytes inside the
  // first row group, whose chunk then has its dictionary page, dictionary-encoded pages and
  // PLAIN ones; later row groups are PLAIN. "distinct" is never dictionary-encoded: its
  // first page is no smaller with a dictionary.
  std::vector<std::pair<ParquetColumn, std::string>> cols;
  for (auto& [c, type] : AllTypes())
    if (c.type != ColumnType::kBoolean) cols.push_back({c, type});
  Table t = DictionaryTable(cols, 2000, /*own_from=*/400);
  t.schema.columns.push_back({.name = "distinct", .type = ColumnType::kInt64, .nullable = false});
  for (int i = 0; i < 2000; ++i) {
    t.rows[i].push_back(int64_t{i} * 1'000'003);
    t.text[i].push_back(std::to_string(int64_t{i} * 1'000'003));
  }
  std::vector<std::string> types;
  for (const auto& [c, type] : cols) types.push_back(type);
  types.push_back("BIGINT");
  for (Codec codec : {Codec::kSnappy, Codec::kGzip}) {
    SCOPED_TRACE(static_cast<int>(codec));
    ParquetWriterOptions o;
    o.codec = codec;
    o.row_group_rows = 1000;
    o.page_bytes = 256;
    o.dictionary_bytes = 512;
    ReadResult r;
    Verify(t, types, Write(t, o), "dictionary-fallback", 2, &r);
    if (HasFailure()) return;
    for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
      std::string column(std::string_view(m["column"].get_string()));
      std::string encodings(std::string_view(m["encodings"].get_string()));
      SCOPED_TRACE(column + " " + encodings);
      const bool first = MetaText(m, "row_group") == "0" && column != "distinct";
      EXPECT_EQ(encodings.find("RLE_DICTIONARY") != std::string::npos, first);
      EXPECT_EQ(MetaText(m, "dictionary_page_offset") != "null", first);
    }
  }
}

TEST(ParquetReaders, ManyRowGroups) {
  SKIP_WITHOUT_NODE();
  Table t = MakeTable({{{.name = "i", .type = ColumnType::kInt64},
                        {.name = "s", .type = ColumnType::kString, .nullable = false},
                        {.name = "ts", .type = ColumnType::kTimestampMicros}}},
                      1000);
  ParquetWriterOptions o;
  o.row_group_rows = 7;
  o.codec = Codec::kZstd;
  ReadResult r;
  Verify(t, {"BIGINT", "VARCHAR", "TIMESTAMP WITH TIME ZONE"}, Write(t, o), "many-groups", 143, &r);
}

TEST(ParquetReaders, RowGroupsCutByBytes) {
  SKIP_WITHOUT_NODE();
  Table t = MakeTable({{{.name = "s", .type = ColumnType::kString},
                        {.name = "d", .type = ColumnType::kDouble, .nullable = false}}},
                      20000);
  ParquetWriterOptions o;
  o.row_group_bytes = 64 << 10;
  o.dictionary = false;
  std::string bytes = Write(t, o);
  ReadResult r;
  std::string json = ReadBack(bytes, "by-bytes");
  ASSERT_EQ(r.parser.parse(json).get(r.root), simdjson::SUCCESS);
  ExpectRows(t, r.root["duckdb"], "duckdb");
  ExpectRows(t, r.root["hyparquet"], "hyparquet");
  int64_t groups =
      std::stoll(std::string(std::string_view(r.root["duckdb"]["num_row_groups"].get_string())));
  EXPECT_GT(groups, 2);  // ~18 bytes a row: about 3-5 groups of 64 KiB
}

// Nested columns: lists, structs, json.

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string Hex(std::string_view s) {
  std::string hex;
  for (unsigned char ch : s) {
    char buf[3];
    snprintf(buf, sizeof buf, "%02x", ch);
    hex += buf;
  }
  return hex;
}

// What read_parquet.mjs prints for JSON value `v` written into column `c`: canonical JSON
// whose scalars are the canonical strings. Decimals in the test data are given as strings
// already canonical ("12.30" in a scale-2 column).
void CanonicalJson(simdjson::dom::element v, const ParquetColumn& c, std::string* out) {
  if (v.is_null()) {
    *out += "null";
    return;
  }
  char buf[64];
  switch (c.type) {
    case ColumnType::kList: {
      *out += "[";
      bool first = true;
      for (simdjson::dom::element e : v.get_array()) {
        if (!first) *out += ",";
        first = false;
        CanonicalJson(e, c.children[0], out);
      }
      *out += "]";
      return;
    }
    case ColumnType::kStruct: {
      *out += "{";
      for (size_t k = 0; k < c.children.size(); ++k) {
        if (k) *out += ",";
        *out += JsonQuote(c.children[k].name) + ":";
        simdjson::dom::element field;
        if (v[c.children[k].name].get(field) == simdjson::SUCCESS) {
          CanonicalJson(field, c.children[k], out);
        } else {
          *out += "null";
        }
      }
      *out += "}";
      return;
    }
    case ColumnType::kBoolean:
      *out += bool(v) ? "\"true\"" : "\"false\"";
      return;
    case ColumnType::kFloat:
    case ColumnType::kDouble:
      snprintf(buf, sizeof buf, "\"%.17g\"",
               c.type == ColumnType::kFloat ? static_cast<double>(static_cast<float>(double(v)))
                                            : double(v));
      *out += buf;
      return;
    case ColumnType::kTimestampMillis:
      *out += "\"" + std::to_string(int64_t(v) * 1000) + "\"";
      return;
    case ColumnType::kInt32:
    case ColumnType::kInt64:
    case ColumnType::kDate:
    case ColumnType::kTimestampMicros:
      *out += "\"" + std::to_string(int64_t(v)) + "\"";
      return;
    case ColumnType::kBinary:
      *out += "\"" + Hex(std::string_view(v)) + "\"";
      return;
    case ColumnType::kString:
      if (v.is_string()) {
        *out += JsonQuote(std::string_view(v));
        return;
      }
      [[fallthrough]];
    case ColumnType::kJson:
      *out += JsonQuote(simdjson::minify(v));
      return;
    case ColumnType::kDecimal:
      *out += JsonQuote(std::string_view(v));
      return;
  }
}

// The text of one row's value of a list, struct or json column: JSON, or nullopt for
// std::monostate.
using JsonColumn = std::function<std::optional<std::string>(int row)>;

// A table of `rows` rows whose columns are given as JSON text (list, struct, json) or, for
// the other types, nullptr (AddCell's values).
Table JsonTable(ParquetSchema schema, int rows, const std::vector<JsonColumn>& json) {
  Table t;
  t.schema = std::move(schema);
  const size_t n = t.schema.columns.size();
  // One document per list or struct column: the array of its rows' values.
  std::vector<std::vector<simdjson::dom::element>> elements(n);
  for (size_t k = 0; k < n; ++k) {
    if (!IsNested(t.schema.columns[k])) continue;
    std::string text = "[";
    for (int i = 0; i < rows; ++i) text += (i ? "," : "") + json[k](i).value_or("null");
    text += "]";
    simdjson::dom::element doc;
    EXPECT_EQ(t.documents.emplace_back().parse(text).get(doc), simdjson::SUCCESS) << text;
    for (simdjson::dom::element e : doc.get_array()) elements[k].push_back(e);
  }
  for (int i = 0; i < rows; ++i) {
    auto& row = t.rows.emplace_back();
    auto& text = t.text.emplace_back();
    for (size_t k = 0; k < n; ++k) {
      const ParquetColumn& c = t.schema.columns[k];
      if (!json[k]) {
        AddCell(&t, c, static_cast<int>(k), i, &row, &text);
        continue;
      }
      std::optional<std::string> value = json[k](i);
      if (!value) {
        row.push_back(std::monostate{});
        text.push_back(std::nullopt);
      } else if (c.type == ColumnType::kJson) {
        row.push_back(std::string_view(t.storage.emplace_back(*value)));
        text.push_back(*value);
      } else {
        simdjson::dom::element e = elements[k][i];
        row.push_back(e);
        std::string canonical;
        CanonicalJson(e, c, &canonical);
        text.push_back(e.is_null() ? std::nullopt : std::optional(canonical));
      }
    }
  }
  return t;
}

ParquetColumn Typed(const std::string& name, const std::string& type, bool nullable = true) {
  ParquetColumn c;
  c.name = name;
  c.nullable = nullable;
  Status s = ParseColumnType(type, &c);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return c;
}

// Picks row i's case from `cases`, or `other(i)` past them.
JsonColumn Cycle(std::vector<std::optional<std::string>> cases,
                 std::function<std::string(int)> other = nullptr) {
  return [cases, other](int i) -> std::optional<std::string> {
    size_t k = static_cast<size_t>(i) % (cases.size() + (other ? 1 : 0));
    if (k < cases.size()) return cases[k];
    return other(i);
  };
}

// Every nesting the writer knows, nulls at every level, empty lists, json, with the
// DuckDB type of each column.
struct NestedCase {
  ParquetSchema schema;
  std::vector<JsonColumn> json;
  std::vector<std::string> duckdb_types;
};

NestedCase NestedColumns() {
  NestedCase n;
  auto add = [&n](ParquetColumn c, JsonColumn json, std::string duckdb) {
    n.schema.columns.push_back(std::move(c));
    n.json.push_back(std::move(json));
    n.duckdb_types.push_back(std::move(duckdb));
  };
  add({.name = "id", .type = ColumnType::kInt64, .nullable = false}, nullptr, "BIGINT");
  add(Typed("li", "list<int64>"),
      Cycle({std::nullopt, "[]", "[null]", "[9223372036854775807,-9223372036854775808]", "null"},
            [](int i) {
              std::string s = "[";
              for (int k = 0; k < i % 5 + 1; ++k)
                s += (k ? "," : "") +
                     (k == 2 && i % 3 == 0 ? std::string("null") : std::to_string(i * 1000 + k));
              return s + "]";
            }),
      "BIGINT[]");
  add(Typed("ls", "list<string>"),
      Cycle({"[]", std::nullopt, "[\"a\",null,\"b\"]", "[1,true,{\"k\":[1,2]},2.5,\"s\"]"},
            [](int i) {
              return "[\"tag-" + std::to_string(i % 13) + "\",\"h\\u00e9 \\ud83d\\ude00 " +
                     std::to_string(i % 5) + "\"]";
            }),
      "VARCHAR[]");
  add(Typed("lst", "list<struct<x:int32,y:string>>"),
      Cycle({std::nullopt, "[]", "[null]", "[{}]",
             "[{\"x\":1,\"y\":\"a\"},{\"y\":\"b\",\"extra\":[1,2]},null,{\"x\":-5}]"},
            [](int i) {
              return "[{\"x\":" + std::to_string(i) + ",\"y\":\"row " + std::to_string(i) + "\"}]";
            }),
      "STRUCT(x INTEGER, y VARCHAR)[]");
  add(Typed("st", "struct<a:int64,b:list<string>>"),
      Cycle({std::nullopt, "{}", "{\"a\":1}", "{\"b\":[]}", "{\"b\":null,\"a\":null}",
             "{\"zzz\":1,\"b\":[null]}"},
            [](int i) {
              return "{\"a\":" + std::to_string(i) + ",\"b\":[\"x\",null,\"y-" +
                     std::to_string(i % 4) + "\"]}";
            }),
      "STRUCT(a BIGINT, b VARCHAR[])");
  add(Typed("ll", "list<list<int32>>"),
      Cycle(
          {std::nullopt, "[]", "[null]", "[[]]", "[[null]]", "[[1,2],[3],[],null,[4]]", "[[],[]]"},
          [](int i) { return "[[" + std::to_string(i) + "],[-2147483648,2147483647]]"; }),
      "INTEGER[][]");
  add({.name = "j", .type = ColumnType::kJson},
      Cycle({std::nullopt, "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", "\"just a string\"", "123",
             "[true,false,null]"}),
      "VARCHAR");
  add(Typed("sj", "struct<meta:json,tags:list<json>>"),
      Cycle({std::nullopt, "{\"meta\":{\"k\": [1, 2]},\"tags\":[1,\"two\",null,{\"three\":3}]}",
             "{\"meta\":null,\"tags\":[]}", "{\"meta\":\"s\"}"}),
      "STRUCT(meta VARCHAR, tags VARCHAR[])");
  add(Typed("sx",
            "struct<amount:decimal(9,2),born:date,seen:timestamp_us,ok:boolean,score:double,"
            "raw:binary,big:decimal(30,3),when:timestamp_ms>"),
      Cycle({std::nullopt,
             "{\"amount\":\"12.34\",\"born\":19000,\"seen\":1700000000000000,\"ok\":true,"
             "\"score\":0.1,\"raw\":\"AB\",\"big\":\"123456789012345678901234567.891\","
             "\"when\":1700000000123}",
             "{\"amount\":\"-0.05\",\"born\":-1,\"seen\":-5,\"ok\":false,\"score\":-2.5e10,"
             "\"raw\":\"\",\"big\":\"-0.001\",\"when\":-1}"}),
      "STRUCT(amount DECIMAL(9,2), born DATE, seen TIMESTAMP WITH TIME ZONE, ok BOOLEAN, "
      "score DOUBLE, raw BLOB, big DECIMAL(30,3), \"when\" TIMESTAMP WITH TIME ZONE)");
  add(Typed("req", "list<int64>", /*nullable=*/false),
      Cycle({"[]", "[1,null]"}, [](int i) { return "[" + std::to_string(i) + "]"; }), "BIGINT[]");
  return n;
}

TEST(ParquetReaders, NestedColumns) {
  SKIP_WITHOUT_NODE();
  NestedCase n = NestedColumns();
  Table t = JsonTable(n.schema, 3000, n.json);
  for (Case c : {Case{Codec::kSnappy, "SNAPPY", true}, Case{Codec::kZstd, "ZSTD", false},
                 Case{Codec::kUncompressed, "UNCOMPRESSED", true}}) {
    SCOPED_TRACE(std::string(c.duckdb_codec) + (c.dictionary ? " dictionary" : " plain"));
    ParquetWriterOptions o;
    o.codec = c.codec;
    o.dictionary = c.dictionary;
    o.row_group_rows = 700;  // 5 row groups
    o.page_bytes = 256;      // many pages per chunk
    ReadResult r;
    Verify(t, n.duckdb_types, Write(t, o), "nested", 5, &r);
    if (HasFailure()) return;
    // li's chunks: level entries (a null or empty list is one), nulls (entries below the
    // maximum definition level), min/max over the elements.
    for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
      std::string column(std::string_view(m["column"].get_string()));
      if (column.rfind("li", 0) != 0) continue;
      EXPECT_EQ(column, "li, list, element");
      int row_group = std::stoi(std::string(std::string_view(m["row_group"].get_string())));
      int64_t entries = 0, nulls = 0;
      std::optional<int64_t> lo, hi;
      for (int i = row_group * 700; i < row_group * 700 + 700 && i < 3000; ++i) {
        const ParquetValue& v = t.rows[i][1];
        if (!std::holds_alternative<simdjson::dom::element>(v) ||
            std::get<simdjson::dom::element>(v).is_null()) {
          ++entries, ++nulls;
          continue;
        }
        simdjson::dom::array a = std::get<simdjson::dom::element>(v).get_array();
        if (a.size() == 0) ++entries, ++nulls;
        for (simdjson::dom::element e : a) {
          ++entries;
          if (e.is_null()) {
            ++nulls;
            continue;
          }
          int64_t x = int64_t(e);
          lo = lo ? std::min(*lo, x) : x;
          hi = hi ? std::max(*hi, x) : x;
        }
      }
      EXPECT_EQ(std::string_view(m["num_values"].get_string()), std::to_string(entries));
      EXPECT_EQ(std::string_view(m["null_count"].get_string()), std::to_string(nulls));
      EXPECT_EQ(std::string_view(m["min"].get_string()), std::to_string(*lo));
      EXPECT_EQ(std::string_view(m["max"].get_string()), std::to_string(*hi));
      EXPECT_EQ(std::string_view(m["compression"].get_string()), c.duckdb_codec);
    }
  }
}

TEST(ParquetReaders, NestedBadRowsLeaveNoTrace) {
  SKIP_WITHOUT_NODE();
  NestedCase n = NestedColumns();
  Table t = JsonTable(n.schema, 400, n.json);
  // Before every 10th row, the same row with one bad value, in an early, a middle or the
  // last column, deep inside lists and structs: rejected naming the path, leaving nothing.
  struct Bad {
    size_t column;
    const char* json;
    const char* path;
  };
  const Bad bad[] = {
      {1, "[1,\"x\"]", "'li.element'"},
      {3, "[{\"x\":1},{\"x\":\"y\"}]", "'lst.element.x'"},
      {4, "{\"a\":1.5}", "'st.a'"},
      {4, "{\"b\":\"not a list\"}", "'st.b'"},
      {5, "[[1],[2,\"three\"]]", "'ll.element.element'"},
      {7, "{\"meta\":1,\"tags\":{}}", "'sj.tags'"},
      {8, "{\"amount\":\"1234567890\"}", "'sx.amount'"},
      {8, "{\"raw\":5}", "'sx.raw'"},
      {9, "null", "'req'"},
      {9, "[1,2,{}]", "'req.element'"},
      {1, "{}", "'li'"},
  };
  simdjson::dom::parser parser;
  ParquetWriterOptions o;
  o.row_group_rows = 150;
  o.page_bytes = 128;
  auto w = ParquetFileWriter::Create(t.schema, o);
  ASSERT_TRUE(w.ok());
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (i % 10 == 0) {
      const Bad& b = bad[(i / 10) % std::size(bad)];
      std::vector<ParquetValue> row = t.rows[i];
      simdjson::dom::element e;
      ASSERT_EQ(parser.parse(std::string(b.json)).get(e), simdjson::SUCCESS);
      row[b.column] = e;
      Status s = (*w)->AppendRow(row);
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << b.json;
      EXPECT_NE(s.message().find(b.path), std::string::npos) << s.message();
      // Not a JSON value at all.
      row[b.column] = std::string_view("[1]");
      EXPECT_EQ((*w)->AppendRow(row).code(), Code::kInvalidArgument);
    }
    Status s = (*w)->AppendRow(t.rows[i]);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  EXPECT_EQ((*w)->RowCount(), 400);
  Result<std::string> file = (*w)->Finish();
  ASSERT_TRUE(file.ok());
  ReadResult r;
  Verify(t, n.duckdb_types, *file, "nested-bad-rows", 3, &r);
}

TEST(ParquetReaders, NestedManyRowsPagesAndRowGroups) {
  SKIP_WITHOUT_NODE();
  // Long lists of many distinct strings: the dictionary passes its limit inside a row (the
  // page then ends with that row), pages hold a few rows each, row groups are cut by bytes.
  auto words = [](int i) {
    std::string s = "[";
    for (int k = 0; k < (i * 7) % 41; ++k) {
      s += k ? "," : "";
      // Long words from a vocabulary that grows with i: the first pages repeat words (their
      // dictionary pays), later ones bring enough new words to pass dictionary_bytes.
      s += k % 9 == 4 ? "null"
                      : "\"w" + std::to_string((i * 31 + k * 17) % (100 + i)) +
                            "-abcdefghijklmnopqrstuvwxyz0123\"";
    }
    return s + "]";
  };
  Table t = JsonTable({{{.name = "id", .type = ColumnType::kInt64, .nullable = false},
                        Typed("words", "list<string>"),
                        Typed("s", "struct<n:int64,words:list<string>>"),
                        Typed("ll", "list<list<int32>>", /*nullable=*/false)}},
                      8000,
                      {nullptr,
                       [&](int i) -> std::optional<std::string> {
                         if (i % 17 == 0) return std::nullopt;
                         return words(i);
                       },
                       [&](int i) -> std::optional<std::string> {
                         if (i % 13 == 0) return std::nullopt;
                         return "{\"n\":" + std::to_string(i) + ",\"words\":" + words(i + 1) + "}";
                       },
                       [](int i) -> std::optional<std::string> {
                         std::string s = "[";
                         for (int k = 0; k < i % 4; ++k)
                           s += (k ? ",[" : "[") + std::to_string(i) + (k % 2 ? ",null]" : "]");
                         return s + "]";
                       }});
  ParquetWriterOptions o;
  o.page_bytes = 4096;
  o.dictionary_bytes = 16 << 10;
  o.row_group_bytes = 128 << 10;
  std::string bytes = Write(t, o);
  ReadResult r;
  std::string json = ReadBack(bytes, "nested-many");
  ASSERT_EQ(r.parser.parse(json).get(r.root), simdjson::SUCCESS);
  ExpectRows(t, r.root["duckdb"], "duckdb");
  ExpectRows(t, r.root["hyparquet"], "hyparquet");
  int64_t groups =
      std::stoll(std::string(std::string_view(r.root["duckdb"]["num_row_groups"].get_string())));
  EXPECT_GT(groups, 2);
  bool fell_back = false;
  for (simdjson::dom::element m : r.root["duckdb"]["metadata"].get_array()) {
    std::string encodings(std::string_view(m["encodings"].get_string()));
    std::string column(std::string_view(m["column"].get_string()));
    if (column == "words, list, element" && encodings.find("DICTIONARY") != std::string::npos &&
        encodings.find("PLAIN") != std::string::npos)
      fell_back = true;
  }
  EXPECT_TRUE(fell_back);
}

TEST(ParquetReaders, NestedEmptyFile) {
  SKIP_WITHOUT_NODE();
  NestedCase n = NestedColumns();
  Table t = JsonTable(n.schema, 0, n.json);
  ReadResult r;
  Verify(t, n.duckdb_types, Write(t, {}), "nested-empty", 0, &r);
}

}  // namespace
}  // namespace millrace::formats::parquet
