// formats/table_schema and the type grammar under it (parquet/schema.h's ParseColumnType and
// ColumnTypeString): every type name, round trips, nesting, spaces, quoted struct fields and
// the errors; the dataset API's "schema" object with an error naming each member, and
// WriteTableSchema's exact JSON, read back to the same schema.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "formats/table_schema.h"

namespace millrace::formats {
namespace {

using parquet::ColumnType;
using parquet::ParquetColumn;

Result<TableSchema> Parse(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::error_code ec = parser.parse(json.data(), json.size()).get(doc);
  EXPECT_EQ(ec, simdjson::SUCCESS) << json;
  if (ec != simdjson::SUCCESS) return Status::Internal("bad test JSON");
  return ParseTableSchema(doc);
}

TableSchema ParseOk(std::string_view json) {
  Result<TableSchema> r = Parse(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : TableSchema{};
}

std::string ParseError(std::string_view json) {
  Result<TableSchema> r = Parse(json);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << json << " parsed";
  return r.status().message();
}

// ParseColumnType then ColumnTypeString.
std::string Canonical(std::string_view type) {
  ParquetColumn c;
  Status s = parquet::ParseColumnType(type, &c);
  EXPECT_TRUE(s.ok()) << type << ": " << s.ToString();
  return s.ok() ? parquet::ColumnTypeString(c) : "<error>";
}

std::string TypeError(std::string_view type) {
  ParquetColumn c;
  Status s = parquet::ParseColumnType(type, &c);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << type << " parsed";
  return s.message();
}

#define EXPECT_HAS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << (text) << " lacks " << (part)

// ---- the type grammar ----

TEST(ColumnType, ScalarNames) {
  const std::vector<std::pair<std::string, ColumnType>> names = {
      {"string", ColumnType::kString},
      {"binary", ColumnType::kBinary},
      {"boolean", ColumnType::kBoolean},
      {"int32", ColumnType::kInt32},
      {"int64", ColumnType::kInt64},
      {"float", ColumnType::kFloat},
      {"double", ColumnType::kDouble},
      {"date", ColumnType::kDate},
      {"timestamp_ms", ColumnType::kTimestampMillis},
      {"timestamp_us", ColumnType::kTimestampMicros},
      {"json", ColumnType::kJson},
  };
  for (const auto& [name, type] : names) {
    ParquetColumn c;
    ASSERT_TRUE(parquet::ParseColumnType(name, &c).ok()) << name;
    EXPECT_EQ(c.type, type) << name;
    EXPECT_TRUE(c.children.empty());
    EXPECT_EQ(parquet::ColumnTypeString(c), name);
    EXPECT_EQ(parquet::ColumnTypeName(type), name);
  }
}

TEST(ColumnType, Decimals) {
  ParquetColumn c;
  ASSERT_TRUE(parquet::ParseColumnType("decimal(10,2)", &c).ok());
  EXPECT_EQ(c.type, ColumnType::kDecimal);
  EXPECT_EQ(c.precision, 10);
  EXPECT_EQ(c.scale, 2);
  EXPECT_EQ(Canonical("decimal(10,2)"), "decimal(10,2)");
  EXPECT_EQ(Canonical("decimal ( 10 , 2 )"), "decimal(10,2)");
  EXPECT_EQ(Canonical("decimal(1,0)"), "decimal(1,0)");
  EXPECT_EQ(Canonical("decimal(38,38)"), "decimal(38,38)");
  EXPECT_EQ(Canonical("decimal(038,00)"), "decimal(38,0)");
}

TEST(ColumnType, ListsAndStructs) {
  ParquetColumn c;
  ASSERT_TRUE(parquet::ParseColumnType("list<struct<a:int64,b:list<decimal(5,2)>>>", &c).ok());
  EXPECT_EQ(c.type, ColumnType::kList);
  ASSERT_EQ(c.children.size(), 1u);
  const ParquetColumn& e = c.children[0];
  EXPECT_EQ(e.name, "element");
  EXPECT_TRUE(e.nullable);
  EXPECT_EQ(e.type, ColumnType::kStruct);
  ASSERT_EQ(e.children.size(), 2u);
  EXPECT_EQ(e.children[0].name, "a");
  EXPECT_EQ(e.children[0].type, ColumnType::kInt64);
  EXPECT_EQ(e.children[1].name, "b");
  EXPECT_EQ(e.children[1].type, ColumnType::kList);
  ASSERT_EQ(e.children[1].children.size(), 1u);
  EXPECT_EQ(e.children[1].children[0].type, ColumnType::kDecimal);
  EXPECT_EQ(e.children[1].children[0].precision, 5);
  EXPECT_EQ(e.children[1].children[0].scale, 2);
}

TEST(ColumnType, RoundTrips) {
  for (const char* type :
       {"list<int64>", "list<list<string>>", "list<json>", "struct<a:int64>",
        "struct<a:int64,b:string>", "struct<a:struct<b:struct<c:date>>>",
        "list<struct<a:int64,b:string>>", "struct<x:list<decimal(20,4)>,y:timestamp_ms>",
        "struct<$a-b_C9:boolean>", "struct<\"a b\":int64,\"x:y\":string>",
        "struct<\"caf\xC3\xA9\":float>", "struct<\"a,b>c\":list<binary>>"}) {
    EXPECT_EQ(Canonical(type), type);
    // And again from the canonical text.
    EXPECT_EQ(Canonical(Canonical(type)), type);
  }
}

TEST(ColumnType, SpacesBetweenTokensAndNeedlessQuotes) {
  EXPECT_EQ(Canonical("  list < struct < a : int64 , b : string > >  "),
            "list<struct<a:int64,b:string>>");
  EXPECT_EQ(Canonical("\tint64\t"), "int64");
  EXPECT_EQ(Canonical("struct<\"plain\":int64>"), "struct<plain:int64>");
}

TEST(ColumnType, ParsingAgainReplacesChildrenAndDecimal) {
  ParquetColumn c;
  ASSERT_TRUE(parquet::ParseColumnType("struct<a:int64,b:int64>", &c).ok());
  ASSERT_TRUE(parquet::ParseColumnType("list<int32>", &c).ok());
  EXPECT_EQ(parquet::ColumnTypeString(c), "list<int32>");
  ASSERT_TRUE(parquet::ParseColumnType("decimal(9,3)", &c).ok());
  ASSERT_TRUE(parquet::ParseColumnType("int64", &c).ok());
  EXPECT_TRUE(c.children.empty());
  EXPECT_EQ(c.precision, 0);
  EXPECT_EQ(c.scale, 0);
}

TEST(ColumnType, NestingDepthLimit) {
  std::string ok = "int64", too_deep;
  for (int i = 0; i < 32; ++i) ok = "list<" + ok + ">";
  EXPECT_EQ(Canonical(ok), ok);
  too_deep = "list<" + ok + ">";
  EXPECT_HAS(TypeError(too_deep), "nested more than 32 deep");
  std::string deep_struct = "int64";
  for (int i = 0; i < 40; ++i) deep_struct = "struct<a:" + deep_struct + ">";
  EXPECT_HAS(TypeError(deep_struct), "nested more than 32 deep");
}

TEST(ColumnType, Errors) {
  EXPECT_HAS(TypeError(""), "expected a type at offset 0");
  EXPECT_HAS(TypeError("str"), "unknown type 'str'");
  EXPECT_HAS(TypeError("INT64"), "unknown type 'INT64'");
  EXPECT_HAS(TypeError("timestamp"), "unknown type 'timestamp'");
  EXPECT_HAS(TypeError("int64 int64"), "unexpected 'int64'");
  EXPECT_HAS(TypeError("int64>"), "unexpected '>'");
  EXPECT_HAS(TypeError("decimal"), "decimal needs (precision,scale)");
  EXPECT_HAS(TypeError("decimal(10)"), "decimal needs (precision,scale)");
  EXPECT_HAS(TypeError("decimal(10,2"), "expected ')'");
  EXPECT_HAS(TypeError("decimal(,2)"), "expected a number at offset 8");
  EXPECT_HAS(TypeError("decimal(a,b)"), "expected a number");
  EXPECT_HAS(TypeError("decimal(-1,0)"), "expected a number");
  EXPECT_HAS(TypeError("decimal(10,-1)"), "expected a number");
  EXPECT_HAS(TypeError("decimal(0,0)"), "1 <= precision <= 38");
  EXPECT_HAS(TypeError("decimal(39,0)"), "decimal(39,0) needs 1 <= precision <= 38");
  EXPECT_HAS(TypeError("decimal(5,6)"), "0 <= scale <= precision");
  TypeError("decimal(99999,2)");
  EXPECT_HAS(TypeError("list"), "list needs <element type>");
  EXPECT_HAS(TypeError("list<>"), "expected a type at offset 5");
  EXPECT_HAS(TypeError("list<int64"), "expected '>' to close list<");
  EXPECT_HAS(TypeError("list<int64,string>"), "expected '>' to close list<");
  EXPECT_HAS(TypeError("list<int64>>"), "unexpected '>'");
  EXPECT_HAS(TypeError("struct"), "struct needs <name:type,...>");
  EXPECT_HAS(TypeError("struct<>"), "expected a field name");
  EXPECT_HAS(TypeError("struct<a>"), "expected ':' after struct field 'a'");
  EXPECT_HAS(TypeError("struct<a:>"), "expected a type");
  EXPECT_HAS(TypeError("struct<a:int64,>"), "expected a field name");
  EXPECT_HAS(TypeError("struct<a:int64"), "expected '>' to close struct<");
  EXPECT_HAS(TypeError("struct<a:int64,a:string>"), "struct field 'a' appears twice");
  EXPECT_HAS(TypeError("struct<\"a:int64>"), "unterminated quoted field name");
  EXPECT_HAS(TypeError("struct<\"\":int64>"), "expected a field name");
  EXPECT_HAS(TypeError("struct<a b:int64>"), "expected ':' after struct field 'a'");
  // The message quotes the whole type.
  EXPECT_HAS(TypeError("list<strng>"), "type 'list<strng>': unknown type 'strng'");
}

// ---- ParseTableSchema ----

TEST(TableSchema, TheHeadersExample) {
  TableSchema t = ParseOk(R"({"columns": [{"name": "id", "type": "int64", "nullable": false},
                                          {"name": "city", "type": "string",
                                           "path": "address.city"}],
                              "input": "json"})");
  ASSERT_EQ(t.columns.size(), 2u);
  EXPECT_EQ(t.columns[0].column.name, "id");
  EXPECT_EQ(t.columns[0].column.type, ColumnType::kInt64);
  EXPECT_FALSE(t.columns[0].column.nullable);
  EXPECT_EQ(t.columns[0].path, "");
  EXPECT_EQ(t.columns[1].column.name, "city");
  EXPECT_TRUE(t.columns[1].column.nullable);
  EXPECT_EQ(t.columns[1].path, "address.city");
  EXPECT_EQ(t.input, InputFormat::kJson);
  EXPECT_FALSE(t.inferred);
  EXPECT_TRUE(t.HasColumns());
  parquet::ParquetSchema p = t.ToParquet();
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_EQ(p.columns[1].name, "city");
  EXPECT_TRUE(parquet::ValidateSchema(p).ok());
}

TEST(TableSchema, CsvInput) {
  TableSchema t = ParseOk(R"({"columns": [{"name": "city", "type": "string"},
                                          {"name": "id", "type": "int64"}],
                              "input": "csv", "csv_header": ["id", "name", "city"],
                              "csv_delimiter": ";"})");
  EXPECT_EQ(t.input, InputFormat::kCsv);
  EXPECT_EQ(t.csv_header, (std::vector<std::string>{"id", "name", "city"}));
  EXPECT_EQ(t.csv_delimiter, ';');
  EXPECT_EQ(ParseOk(R"({"input": "csv", "csv_delimiter": "\t"})").csv_delimiter, '\t');
  EXPECT_EQ(ParseOk(R"({"input": "csv", "csv_delimiter": "|"})").csv_delimiter, '|');
}

TEST(TableSchema, DefaultsAndNulls) {
  TableSchema t = ParseOk("{}");
  EXPECT_FALSE(t.HasColumns());
  EXPECT_EQ(t.input, InputFormat::kAuto);  // JSON objects and CSV lines alike
  EXPECT_EQ(t.csv_delimiter, ',');
  EXPECT_TRUE(t.csv_header.empty());
  EXPECT_FALSE(t.inferred);
  // null is the same as absent, everywhere.
  t = ParseOk(R"({"columns": null, "input": null, "csv_header": null, "csv_delimiter": null,
                  "inferred": null})");
  EXPECT_FALSE(t.HasColumns());
  EXPECT_EQ(t.input, InputFormat::kAuto);
  EXPECT_EQ(ParseOk(R"({"input": "json"})").input, InputFormat::kJson);
  EXPECT_EQ(ParseOk(R"({"input": "auto"})").input, InputFormat::kAuto);
  t = ParseOk(R"({"columns": [{"name": "a", "type": "int64", "nullable": null, "path": null}]})");
  EXPECT_TRUE(t.columns[0].column.nullable);
  EXPECT_EQ(t.columns[0].path, "");
  EXPECT_TRUE(ParseOk(R"({"inferred": true})").inferred);
  EXPECT_FALSE(ParseOk(R"({"inferred": false})").inferred);
}

TEST(TableSchema, NestedColumnTypes) {
  TableSchema t = ParseOk(
      R"j({"columns": [{"name": "tags", "type": "list<string>"},
                      {"name": "addr", "type": "struct<city:string, \"zip code\":int32>"},
                      {"name": "price", "type": "decimal(10,2)", "nullable": false}]})j");
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(parquet::ColumnTypeString(t.columns[1].column),
            "struct<city:string,\"zip code\":int32>");
  EXPECT_EQ(t.columns[2].column.precision, 10);
  EXPECT_EQ(t.columns[2].column.scale, 2);
}

TEST(TableSchema, ColumnNames) {
  const std::string long_name(255, 'n');
  TableSchema t = ParseOk(R"({"columns": [{"name": ")" + long_name +
                          R"(", "type": "int64"}, {"name": "a.b c", "type": "int64"}]})");
  EXPECT_EQ(t.columns[0].column.name, long_name);
  EXPECT_EQ(t.columns[1].column.name, "a.b c");
}

TEST(TableSchema, EachErrorNamesItsMember) {
  EXPECT_EQ(ParseError("[]"), "schema: must be an object");
  EXPECT_EQ(ParseError("\"x\""), "schema: must be an object");
  EXPECT_HAS(ParseError(R"({"colums": []})"), "schema.colums: unknown member");
  EXPECT_EQ(ParseError(R"({"input": "xml"})"),
            "schema.input: must be \"auto\", \"json\" or \"csv\"");
  EXPECT_HAS(ParseError(R"({"input": "CSV"})"), "schema.input:");
  EXPECT_HAS(ParseError(R"({"input": 1})"), "schema.input:");
  for (const char* d : {R"("")", R"(";;")", R"("\"")", R"("\n")", R"("\r")", "44", R"("é")"})
    EXPECT_HAS(ParseError(std::string(R"({"input": "csv", "csv_delimiter": )") + d + "}"),
               "schema.csv_delimiter: must be one character");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": "a,b"})"),
            "schema.csv_header: must be an array");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": ["a", 1]})"),
            "schema.csv_header: must be an array of strings");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": []})"),
            "schema.csv_header: must name at least one field");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": ["a", ""]})"),
            "schema.csv_header: must be 1 to 255 characters");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": ["a\tb"]})"),
            "schema.csv_header: must not hold control characters");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": ["a", "b", "a"]})"),
            "schema.csv_header: names 'a' twice");
  EXPECT_EQ(ParseError(R"({"input": "json", "csv_header": ["a"]})"),
            "schema.csv_header: only applies to CSV records (\"input\": \"csv\" or \"auto\")");
  EXPECT_EQ(ParseError(R"({"inferred": "yes"})"), "schema.inferred: must be a boolean");
  EXPECT_EQ(ParseError(R"({"columns": {}})"), "schema.columns: must be an array");
  EXPECT_EQ(ParseError(R"({"columns": []})"), "schema.columns: must hold at least one column");
  EXPECT_EQ(ParseError(R"({"columns": ["id"]})"),
            "schema.columns[0]: must be an object with name and type");
  EXPECT_HAS(ParseError(R"({"columns": [{"name": "a", "type": "int64", "typ": "x"}]})"),
             "schema.columns[0].typ: unknown member");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "a", "type": "int64"}, {"type": "int64"}]})"),
            "schema.columns[1].name: is required (a string)");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": 5, "type": "int64"}]})"),
            "schema.columns[0].name: is required (a string)");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "", "type": "int64"}]})"),
            "schema.columns[0].name: must be 1 to 255 characters");
  EXPECT_EQ(
      ParseError(R"({"columns": [{"name": ")" + std::string(256, 'n') + R"(", "type": "int64"}]})"),
      "schema.columns[0].name: must be 1 to 255 characters");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "a\nb", "type": "int64"}]})"),
            "schema.columns[0].name: must not hold control characters");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "a", "type": "int64"},
                                       {"name": "a", "type": "string"}]})"),
            "schema.columns[1].name: 'a' is the name of an earlier column");
  EXPECT_HAS(ParseError(R"({"columns": [{"name": "a"}]})"), "schema.columns[0].type: is required");
  EXPECT_HAS(ParseError(R"({"columns": [{"name": "a", "type": 64}]})"),
             "schema.columns[0].type: is required");
  EXPECT_HAS(ParseError(R"({"columns": [{"name": "a", "type": "int64"},
                                       {"name": "b", "type": "int64"},
                                       {"name": "c", "type": "str"}]})"),
             "schema.columns[2].type: ");
  EXPECT_HAS(ParseError(R"({"columns": [{"name": "a", "type": "int64"},
                                       {"name": "b", "type": "int64"},
                                       {"name": "c", "type": "str"}]})"),
             "unknown type 'str'");
  EXPECT_HAS(ParseError(R"j({"columns": [{"name": "a", "type": "decimal(40,2)"}]})j"),
             "schema.columns[0].type: ");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "a", "type": "int64", "nullable": "no"}]})"),
            "schema.columns[0].nullable: must be a boolean");
  EXPECT_EQ(ParseError(R"({"columns": [{"name": "a", "type": "int64", "path": 1}]})"),
            "schema.columns[0].path: must be a string");
  for (const char* path : {"", ".a", "a.", "a..b", "."})
    EXPECT_HAS(ParseError(std::string(R"({"columns": [{"name": "a", "type": "int64", "path": ")") +
                          path + "\"}]}"),
               "schema.columns[0].path: must be object keys separated by dots");
  EXPECT_EQ(
      ParseError(R"({"input": "csv", "columns": [{"name": "a", "type": "int64",
                                                         "path": "a"}]})"),
      "schema.columns[0].path: only applies to JSON records (\"input\": \"json\" or \"auto\")");
  EXPECT_EQ(ParseError(R"({"input": "csv", "csv_header": ["a", "b"],
                           "columns": [{"name": "a", "type": "int64"},
                                       {"name": "c", "type": "int64"}]})"),
            "schema.columns: column 'c' is not a field of schema.csv_header");
}

TEST(TableSchema, MemberOrderDoesNotMatter) {
  // "input" after the columns and csv_header that depend on it.
  TableSchema t = ParseOk(R"({"columns": [{"name": "b", "type": "int64"}],
                              "csv_header": ["a", "b"], "input": "csv"})");
  EXPECT_EQ(t.input, InputFormat::kCsv);
  EXPECT_EQ(
      ParseError(R"({"columns": [{"name": "b", "type": "int64", "path": "x"}],
                           "input": "csv"})"),
      "schema.columns[0].path: only applies to JSON records (\"input\": \"json\" or \"auto\")");
}

// ---- WriteTableSchema ----

TEST(TableSchemaJson, ExactText) {
  EXPECT_EQ(TableSchemaJson(ParseOk("{}")), R"({"input":"auto","csv_delimiter":","})");
  EXPECT_EQ(TableSchemaJson(ParseOk(R"({"input": "json"})")), R"({"input":"json"})");
  EXPECT_EQ(TableSchemaJson(ParseOk(R"({"input": "json", "inferred": true})")),
            R"({"input":"json","inferred":true})");
  EXPECT_EQ(
      TableSchemaJson(ParseOk(
          R"j({"input": "json", "columns": [{"name": "id", "type": "int64", "nullable": false},
                                {"name": "city", "type": "string", "path": "address.city"},
                                {"name": "p", "type": "decimal( 10 ,2 )"}]})j")),
      R"({"columns":[{"name":"id","type":"int64","nullable":false},)"
      R"({"name":"city","type":"string","nullable":true,"path":"address.city"},)"
      R"j({"name":"p","type":"decimal(10,2)","nullable":true}],"input":"json"})j");
  EXPECT_EQ(TableSchemaJson(ParseOk(R"({"input": "csv", "csv_header": ["x", "y"],
                                        "columns": [{"name": "y", "type": "date"}],
                                        "csv_delimiter": "\t", "inferred": true})")),
            R"({"columns":[{"name":"y","type":"date","nullable":true}],"input":"csv",)"
            R"("csv_header":["x","y"],"csv_delimiter":"\t","inferred":true})");
  EXPECT_EQ(TableSchemaJson(ParseOk(R"({"input": "csv"})")),
            R"({"input":"csv","csv_delimiter":","})");
}

TEST(TableSchemaJson, ReadsBackToTheSameSchema) {
  for (const char* json : {
           R"({"columns": [{"name": "id", "type": "int64", "nullable": false},
                           {"name": "a \"q\" \\ é", "type": "string", "path": "x.y.z"},
                           {"name": "s", "type": "struct<\"a b\":list<int64>,c:json>"},
                           {"name": "t", "type": "timestamp_ms"}], "inferred": true})",
           R"j({"input": "csv", "csv_header": ["a", "b"], "csv_delimiter": ";",
               "columns": [{"name": "b", "type": "decimal(38,0)", "nullable": false}]})j",
           R"({"input": "csv"})",
           "{}",
       }) {
    const std::string once = TableSchemaJson(ParseOk(json));
    TableSchema again = ParseOk(once);
    EXPECT_EQ(TableSchemaJson(again), once);
  }
}

}  // namespace
}  // namespace millrace::formats
