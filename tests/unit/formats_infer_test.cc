// formats/infer: every row of infer.h's table (the type of each JSON value, each widening of
// two types), nested structs merged, lists widened, null-only columns, CSV fields typed
// from their text with and without a declared header, Changed(), starting from an earlier
// inferred schema, the column limit, and inferred schemas surviving the dataset document's
// round trip (WriteTableSchema, then ParseTableSchema).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "formats/infer.h"
#include "formats/record_mapper.h"

namespace millrace::formats {
namespace {

// The columns as "name:type" joined by spaces.
std::string Columns(const TableSchema& t) {
  std::string s;
  for (const TableColumn& c : t.columns) {
    if (!s.empty()) s += " ";
    s += c.column.name + ":" + parquet::ColumnTypeString(c.column);
  }
  return s;
}

TableSchema Start(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json.data(), json.size()).get(doc), simdjson::SUCCESS) << json;
  Result<TableSchema> t = ParseTableSchema(doc);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : TableSchema{};
}

std::string Infer(const std::vector<std::string>& records, const TableSchema& start = {}) {
  SchemaInferrer inferrer(start);
  for (const std::string& r : records) inferrer.Observe(r);
  return Columns(inferrer.Schema());
}

TableSchema Csv(std::vector<std::string> header = {}, char delimiter = ',') {
  TableSchema t;
  t.input = InputFormat::kCsv;
  t.csv_header = std::move(header);
  t.csv_delimiter = delimiter;
  return t;
}

// The inferred schema through the dataset document and back, as delivery stores it.
Status RoundTrip(const TableSchema& t) {
  const std::string json = TableSchemaJson(t);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return Status::Internal("bad JSON");
  Result<TableSchema> again = ParseTableSchema(doc);
  if (!again.ok()) return again.status();
  if (TableSchemaJson(*again) != json) return Status::Internal("differs: " + json);
  return Status::Ok();
}

// ---- the type of each JSON value ----

TEST(InferJson, TypeOfEachValue) {
  EXPECT_EQ(Infer({R"({"b": true, "i": -3, "d": 1.5, "e": 1e3, "u": 18446744073709551615,
                      "day": "2024-01-02", "ts": "2024-01-02T03:04:05Z",
                      "ts2": "2024-01-02 03:04:05.123+02:00", "ts3": "2024-01-02T03:04",
                      "s": "hello", "num": "123", "bad": "2024-02-30", "n": null,
                      "l": [1, 2], "o": {"x": "y"}, "empty_o": {}, "empty_l": []})"}),
            "b:boolean i:int64 d:double e:double u:double day:date ts:timestamp_us "
            "ts2:timestamp_us ts3:timestamp_us s:string num:string bad:string n:string "
            "l:list<int64> o:struct<x:string> empty_o:json empty_l:list<string>");
}

TEST(InferJson, EveryInferredColumnIsNullableAndTheSchemaSaysInferred) {
  SchemaInferrer inferrer(TableSchema{});
  inferrer.Observe(R"({"a": 1, "b": {"c": [true]}})");
  TableSchema t = inferrer.Schema();
  EXPECT_TRUE(t.inferred);
  EXPECT_EQ(t.input, InputFormat::kJson);
  ASSERT_EQ(t.columns.size(), 2u);
  for (const TableColumn& c : t.columns) {
    EXPECT_TRUE(c.column.nullable);
    EXPECT_TRUE(c.path.empty());
  }
  EXPECT_TRUE(RoundTrip(t).ok());
}

TEST(InferJson, NullsOnlyIsStringAndNullNeverNarrows) {
  EXPECT_EQ(Infer({R"({"a": null})", R"({"a": null, "b": 1})"}), "a:string b:int64");
  EXPECT_EQ(Infer({R"({"a": null})", R"({"a": 2.5})"}), "a:double");
  EXPECT_EQ(Infer({R"({"a": 2.5})", R"({"a": null})", R"({})"}), "a:double");
  EXPECT_EQ(Infer({R"({"l": [null, null]})"}), "l:list<string>");
  EXPECT_EQ(Infer({R"({"l": [null, 1]})"}), "l:list<int64>");
  EXPECT_EQ(Infer({R"({"o": {"x": null}})", R"({"o": {"x": true}})"}), "o:struct<x:boolean>");
}

// ---- widening ----

TEST(InferJson, WideningOfScalars) {
  struct Case {
    const char* a;
    const char* b;
    const char* type;
  };
  for (const Case& c : std::vector<Case>{
           {"1", "2.5", "double"},
           {"2.5", "1", "double"},
           {"1", "18446744073709551615", "double"},
           {"\"2024-01-02\"", "\"2024-01-02T03:04:05Z\"", "timestamp_us"},
           {"\"2024-01-02T03:04:05Z\"", "\"2024-01-02\"", "timestamp_us"},
           {"true", "1", "string"},
           {"1", "true", "string"},
           {"true", "1.5", "string"},
           {"1", "\"x\"", "string"},
           {"1.5", "\"x\"", "string"},
           {"\"2024-01-02\"", "\"x\"", "string"},
           {"\"2024-01-02T03:04:05Z\"", "1", "string"},
           {"\"2024-01-02\"", "19724", "string"},
           {"\"x\"", "true", "string"},
           {"1", "1", "int64"},
           {"\"2024-01-02\"", "\"2023-12-31\"", "date"},
       }) {
    EXPECT_EQ(Infer({std::string("{\"v\": ") + c.a + "}", std::string("{\"v\": ") + c.b + "}"}),
              std::string("v:") + c.type)
        << c.a << " then " << c.b;
  }
  // Three steps: int64, then double, then string.
  EXPECT_EQ(Infer({R"({"v": 1})", R"({"v": 1.5})", R"({"v": "x"})"}), "v:string");
  // Widened types only widen further: string + int64 is string.
  EXPECT_EQ(Infer({R"({"v": "x"})", R"({"v": 1})", R"({"v": 1.5})"}), "v:string");
}

TEST(InferJson, ListsAndStructsWithAnythingElseAreJson) {
  EXPECT_EQ(Infer({R"({"v": [1]})", R"({"v": 1})"}), "v:json");
  EXPECT_EQ(Infer({R"({"v": "x"})", R"({"v": [1]})"}), "v:json");
  EXPECT_EQ(Infer({R"({"v": {"a": 1}})", R"({"v": "x"})"}), "v:json");
  EXPECT_EQ(Infer({R"({"v": [1]})", R"({"v": {"a": 1}})"}), "v:json");
  EXPECT_EQ(Infer({R"({"v": {}})", R"({"v": {"a": 1}})"}), "v:json");
  EXPECT_EQ(Infer({R"({"v": {"a": 1}})", R"({"v": {}})"}), "v:json");
  // json stays json, whatever follows.
  EXPECT_EQ(Infer({R"({"v": [1]})", R"({"v": 1})", R"({"v": [1]})", R"({"v": null})"}), "v:json");
  // Inside a list: the elements widen by the same rules.
  EXPECT_EQ(Infer({R"({"v": [1, "x"]})"}), "v:list<string>");
  EXPECT_EQ(Infer({R"({"v": [1, [2]]})"}), "v:list<json>");
  EXPECT_EQ(Infer({R"({"v": [{"a": 1}, 2]})"}), "v:list<json>");
}

TEST(InferJson, StructsMergeTheirFieldsInFirstSeenOrder) {
  EXPECT_EQ(Infer({R"({"a": {"x": 1, "y": "s"}})", R"({"a": {"z": true, "x": 2.5}})",
                   R"({"a": {"y": null, "w": {"deep": 1}}})", R"({"a": {"w": {"deeper": []}}})"}),
            "a:struct<x:double,y:string,z:boolean,w:struct<deep:int64,deeper:list<string>>>");
  EXPECT_EQ(Infer({R"({"a": {"b": {"c": {"d": "2024-01-02"}}}})",
                   R"({"a": {"b": {"c": {"d": "2024-01-02T00:00:00Z"}}}})"}),
            "a:struct<b:struct<c:struct<d:timestamp_us>>>");
}

TEST(InferJson, ListsWidenTheirElements) {
  EXPECT_EQ(Infer({R"({"l": [1, 2]})", R"({"l": [2.5]})"}), "l:list<double>");
  EXPECT_EQ(Infer({R"({"l": [1]})", R"({"l": ["x"]})"}), "l:list<string>");
  EXPECT_EQ(Infer({R"({"l": []})", R"({"l": [1]})"}), "l:list<int64>");
  EXPECT_EQ(Infer({R"({"l": [1]})", R"({"l": []})"}), "l:list<int64>");
  EXPECT_EQ(Infer({R"({"l": [[1], [2.5, 3]]})", R"({"l": [[]]})"}), "l:list<list<double>>");
  EXPECT_EQ(Infer({R"({"l": [{"a": 1}, {"b": true}]})", R"({"l": [{"a": 0.5, "c": "x"}]})"}),
            "l:list<struct<a:double,b:boolean,c:string>>");
}

TEST(InferJson, ColumnsInFirstSeenOrderNewOnesAppended) {
  EXPECT_EQ(Infer({R"({"b": 1, "a": 2})", R"({"c": 3, "a": 4})", R"({"d": 5})"}),
            "b:int64 a:int64 c:int64 d:int64");
}

TEST(InferJson, RecordsThatCannotBeReadAreIgnored) {
  TableSchema json;
  json.input = InputFormat::kJson;
  SchemaInferrer inferrer(json);
  for (const char* r : {"", "[1, 2]", "42", "\"s\"", "null", "not json", "{\"a\": ", "\n\n"})
    inferrer.Observe(r);
  EXPECT_FALSE(inferrer.Changed());
  EXPECT_FALSE(inferrer.Schema().HasColumns());
  EXPECT_TRUE(inferrer.Schema().inferred);
  inferrer.Observe(R"({"a": 1})");
  EXPECT_EQ(Columns(inferrer.Schema()), "a:int64");
}

// "input": "auto": the kind of the most records settles the schema's input; the other
// kind's records then fail conversion rather than add columns.
TEST(InferAuto, TheRecordsSettleTheInput) {
  {
    SchemaInferrer inferrer(TableSchema{});
    for (const char* r : {"1,ann,2024-01-02", "2,bob,", R"({"x": 1})"}) inferrer.Observe(r);
    TableSchema t = inferrer.Schema();
    EXPECT_EQ(t.input, InputFormat::kCsv);
    EXPECT_EQ(Columns(t), "col_1:int64 col_2:string col_3:date");
    EXPECT_TRUE(inferrer.Changed());
  }
  {
    SchemaInferrer inferrer(TableSchema{});
    for (const char* r : {R"({"a": 1})", "stray text", R"({"b": "x"})"}) inferrer.Observe(r);
    TableSchema t = inferrer.Schema();
    EXPECT_EQ(t.input, InputFormat::kJson);
    EXPECT_EQ(Columns(t), "a:int64 b:string");
  }
  {
    SchemaInferrer inferrer(TableSchema{});  // nothing seen: still auto, no columns
    inferrer.Observe("\n");
    EXPECT_EQ(inferrer.Schema().input, InputFormat::kAuto);
    EXPECT_FALSE(inferrer.Changed());
  }
}

TEST(InferJson, JsonLinesAndPrettyPrintedRecords) {
  EXPECT_EQ(Infer({"{\"a\": 1}\n{\"b\": \"x\"}\n\n{\"a\": 1.5}\n"}), "a:double b:string");
  EXPECT_EQ(Infer({"{\"a\": 1}\r\n{\"a\": true}\r\n"}), "a:string");
  // A bad line among good ones: the good ones still count.
  EXPECT_EQ(Infer({"{\"a\": 1}\nnot json\n{\"c\": null}"}), "a:int64 c:string");
  // One object over several lines is one record.
  EXPECT_EQ(Infer({"{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [true]\n  }\n}\n"}),
            "a:int64 b:struct<c:list<boolean>>");
}

// ---- CSV ----

TEST(InferCsv, FieldsTypedFromTheirText) {
  EXPECT_EQ(Infer({"1,1.5,true,2024-01-02,2024-01-02 03:04:05,abc,,\"\",-7,1e3,FALSE,007"}, Csv()),
            "col_1:int64 col_2:double col_3:boolean col_4:date col_5:timestamp_us "
            "col_6:string col_7:string col_8:string col_9:int64 col_10:double col_11:boolean "
            "col_12:int64");
}

TEST(InferCsv, WideningAcrossLines) {
  EXPECT_EQ(Infer({"1,2024-01-02,true,", "2.5,2024-01-02T00:00:00Z,1,", ",,,x"}, Csv()),
            "col_1:double col_2:timestamp_us col_3:string col_4:string");
  EXPECT_EQ(Infer({"1,", ",5"}, Csv()), "col_1:int64 col_2:int64");
  // An empty field is null; a quoted empty field is the empty string.
  EXPECT_EQ(Infer({"1,\"\"", "2,3"}, Csv()), "col_1:int64 col_2:string");
}

TEST(InferCsv, WithoutAHeaderLongerLinesAddColumns) {
  EXPECT_EQ(Infer({"1", "1,x", "1,x,2.5"}, Csv()), "col_1:int64 col_2:string col_3:double");
}

TEST(InferCsv, WithAHeader) {
  TableSchema csv = Csv({"id", "name", "price"}, ';');
  EXPECT_EQ(Infer({"id;name;price\n", "1;\"Ann; B\";2.5", "2;Bob;3", "3;too;many;fields", "4;short",
                   "5;\"unterminated;1"},
                  csv),
            "id:int64 name:string price:double");
  // Only the header line: no columns yet.
  SchemaInferrer inferrer(csv);
  inferrer.Observe("id;name;price");
  EXPECT_FALSE(inferrer.Schema().HasColumns());
  EXPECT_FALSE(inferrer.Changed());
  inferrer.Observe("1;;");
  TableSchema t = inferrer.Schema();
  EXPECT_EQ(Columns(t), "id:int64 name:string price:string");
  EXPECT_EQ(t.input, InputFormat::kCsv);
  EXPECT_EQ(t.csv_header, csv.csv_header);
  EXPECT_EQ(t.csv_delimiter, ';');
  EXPECT_TRUE(RoundTrip(t).ok());
}

TEST(InferCsv, BlankAndMalformedLinesAreIgnored) {
  SchemaInferrer inferrer(Csv());
  for (const char* r : {"", "\n", "\r\n", "1,\"open", "a\"b\"c,\"x\"y", "1\n2"})
    inferrer.Observe(r);
  EXPECT_FALSE(inferrer.Schema().HasColumns()) << Columns(inferrer.Schema());
  EXPECT_FALSE(inferrer.Changed());
}

// ---- Changed() and starting from an earlier schema ----

TEST(InferChanged, Semantics) {
  SchemaInferrer empty(TableSchema{});
  EXPECT_FALSE(empty.Changed());
  empty.Observe(R"({"a": null})");
  EXPECT_TRUE(empty.Changed());  // a new column, even of no type yet

  SchemaInferrer first(TableSchema{});
  first.Observe(R"({"a": 1, "b": {"c": "x"}})");
  const TableSchema inferred = first.Schema();

  SchemaInferrer same(inferred);
  EXPECT_FALSE(same.Changed());
  same.Observe(R"({"a": 2, "b": {"c": "y"}})");
  same.Observe(R"({"a": null, "b": null})");
  same.Observe(R"({})");
  EXPECT_FALSE(same.Changed());
  EXPECT_EQ(Columns(same.Schema()), Columns(inferred));

  SchemaInferrer wider(inferred);
  wider.Observe(R"({"a": 2.5})");
  EXPECT_TRUE(wider.Changed());
  EXPECT_EQ(Columns(wider.Schema()), "a:double b:struct<c:string>");

  SchemaInferrer new_field(inferred);
  new_field.Observe(R"({"b": {"d": 1}})");
  EXPECT_TRUE(new_field.Changed());
  EXPECT_EQ(Columns(new_field.Schema()), "a:int64 b:struct<c:string,d:int64>");

  SchemaInferrer new_column(inferred);
  new_column.Observe(R"({"z": 1})");
  EXPECT_TRUE(new_column.Changed());
  EXPECT_EQ(Columns(new_column.Schema()), "a:int64 b:struct<c:string> z:int64");
}

TEST(InferChanged, ANullOnlyColumnOnceStoredStaysString) {
  SchemaInferrer first(TableSchema{});
  first.Observe(R"({"a": null})");
  SchemaInferrer later(first.Schema());
  later.Observe(R"({"a": 5})");
  EXPECT_FALSE(later.Changed());
  EXPECT_EQ(Columns(later.Schema()), "a:string");
}

TEST(InferChanged, StartingColumnsKeepTheirPlaceAndPath) {
  TableSchema start = Start(R"({"inferred": true, "columns": [
      {"name": "z", "type": "int64"},
      {"name": "city", "type": "string", "path": "address.city"}]})");
  SchemaInferrer inferrer(start);
  inferrer.Observe(R"({"a": true, "z": 0.5})");
  TableSchema t = inferrer.Schema();
  EXPECT_EQ(Columns(t), "z:double city:string a:boolean");
  EXPECT_EQ(t.columns[1].path, "address.city");
  EXPECT_TRUE(inferrer.Changed());
}

TEST(InferChanged, ARequiredStartingColumnBecomesNullable) {
  TableSchema start = Start(R"({"columns": [{"name": "a", "type": "int64", "nullable": false}]})");
  SchemaInferrer inferrer(start);
  EXPECT_TRUE(inferrer.Changed());
  EXPECT_TRUE(inferrer.Schema().columns[0].column.nullable);
}

// ---- limits ----

TEST(InferLimits, AtMostMaxInferredColumns) {
  std::string record = "{";
  for (size_t i = 0; i < kMaxInferredColumns + 5; ++i)
    record += (i ? ",\"c" : "\"c") + std::to_string(i) + "\": " + std::to_string(i);
  record += "}";
  SchemaInferrer inferrer(TableSchema{});
  inferrer.Observe(record);
  inferrer.Observe(R"({"new": 1, "c0": "x"})");
  TableSchema t = inferrer.Schema();
  ASSERT_EQ(t.columns.size(), kMaxInferredColumns);
  EXPECT_EQ(t.columns.back().column.name, "c" + std::to_string(kMaxInferredColumns - 1));
  EXPECT_EQ(parquet::ColumnTypeString(t.columns[0].column), "string");  // known ones widen

  std::string line;
  for (size_t i = 0; i < kMaxInferredColumns + 5; ++i) line += (i ? ",1" : "1");
  SchemaInferrer csv(Csv());
  csv.Observe(line);
  EXPECT_EQ(csv.Schema().columns.size(), kMaxInferredColumns);
}

TEST(InferLimits, DeepNestingEndsInJsonAndReadsBack) {
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "{\"a\": " + deep + "}";
  const std::string record = "{\"v\": " + deep + "}";
  SchemaInferrer once(TableSchema{});
  once.Observe(record);
  const std::string type = Columns(once.Schema());
  EXPECT_NE(type.find("json"), std::string::npos) << type;
  EXPECT_TRUE(RoundTrip(once.Schema()).ok()) << RoundTrip(once.Schema()).ToString();
  // The same record again changes nothing.
  once.Observe(record);
  EXPECT_EQ(Columns(once.Schema()), type);
  // Exactly at the limit: a struct 32 deep holding scalars.
  for (int levels = 28; levels <= 36; ++levels) {
    std::string nested = "{\"x\": 1, \"y\": [2]}";
    for (int i = 1; i < levels; ++i) nested = "{\"a\": " + nested + "}";
    SchemaInferrer twice(TableSchema{});
    twice.Observe("{\"v\": " + nested + "}");
    const std::string first = Columns(twice.Schema());
    twice.Observe("{\"v\": " + nested + "}");
    EXPECT_EQ(Columns(twice.Schema()), first) << levels << " levels";
    EXPECT_TRUE(RoundTrip(twice.Schema()).ok()) << levels << " levels";
  }
  std::string list = "1";
  for (int i = 0; i < 40; ++i) list = "[" + list + "]";
  SchemaInferrer lists(TableSchema{});
  lists.Observe("{\"l\": " + list + "}");
  lists.Observe("{\"l\": " + list + "}");
  EXPECT_TRUE(RoundTrip(lists.Schema()).ok()) << RoundTrip(lists.Schema()).ToString();
}

// ---- what infers must be storable ----

TEST(InferNames, InferredSchemasReadBackFromTheDatasetDocument) {
  SchemaInferrer inferrer(TableSchema{});
  inferrer.Observe(R"({"plain": 1, "with space": 2, "dots.in.name": 3, "quote\"d": 4,
                       "caf\u00e9": 5, "s": {"a b": 1, "x:y": 2, "q\"uote": 3, "": 4},
                       "": 6, "tab\tbed": 7, ")" +
                   std::string(300, 'k') + R"(": 8})");
  TableSchema t = inferrer.Schema();
  Status s = RoundTrip(t);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << TableSchemaJson(t);
  // The names that are columns are there, as sent.
  std::vector<std::string> names;
  for (const TableColumn& c : t.columns) names.push_back(c.column.name);
  EXPECT_EQ(names, (std::vector<std::string>{"plain", "with space", "dots.in.name", "quote\"d",
                                             "caf\xC3\xA9", "s"}));
  // A struct whose fields the type grammar cannot name is kept whole, as JSON.
  EXPECT_EQ(parquet::ColumnTypeString(t.columns[5].column), "json");
  // And the mapper reads records into it.
  RecordMapper mapper(t);
  std::vector<std::string> cells;
  Status m = mapper.Map(R"({"quote\"d": 4, "s": {"q\"uote": 3}, "": 6})",
                        [&](std::span<const parquet::ParquetValue> row) {
                          for (const auto& v : row)
                            if (auto* sv = std::get_if<std::string_view>(&v))
                              cells.emplace_back(*sv);
                          return Status::Ok();
                        });
  EXPECT_TRUE(m.ok()) << m.ToString();
  EXPECT_EQ(cells, std::vector<std::string>{R"({"q\"uote":3})"});
}

TEST(InferNames, AStructWithAFieldNamedEmptyIsJson) {
  EXPECT_EQ(Infer({R"({"s": {"": 1}})"}), "s:json");
  EXPECT_EQ(Infer({R"({"s": {"a": 1}})", R"({"s": {"": 1}})"}), "s:json");
  EXPECT_EQ(Infer({R"({"l": [{"ok": 1}, {"no\"pe": 2}]})"}), "l:list<json>");
}

}  // namespace
}  // namespace millrace::formats
