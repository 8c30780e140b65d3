// formats/record_mapper: records to rows. JSON objects (by name, by dotted path, missing
// members as null, required columns, non-objects), JSON lines (all rows or none), CSV lines
// (header line skipped, columns picked by the header's names or by position, quoted fields,
// "" against an empty field, field counts), blank records; and the csv FileWriter end to
// end (formats/writer.h's NewWriter): records in, the exact CSV bytes out.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "formats/record_mapper.h"
#include "formats/writer.h"

namespace millrace::formats {
namespace {

using parquet::Int128;
using parquet::ParquetValue;

TableSchema Schema(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(json.data(), json.size()).get(doc), simdjson::SUCCESS) << json;
  Result<TableSchema> t = ParseTableSchema(doc);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : TableSchema{};
}

// One cell as text: null, true, i32:5, i64:5, f:1.5, d:1.5, "text", dec:123, [json].
std::string Cell(const ParquetValue& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int32_t i) const { return "i32:" + std::to_string(i); }
    std::string operator()(int64_t i) const { return "i64:" + std::to_string(i); }
    std::string operator()(float f) const { return "f:" + std::to_string(f); }
    std::string operator()(double d) const { return "d:" + std::to_string(d); }
    std::string operator()(std::string_view s) const { return "\"" + std::string(s) + "\""; }
    std::string operator()(Int128 v) const { return "dec:" + std::to_string(int64_t(v)); }
    std::string operator()(simdjson::dom::element e) const {
      return "[json]" + simdjson::minify(e);
    }
  };
  return std::visit(Visitor{}, v);
}

// Maps `record`; the rows as "cell|cell|..." each, or "error: <message>".
struct Mapped {
  Status status;
  std::vector<std::string> rows;
};

Mapped Map(RecordMapper& mapper, std::string_view record) {
  Mapped m;
  m.status = mapper.Map(record, [&](std::span<const ParquetValue> row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + Cell(row[i]);
    m.rows.push_back(line);
    return Status::Ok();
  });
  return m;
}

std::vector<std::string> Rows(RecordMapper& mapper, std::string_view record) {
  Mapped m = Map(mapper, record);
  EXPECT_TRUE(m.status.ok()) << record << ": " << m.status.ToString();
  return m.rows;
}

std::string Error(RecordMapper& mapper, std::string_view record) {
  Mapped m = Map(mapper, record);
  EXPECT_EQ(m.status.code(), Code::kInvalidArgument) << record << " mapped";
  EXPECT_TRUE(m.rows.empty()) << record << " handed over " << m.rows.size() << " rows";
  return m.status.message();
}

using Strings = std::vector<std::string>;

// ---- JSON ----

const char* const kPeople = R"({"input": "json", "columns": [
    {"name": "id", "type": "int64", "nullable": false},
    {"name": "name", "type": "string"},
    {"name": "city", "type": "string", "path": "address.city"},
    {"name": "zip", "type": "int32", "path": "address.post.zip"}]})";

TEST(RecordMapperJson, ColumnsByNameAndPathMissingIsNull) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Rows(m, R"({"id": 1, "name": "Ann", "address": {"city": "Paris",
                         "post": {"zip": 75001}}, "extra": [1, 2]})"),
            Strings{R"(i64:1|"Ann"|"Paris"|i32:75001)"});
  EXPECT_EQ(Rows(m, R"({"id": 2})"), Strings{"i64:2|null|null|null"});
  EXPECT_EQ(Rows(m, R"({"name": null, "id": 3, "address": null})"),
            Strings{"i64:3|null|null|null"});
  // A step of a path that is not an object: the value is missing.
  EXPECT_EQ(Rows(m, R"({"id": 4, "address": "Paris"})"), Strings{"i64:4|null|null|null"});
  EXPECT_EQ(Rows(m, R"({"id": 5, "address": {"city": "Oslo", "post": [75001]}})"),
            Strings{R"(i64:5|null|"Oslo"|null)"});
  EXPECT_EQ(Rows(m, R"({"id": 6, "address": {"post": {}}})"), Strings{"i64:6|null|null|null"});
  // Members of the path are matched exactly: no "address.city" key lookup.
  EXPECT_EQ(Rows(m, R"({"id": 7, "address.city": "Rome"})"), Strings{"i64:7|null|null|null"});
}

TEST(RecordMapperJson, ANameWithADotIsOneKey) {
  RecordMapper m(Schema(R"({"columns": [{"name": "a.b", "type": "int64"}]})"));
  EXPECT_EQ(Rows(m, R"({"a.b": 1, "a": {"b": 2}})"), Strings{"i64:1"});
}

TEST(RecordMapperJson, RequiredColumnMissingOrNull) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Error(m, R"({"name": "Ann"})"),
            "column 'id' is required, and the record has no value for it");
  EXPECT_EQ(Error(m, R"({"id": null, "name": "Ann"})"),
            "column 'id' is required, and the record has no value for it");
  RecordMapper nested(Schema(R"({"columns": [{"name": "c", "type": "string",
                                               "path": "a.b", "nullable": false}]})"));
  EXPECT_EQ(Error(nested, R"({"a": {}})"),
            "column 'c' is required, and the record has no value for it");
  EXPECT_EQ(Rows(nested, R"({"a": {"b": ""}})"), Strings{R"("")"});
}

TEST(RecordMapperJson, ValuesThatDoNotConvertNameTheColumn) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Error(m, R"({"id": "one"})"), "column 'id' (int64): 'one' is not an integer");
  EXPECT_EQ(Error(m, R"({"id": 1, "address": {"post": {"zip": 1e10}}})"),
            "column 'zip' (int32): 10000000000 is out of the int32 range");
  // The mapper stays usable.
  EXPECT_EQ(Rows(m, R"({"id": 8})"), Strings{"i64:8|null|null|null"});
}

TEST(RecordMapperJson, RecordsThatAreNotObjects) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Error(m, "[1, 2]"), "the record is not a JSON object");
  EXPECT_EQ(Error(m, "42"), "the record is not a JSON object");
  EXPECT_EQ(Error(m, R"("text")"), "the record is not a JSON object");
  EXPECT_EQ(Error(m, "null"), "the record is not a JSON object");
  EXPECT_NE(Error(m, R"({"id": 1)").find("the record is not valid JSON ("), std::string::npos);
  EXPECT_NE(Error(m, "id=1").find("the record is not valid JSON"), std::string::npos);
  EXPECT_NE(Error(m, R"({"id": 1} {"id": 2})").find("not valid JSON"), std::string::npos);
}

// The Parquet writer skips its own UTF-8 check for JSON input: simdjson's must refuse
// invalid UTF-8 anywhere in the record, strings and keys alike.
TEST(RecordMapperJson, InvalidUtf8IsNotValidJson) {
  RecordMapper m(Schema(kPeople));
  for (std::string bad : {std::string("{\"id\": 1, \"name\": \"a\xff\"}"),
                          std::string("{\"id\": 1, \"n\xc3\x28\": 2}"),
                          std::string("{\"id\": 1, \"name\": \"\xed\xa0\x80\"}")})
    EXPECT_NE(Error(m, bad).find("not valid JSON"), std::string::npos) << bad;
}

TEST(RecordMapperJson, EveryTypeOfColumn) {
  RecordMapper m(Schema(R"j({"columns": [
      {"name": "b", "type": "boolean"}, {"name": "f", "type": "float"},
      {"name": "d", "type": "double"}, {"name": "p", "type": "decimal(6,2)"},
      {"name": "day", "type": "date"}, {"name": "ts", "type": "timestamp_ms"},
      {"name": "bin", "type": "binary"}, {"name": "j", "type": "json"},
      {"name": "l", "type": "list<int64>"}, {"name": "s", "type": "struct<x:string>"}]})j"));
  EXPECT_EQ(Rows(m, R"({"b": true, "f": 1.5, "d": "2.5", "p": 12.345, "day": "2024-03-01",
                         "ts": "1970-01-01T00:00:01.5Z", "bin": "raw", "j": {"k": [1, 2]},
                         "l": [1, 2], "s": {"x": "y"}})"),
            Strings{R"(true|f:1.500000|d:2.500000|dec:1235|i32:19783|i64:1500|"raw"|)"
                    R"("{"k":[1,2]}"|[json][1,2]|[json]{"x":"y"})"});
}

TEST(RecordMapperJson, NestedValuesAreConvertedToo) {
  RecordMapper m(Schema(R"({"columns": [
      {"name": "l", "type": "list<int64>"},
      {"name": "s", "type": "struct<a:int32,b:list<date>,c:struct<d:boolean>>"},
      {"name": "t", "type": "list<string>"}]})"));
  EXPECT_EQ(Rows(m, R"({"l": [1, null, 3.0], "s": {"a": 1, "b": ["2024-01-01", null],
                         "c": {"d": "TRUE"}, "extra": "x"}, "t": [1, {"k": 2}, "s"]})"),
            Strings{R"([json][1,null,3.0]|[json]{"a":1,"b":["2024-01-01",null],"c":{"d":"TRUE"},)"
                    R"("extra":"x"}|[json][1,{"k":2},"s"])"});
  EXPECT_EQ(Rows(m, R"({"s": {}, "l": []})"), Strings{"[json][]|[json]{}|null"});
  EXPECT_EQ(Error(m, R"({"l": [1, "x"]})"), "column 'l.element' (int64): 'x' is not an integer");
  EXPECT_EQ(Error(m, R"({"l": [1.5]})"), "column 'l.element' (int64): 1.5 is not a whole number");
  EXPECT_EQ(Error(m, R"({"s": {"a": 2147483648}})"),
            "column 's.a' (int32): 2147483648 is out of the int32 range");
  EXPECT_EQ(Error(m, R"({"s": {"b": ["2024-13-01"]}})"),
            "column 's.b.element' (date): '2024-13-01' is not a date (YYYY-MM-DD)");
  EXPECT_EQ(Error(m, R"({"s": {"b": 5}})"), "column 's.b' (list<date>): expected an array, not 5");
  EXPECT_EQ(Error(m, R"({"s": {"c": {"d": 1}}})"),
            "column 's.c.d' (boolean): expected true or false, not 1");
}

// ---- JSON lines ----

TEST(RecordMapperJsonLines, OneRowPerLineInOrder) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Rows(m, "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n{\"id\": 3}"),
            (Strings{R"(i64:1|"a"|null|null)", R"(i64:2|"b"|null|null)", "i64:3|null|null|null"}));
  EXPECT_EQ(Rows(m, "{\"id\": 1}\r\n{\"id\": 2}\r\n"),
            (Strings{"i64:1|null|null|null", "i64:2|null|null|null"}));
  // Blank lines between them are skipped.
  EXPECT_EQ(Rows(m, "\n{\"id\": 1}\n\n  \n{\"id\": 2}\n\n"),
            (Strings{"i64:1|null|null|null", "i64:2|null|null|null"}));
}

TEST(RecordMapperJsonLines, EachLinesValuesStayValidUntilTheSink) {
  // String values point into each line's own parser and scratch: none is overwritten by the
  // lines mapped after it.
  RecordMapper m(Schema(R"({"columns": [{"name": "s", "type": "string"},
                                        {"name": "n", "type": "string"},
                                        {"name": "j", "type": "json"}]})"));
  std::string record;
  Strings expected;
  for (int i = 0; i < 50; ++i) {
    record += "{\"s\": \"line " + std::to_string(i) + "\", \"n\": " + std::to_string(i * 7) +
              ", \"j\": [" + std::to_string(i) + "]}\n";
    expected.push_back("\"line " + std::to_string(i) + "\"|\"" + std::to_string(i * 7) + "\"|\"[" +
                       std::to_string(i) + "]\"");
  }
  EXPECT_EQ(Rows(m, record), expected);
  // And again, shorter: the lines of the longer record are reused.
  EXPECT_EQ(Rows(m, "{\"s\": \"x\"}\n{\"n\": 1.5}"),
            (Strings{R"("x"|null|null)", R"(null|"1.5"|null)"}));
}

TEST(RecordMapperJsonLines, ABadLineMeansNoRowsAtAll) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Error(m, "{\"id\": 1}\n{\"id\": \"two\"}\n{\"id\": 3}"),
            "line 2: column 'id' (int64): 'two' is not an integer");
  EXPECT_NE(Error(m, "{\"id\": 1}\n{\"id\": 2\n").find("line 2: the record is not valid JSON"),
            std::string::npos);
  EXPECT_EQ(Error(m, "{\"id\": 1}\n[1]"), "line 2: the record is not a JSON object");
  EXPECT_EQ(Error(m, "{\"id\": 1}\n{\"name\": \"x\"}"),
            "line 2: column 'id' is required, and the record has no value for it");
  EXPECT_EQ(Error(m, "{\"id\": \"x\"}\n{\"id\": 2}"),
            "line 1: column 'id' (int64): 'x' is not an integer");
  // A nested value that does not convert, too (the writer would refuse that row after
  // taking the earlier lines' rows).
  RecordMapper nested(Schema(R"({"columns": [{"name": "l", "type": "list<int64>"}]})"));
  EXPECT_EQ(Error(nested, "{\"l\": [1]}\n{\"l\": [\"x\"]}"),
            "line 2: column 'l.element' (int64): 'x' is not an integer");
}

TEST(RecordMapperJsonLines, APrettyPrintedObjectIsOneRecord) {
  RecordMapper m(Schema(kPeople));
  EXPECT_EQ(Rows(m, "{\n  \"id\": 1,\n  \"address\": {\n    \"city\": \"Paris\"\n  }\n}\n"),
            Strings{R"(i64:1|null|"Paris"|null)"});
  EXPECT_EQ(Rows(m, "{\r\n \"id\": 2\r\n}"), Strings{"i64:2|null|null|null"});
  EXPECT_EQ(Error(m, "{\n  \"name\": \"x\"\n}"),
            "column 'id' is required, and the record has no value for it");
  EXPECT_EQ(Error(m, "[\n1\n]"), "the record is not a JSON object");
}

TEST(RecordMapperJsonLines, BlankRecordsGiveNoRows) {
  RecordMapper m(Schema(kPeople));
  for (const char* blank : {"", " ", "\n", "\r\n", "\n\n", " \t\r\n \n"}) {
    Mapped r = Map(m, blank);
    EXPECT_TRUE(r.status.ok()) << "'" << blank << "': " << r.status.ToString();
    EXPECT_TRUE(r.rows.empty());
  }
}

TEST(RecordMapperJsonLines, TheSinksErrorIsReturnedAndStopsTheRows) {
  RecordMapper m(Schema(kPeople));
  int calls = 0;
  Status s = m.Map("{\"id\": 1}\n{\"id\": 2}\n{\"id\": 3}", [&](std::span<const ParquetValue>) {
    return ++calls == 2 ? Status::ResourceExhausted("full") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(calls, 2);
}

// ---- CSV ----

// "input": "auto" (the default): each record is read as JSON if it starts with '{' or '[',
// else as a CSV line.
TEST(RecordMapperAuto, JsonObjectsAndCsvLinesBothFit) {
  RecordMapper m(Schema(R"({"csv_header": ["id", "name"], "columns": [
      {"name": "id", "type": "int64", "nullable": false}, {"name": "name", "type": "string"}]})"));
  EXPECT_EQ(Rows(m, R"({"id": 1, "name": "Ann"})"), Strings{R"(i64:1|"Ann")"});
  EXPECT_EQ(Rows(m, "2,Bob"), Strings{R"(i64:2|"Bob")"});
  EXPECT_EQ(Rows(m, "3,\"\""), Strings{R"(i64:3|"")"});
  EXPECT_EQ(Rows(m, "4,"), Strings{"i64:4|null"});
  EXPECT_EQ(Rows(m, "  {\"id\": 5}\n{\"id\": 6}"), (Strings{"i64:5|null", "i64:6|null"}));
  EXPECT_TRUE(Rows(m, "id,name").empty());  // the header line
  for (const char* blank : {"", " ", "\n", "\r\n"}) EXPECT_TRUE(Rows(m, blank).empty()) << blank;
  // Neither: both readings are in the message.
  EXPECT_EQ(Error(m, "hello"),
            "the record is not JSON (it does not start with '{' or '['), and as a CSV line: "
            "CSV line has 1 fields; the schema expects 2");
  EXPECT_EQ(Error(m, "[1]"), "the record is not a JSON object");
  EXPECT_EQ(Error(m, "8,caf\xc3"),
            "the record is not JSON (it does not start with '{' or '['), nor a CSV line of UTF-8 "
            "text");
}

const char* const kCsv = R"({"input": "csv", "csv_header": ["id", "name", "city"],
    "columns": [{"name": "city", "type": "string"},
                {"name": "id", "type": "int64", "nullable": false}]})";

TEST(RecordMapperCsv, ColumnsTakeTheHeadersFields) {
  RecordMapper m(Schema(kCsv));
  EXPECT_EQ(Rows(m, "1,Ann,Paris"), Strings{R"("Paris"|i64:1)"});
  EXPECT_EQ(Rows(m, "2,Bob,Oslo\n"), Strings{R"("Oslo"|i64:2)"});
  EXPECT_EQ(Rows(m, "3,Cy,Rome\r\n"), Strings{R"("Rome"|i64:3)"});
}

TEST(RecordMapperCsv, TheHeaderLineIsSkipped) {
  RecordMapper m(Schema(kCsv));
  for (const char* header :
       {"id,name,city", "id,name,city\n", "id,name,city\r\n", "\"id\",\"name\",city"}) {
    Mapped r = Map(m, header);
    EXPECT_TRUE(r.status.ok()) << header << ": " << r.status.ToString();
    EXPECT_TRUE(r.rows.empty()) << header;
  }
  // Not the header: another order, or other text.
  EXPECT_EQ(Error(m, "name,id,city"), "column 'id' (int64): 'name' is not an integer");
}

TEST(RecordMapperCsv, QuotedFieldsAndTheEmptyStringAgainstNull) {
  RecordMapper m(Schema(kCsv));
  EXPECT_EQ(Rows(m, R"(4,"Ann","Paris, ""FR""")"), Strings{R"("Paris, "FR""|i64:4)"});
  EXPECT_EQ(Rows(m, "5,x,\"two\nlines\""), Strings{"\"two\nlines\"|i64:5"});
  EXPECT_EQ(Rows(m, R"(6,x,"")"), Strings{R"(""|i64:6)"});  // "" is the empty string
  EXPECT_EQ(Rows(m, "7,x,"), Strings{R"(null|i64:7)"});     // an empty field is null
  EXPECT_EQ(Rows(m, R"("8",x,y)"), Strings{R"("y"|i64:8)"});
  // "" in a column that is not a string is null like an empty field.
  EXPECT_EQ(Error(m, R"("",x,y)"), "column 'id' is required, and the record has no value for it");
  EXPECT_EQ(Error(m, ",x,y"), "column 'id' is required, and the record has no value for it");
  EXPECT_EQ(Rows(m, R"(9,x," ")"), Strings{R"(" "|i64:9)"});
}

TEST(RecordMapperCsv, WrongFieldCountsAndMalformedLines) {
  RecordMapper m(Schema(kCsv));
  EXPECT_EQ(Error(m, "1,Ann"), "the CSV line has 2 fields; the schema expects 3");
  EXPECT_EQ(Error(m, "1,Ann,Paris,"), "the CSV line has 4 fields; the schema expects 3");
  EXPECT_EQ(Error(m, "id,name"), "the CSV line has 2 fields; the schema expects 3");
  EXPECT_EQ(Error(m, "1,\"Ann,Paris"), "unterminated quoted field starting at offset 2");
  EXPECT_EQ(Error(m, "1,\"Ann\"x,Paris"), "text after a closing quote at offset 7");
  EXPECT_EQ(Error(m, "1,Ann,Paris\n2,Bob,Oslo"), "line break outside quotes at offset 11");
  EXPECT_EQ(Error(m, "x,Ann,Paris"), "column 'id' (int64): 'x' is not an integer");
}

TEST(RecordMapperCsv, ByPositionWithoutAHeader) {
  RecordMapper m(Schema(R"j({"input": "csv", "csv_delimiter": ";", "columns": [
      {"name": "a", "type": "int32"}, {"name": "b", "type": "boolean"},
      {"name": "c", "type": "decimal(4,1)"}, {"name": "d", "type": "timestamp_us"},
      {"name": "e", "type": "list<int64>"}, {"name": "f", "type": "binary"}]})j"));
  EXPECT_EQ(Rows(m, "1;1;2.25;2024-03-01 12:34:56;[1,2];ab"),
            Strings{R"(i32:1|true|dec:23|i64:1709296496000000|[json][1,2]|"ab")"});
  EXPECT_EQ(Rows(m, ";;;;;"), Strings{"null|null|null|null|null|null"});
  EXPECT_EQ(Rows(m, R"(;;;;"[ 3 ]";"")"), Strings{R"(null|null|null|null|[json][3]|"")"});
  EXPECT_EQ(Error(m, "1,2,3,4,5,6"), "the CSV line has 1 fields; the schema expects 6");
  EXPECT_EQ(Error(m, "1;maybe;;;;"), "column 'b' (boolean): 'maybe' is not true or false");
  EXPECT_EQ(Error(m, "1;1;;;[1;"), "column 'e' (list<int64>): '[1' is not JSON");
  EXPECT_EQ(Error(m, "1;1;;[1];"), "the CSV line has 5 fields; the schema expects 6");
  EXPECT_EQ(Error(m, "1;1;;;{};"), "column 'e' (list<int64>): expected an array, not {}");
}

TEST(RecordMapperCsv, SeveralListAndStructFieldsInOneLine) {
  // Each list or struct value points into a parsed document: one column's parse must not
  // overwrite another's.
  RecordMapper m(Schema(R"({"input": "csv", "columns": [
      {"name": "a", "type": "list<int64>"}, {"name": "j", "type": "json"},
      {"name": "s", "type": "struct<x:string>"}, {"name": "b", "type": "list<string>"}]})"));
  EXPECT_EQ(Rows(m, R"("[1,2]","{""k"": 1}","{""x"": ""y""}","[""p"", ""q"", ""r""]")"),
            Strings{R"([json][1,2]|"{"k":1}"|[json]{"x":"y"}|[json]["p","q","r"])"});
  EXPECT_EQ(Rows(m, R"("[3]",,"{}","[]")"), Strings{R"([json][3]|null|[json]{}|[json][])"});
  EXPECT_EQ(Error(m, R"("[1, ""x""]",,,)"), "column 'a.element' (int64): 'x' is not an integer");
  EXPECT_EQ(Rows(m, R"(,,"{""x"": []}",)"), Strings{R"(null|null|[json]{"x":[]}|null)"});
}

TEST(RecordMapperCsv, BlankRecordsGiveNoRows) {
  RecordMapper m(Schema(kCsv));
  for (const char* blank : {"", "\n", "\r\n"}) {
    Mapped r = Map(m, blank);
    EXPECT_TRUE(r.status.ok()) << "'" << blank << "': " << r.status.ToString();
    EXPECT_TRUE(r.rows.empty());
  }
  // One column: an empty line is still no row, not a null.
  RecordMapper one(Schema(R"({"input": "csv", "columns": [{"name": "a", "type": "string"}]})"));
  EXPECT_TRUE(Rows(one, "").empty());
  EXPECT_EQ(Rows(one, R"("")"), Strings{R"("")"});
  EXPECT_EQ(Rows(one, " "), Strings{R"(" ")"});  // spaces are data in CSV
}

// ---- NewWriter: csv end to end ----

InputRecord Rec(std::string_view data) {
  InputRecord r;
  r.data = data;
  r.partition_key = "pk";
  r.arrival_ms = 1711965600000;
  r.sequence_number = "1";
  r.shard_id = "shardId-000000000000";
  return r;
}

FormatSpec CsvSpec(std::string_view schema) {
  FormatSpec spec;
  spec.file_type = "csv";
  spec.schema = std::make_shared<const TableSchema>(Schema(schema));
  return spec;
}

TEST(CsvWriterEndToEnd, JsonRecordsToTheExactBytes) {
  FormatSpec spec = CsvSpec(R"j({"columns": [
      {"name": "id", "type": "int64", "nullable": false},
      {"name": "name", "type": "string"},
      {"name": "city", "type": "string", "path": "addr.city"},
      {"name": "ts", "type": "timestamp_ms"},
      {"name": "price", "type": "decimal(10,2)"},
      {"name": "ok", "type": "boolean"},
      {"name": "tags", "type": "list<string>"},
      {"name": "meta", "type": "json"},
      {"name": "day", "type": "date"}]})j");
  Result<std::unique_ptr<FileWriter>> w = NewWriter(spec);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  FileWriter& writer = **w;
  EXPECT_TRUE(writer
                  .Add(Rec(R"({"id": 1, "name": "Ann", "addr": {"city": "Paris, FR"},
                                  "ts": "2024-03-01T14:34:56.5+02:00", "price": 12.345,
                                  "ok": true, "tags": ["a", "b"], "meta": {"k": 1},
                                  "day": "2024-02-29"})"))
                  .ok());
  EXPECT_TRUE(writer
                  .Add(Rec(R"({"id": 2, "name": "", "price": "-7", "ok": "FALSE",
                                  "meta": "say \"hi\"", "ts": -1, "day": -1})"))
                  .ok());
  Status missing = writer.Add(Rec(R"({"name": "no id"})"));
  EXPECT_EQ(missing.message(), "column 'id' is required, and the record has no value for it");
  EXPECT_FALSE(writer.Add(Rec("{\"id\": 5}\n{\"id\": \"five\"}")).ok());  // neither line
  EXPECT_FALSE(writer.Add(Rec("not json")).ok());
  EXPECT_TRUE(writer
                  .Add(Rec("{\"id\": 3, \"ts\": \"1969-12-31T23:59:59.9995Z\"}\n"
                           "{\"id\": 4, \"price\": 0.005, \"tags\": []}\n"))
                  .ok());
  EXPECT_EQ(writer.RecordCount(), 3u);
  Result<std::string> file = writer.Finish();
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(*file,
            "id,name,city,ts,price,ok,tags,meta,day\n"
            "1,Ann,\"Paris, FR\",2024-03-01T12:34:56.500Z,12.35,true,\"[\"\"a\"\",\"\"b\"\"]\","
            "\"{\"\"k\"\":1}\",2024-02-29\n"
            "2,\"\",,1969-12-31T23:59:59.999Z,-7.00,false,,\"\"\"say \\\"\"hi\\\"\"\"\"\","
            "1969-12-31\n"
            "3,,,1969-12-31T23:59:59.999Z,,,,,\n"
            "4,,,,0.01,,[],,\n");
}

TEST(CsvWriterEndToEnd, CsvRecordsInAnotherDelimiterOut) {
  FormatSpec spec = CsvSpec(R"({"input": "csv", "csv_header": ["id", "note", "at"],
      "columns": [{"name": "at", "type": "date"}, {"name": "note", "type": "string"},
                  {"name": "id", "type": "int32"}]})");
  spec.csv_delimiter = ';';
  Result<std::unique_ptr<FileWriter>> w = NewWriter(spec);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  FileWriter& writer = **w;
  EXPECT_TRUE(writer.Add(Rec("id,note,at\n")).ok());  // the producer's header line
  EXPECT_TRUE(writer.Add(Rec("1,\"a;b, \"\"c\"\"\",2024-03-01\n")).ok());
  EXPECT_TRUE(writer.Add(Rec("2,\"\",")).ok());
  EXPECT_TRUE(writer.Add(Rec("3,,1969-12-31")).ok());
  EXPECT_FALSE(writer.Add(Rec("4,x,2024-02-30")).ok());
  EXPECT_EQ(writer.RecordCount(), 4u);
  Result<std::string> file = writer.Finish();
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file,
            "at;note;id\n"
            "2024-03-01;\"a;b, \"\"c\"\"\";1\n"
            ";\"\";2\n"
            "1969-12-31;;3\n");
}

TEST(CsvWriterEndToEnd, SpecChecks) {
  FormatSpec spec;
  spec.file_type = "csv";
  EXPECT_EQ(NewWriter(spec).status().message(), "csv files need a schema with columns");
  spec.schema = std::make_shared<const TableSchema>();
  EXPECT_EQ(ValidateSpec(spec).message(), "csv files need a schema with columns");
  spec = CsvSpec(R"({"columns": [{"name": "a", "type": "int64"}]})");
  EXPECT_TRUE(ValidateSpec(spec).ok());
  EXPECT_EQ(FileExtension(spec), ".csv");
  EXPECT_EQ(ContentType(spec), "text/csv");
  spec.compression = "gzip";
  EXPECT_EQ(FileExtension(spec), ".csv.gz");
  spec.csv_header = false;
  spec.compression = "";
  Result<std::unique_ptr<FileWriter>> w = NewWriter(spec);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE((*w)->Add(Rec(R"({"a": 1})")).ok());
  EXPECT_TRUE((*w)->Add(Rec(R"({})")).ok());
  Result<std::string> file = (*w)->Finish();
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, "1\n\n");  // one column: null is an empty line
}

}  // namespace
}  // namespace millrace::formats
