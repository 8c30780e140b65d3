#include "formats/table_schema.h"

#include <set>

namespace millrace::formats {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument(field + ": " + why);
}

// Column names: what every engine takes as an identifier once quoted; no control
// characters, 1-255 bytes.
Status CheckColumnName(const std::string& field, std::string_view name) {
  if (name.empty() || name.size() > 255) return Bad(field, "must be 1 to 255 characters");
  for (char ch : name)
    if (static_cast<unsigned char>(ch) < 0x20)
      return Bad(field, "must not hold control characters");
  return Status::Ok();
}

}  // namespace

parquet::ParquetSchema TableSchema::ToParquet() const {
  parquet::ParquetSchema s;
  for (const TableColumn& c : columns) s.columns.push_back(c.column);
  return s;
}

bool ReadsAsJson(InputFormat input, std::string_view record) {
  if (input != InputFormat::kAuto) return input == InputFormat::kJson;
  size_t i = record.find_first_not_of(" \t\r\n");
  // Blank records give no row, as JSON reads them (CSV would read one empty field).
  return i == std::string_view::npos || record[i] == '{' || record[i] == '[';
}

Result<TableSchema> ParseTableSchema(element schema) {
  if (schema.type() != element_type::OBJECT) return Bad("schema", "must be an object");
  TableSchema t;
  for (auto [key, value] : simdjson::dom::object(schema)) {
    const std::string k(key);
    if (k != "columns" && k != "input" && k != "csv_header" && k != "csv_delimiter" &&
        k != "inferred")
      return Bad("schema." + k,
                 "unknown member (expected columns, input, csv_header, csv_delimiter, inferred)");
  }
  element v;
  if (schema["input"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
    std::string_view input;
    if (v.get(input) != simdjson::SUCCESS || (input != "json" && input != "csv" && input != "auto"))
      return Bad("schema.input", "must be \"auto\", \"json\" or \"csv\"");
    t.input = input == "csv"    ? InputFormat::kCsv
              : input == "json" ? InputFormat::kJson
                                : InputFormat::kAuto;
  }
  if (schema["csv_delimiter"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
    std::string_view d;
    if (v.get(d) != simdjson::SUCCESS || d.size() != 1 || d[0] == '"' || d[0] == '\n' ||
        d[0] == '\r')
      return Bad("schema.csv_delimiter", "must be one character other than '\"' and newlines");
    t.csv_delimiter = d[0];
  }
  if (schema["csv_header"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
    if (v.type() != element_type::ARRAY) return Bad("schema.csv_header", "must be an array");
    std::set<std::string> seen;
    for (element name : simdjson::dom::array(v)) {
      std::string_view n;
      if (name.get(n) != simdjson::SUCCESS)
        return Bad("schema.csv_header", "must be an array of strings");
      MILLRACE_RETURN_IF_ERROR(CheckColumnName("schema.csv_header", n));
      if (!seen.insert(std::string(n)).second)
        return Bad("schema.csv_header", "names '" + std::string(n) + "' twice");
      t.csv_header.emplace_back(n);
    }
    if (t.csv_header.empty()) return Bad("schema.csv_header", "must name at least one field");
  }
  if (!t.csv_header.empty() && t.input == InputFormat::kJson)
    return Bad("schema.csv_header", "only applies to CSV records (\"input\": \"csv\" or \"auto\")");
  if (schema["inferred"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
    if (v.get(t.inferred) != simdjson::SUCCESS) return Bad("schema.inferred", "must be a boolean");
  }
  if (schema["columns"].get(v) == simdjson::SUCCESS && v.type() != element_type::NULL_VALUE) {
    if (v.type() != element_type::ARRAY) return Bad("schema.columns", "must be an array");
    std::set<std::string> names;
    size_t i = 0;
    for (element col : simdjson::dom::array(v)) {
      const std::string field = "schema.columns[" + std::to_string(i++) + "]";
      if (col.type() != element_type::OBJECT)
        return Bad(field, "must be an object with name and type");
      TableColumn c;
      for (auto [key, unused] : simdjson::dom::object(col)) {
        if (key != "name" && key != "type" && key != "nullable" && key != "path")
          return Bad(field + "." + std::string(key),
                     "unknown member (expected name, type, nullable, path)");
      }
      std::string_view name, type, path;
      if (col["name"].get(name) != simdjson::SUCCESS)
        return Bad(field + ".name", "is required (a string)");
      MILLRACE_RETURN_IF_ERROR(CheckColumnName(field + ".name", name));
      c.column.name = std::string(name);
      if (!names.insert(c.column.name).second)
        return Bad(field + ".name", "'" + c.column.name + "' is the name of an earlier column");
      if (col["type"].get(type) != simdjson::SUCCESS)
        return Bad(field + ".type", "is required (a string such as \"int64\")");
      Status st = parquet::ParseColumnType(type, &c.column);
      if (!st.ok()) return Bad(field + ".type", st.message());
      element nullable;
      if (col["nullable"].get(nullable) == simdjson::SUCCESS &&
          nullable.type() != element_type::NULL_VALUE) {
        if (nullable.get(c.column.nullable) != simdjson::SUCCESS)
          return Bad(field + ".nullable", "must be a boolean");
      }
      element p;
      if (col["path"].get(p) == simdjson::SUCCESS && p.type() != element_type::NULL_VALUE) {
        if (p.get(path) != simdjson::SUCCESS) return Bad(field + ".path", "must be a string");
        if (t.input == InputFormat::kCsv)
          return Bad(field + ".path",
                     "only applies to JSON records (\"input\": \"json\" or \"auto\")");
        if (path.empty() || path.front() == '.' || path.back() == '.' ||
            path.find("..") != std::string_view::npos)
          return Bad(field + ".path", "must be object keys separated by dots, like \"a.b\"");
        c.path = std::string(path);
      }
      t.columns.push_back(std::move(c));
    }
    if (t.columns.empty()) return Bad("schema.columns", "must hold at least one column");
    if (t.input != InputFormat::kJson && !t.csv_header.empty()) {
      std::set<std::string> header(t.csv_header.begin(), t.csv_header.end());
      for (const TableColumn& c : t.columns)
        if (!header.count(c.column.name))
          return Bad("schema.columns",
                     "column '" + c.column.name + "' is not a field of schema.csv_header");
    }
  }
  return t;
}

void WriteTableSchema(const TableSchema& t, JsonWriter* w) {
  w->BeginObject();
  if (t.HasColumns()) {
    w->Key("columns");
    w->BeginArray();
    for (const TableColumn& c : t.columns) {
      w->BeginObject();
      w->Key("name");
      w->String(c.column.name);
      w->Key("type");
      w->String(parquet::ColumnTypeString(c.column));
      w->Key("nullable");
      w->Bool(c.column.nullable);
      if (!c.path.empty()) {
        w->Key("path");
        w->String(c.path);
      }
      w->EndObject();
    }
    w->EndArray();
  }
  w->Key("input");
  w->String(t.input == InputFormat::kCsv ? "csv" : t.input == InputFormat::kJson ? "json" : "auto");
  if (!t.csv_header.empty()) {
    w->Key("csv_header");
    w->BeginArray();
    for (const std::string& n : t.csv_header) w->String(n);
    w->EndArray();
  }
  if (t.input != InputFormat::kJson) {
    w->Key("csv_delimiter");
    w->String(std::string_view(&t.csv_delimiter, 1));
  }
  if (t.inferred) {
    w->Key("inferred");
    w->Bool(true);
  }
  w->EndObject();
}

std::string TableSchemaJson(const TableSchema& schema) {
  std::string out;
  JsonWriter w(&out);
  WriteTableSchema(schema, &w);
  return out;
}

}  // namespace millrace::formats
