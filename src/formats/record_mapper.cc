#include "formats/record_mapper.h"

#include <algorithm>

#include "formats/csv/csv_reader.h"
#include "formats/values.h"

namespace millrace::formats {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool Blank(std::string_view s) {
  for (char ch : s)
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return false;
  return true;
}

// `c` with its nested columns named by their path from the top column.
parquet::ParquetColumn Named(parquet::ParquetColumn c, const std::string& path) {
  c.name = path;
  for (parquet::ParquetColumn& child : c.children) {
    const std::string child_path = path + "." + child.name;
    child = Named(std::move(child), child_path);
  }
  return c;
}

// A CSV record that is an empty line: nothing but its one trailing "\n" or "\r\n" (spaces
// are data in CSV).
bool EmptyLine(std::string_view s) { return s.empty() || s == "\n" || s == "\r\n"; }

}  // namespace

RecordMapper::RecordMapper(const TableSchema& schema) : schema_(schema) {
  const size_t n = schema_.columns.size();
  for (const TableColumn& c : schema_.columns) named_.push_back(Named(c.column, c.column.name));
  if (schema_.input != InputFormat::kCsv) {
    for (const TableColumn& c : schema_.columns) {
      std::vector<std::string> parts;
      if (c.path.empty()) {
        parts.push_back(c.column.name);
      } else {
        size_t start = 0;
        for (;;) {
          size_t dot = c.path.find('.', start);
          parts.push_back(c.path.substr(start, dot - start));
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
      }
      size_t k = 0;
      while (k < keys_.size() && keys_[k] != parts[0]) ++k;
      if (k == keys_.size()) keys_.push_back(parts[0]);
      key_of_.push_back(k);
      paths_.push_back(std::move(parts));
    }
    found_.resize(keys_.size());
    have_.resize(keys_.size());
  }
  if (schema_.input != InputFormat::kJson) {
    fields_expected_ = schema_.csv_header.empty() ? n : schema_.csv_header.size();
    for (size_t i = 0; i < n; ++i) {
      size_t field = i;
      for (size_t h = 0; h < schema_.csv_header.size(); ++h)
        if (schema_.csv_header[h] == schema_.columns[i].column.name) field = h;
      field_of_.push_back(field);
    }
  }
}

RecordMapper::Line* RecordMapper::LineAt(size_t i) {
  while (lines_.size() <= i) {
    auto line = std::make_unique<Line>();
    line->scratch.resize(schema_.columns.size());
    if (schema_.input != InputFormat::kJson) line->parsers.resize(schema_.columns.size());
    line->values.resize(schema_.columns.size());
    lines_.push_back(std::move(line));
  }
  return lines_[i].get();
}

Status RecordMapper::CheckNull(size_t column, const parquet::ParquetValue& v) const {
  if (!std::holds_alternative<std::monostate>(v) || schema_.columns[column].column.nullable)
    return Status::Ok();
  return Status::InvalidArgument("column '" + schema_.columns[column].column.name +
                                 "' is required, and the record has no value for it");
}

Status RecordMapper::CheckNested(size_t i, const parquet::ParquetValue& v) {
  const auto* e = std::get_if<element>(&v);
  if (e == nullptr || !checking_nested_) return Status::Ok();
  return CheckNestedValue(*e, schema_.columns[i].column, named_[i]);
}

Status RecordMapper::CheckNestedValue(element v, const parquet::ParquetColumn& c,
                                      const parquet::ParquetColumn& named) {
  auto check = [&](element child, size_t k) -> Status {
    parquet::ParquetValue out;
    MILLRACE_RETURN_IF_ERROR(JsonToValue(child, named.children[k], &nested_scratch_, &out));
    if (!std::holds_alternative<element>(out)) return Status::Ok();
    return CheckNestedValue(child, c.children[k], named.children[k]);
  };
  simdjson::dom::array array;
  simdjson::dom::object object;
  if (c.type == ColumnType::kList && v.get_array().get(array) == simdjson::SUCCESS) {
    for (element child : array) MILLRACE_RETURN_IF_ERROR(check(child, 0));
  } else if (c.type == ColumnType::kStruct && v.get_object().get(object) == simdjson::SUCCESS) {
    for (size_t k = 0; k < c.children.size(); ++k) {
      element field;  // a missing field is null; members without a field are ignored
      if (object.at_key(c.children[k].name).get(field) == simdjson::SUCCESS)
        MILLRACE_RETURN_IF_ERROR(check(field, k));
    }
  }
  return Status::Ok();
}

Status RecordMapper::MapJson(std::string_view text, Line* line) {
  element doc;
  simdjson::error_code ec = line->parser.parse(text.data(), text.size()).get(doc);
  if (ec != simdjson::SUCCESS)
    return Status::InvalidArgument(std::string("the record is not valid JSON (") +
                                   simdjson::error_message(ec) + ")");
  return MapDocument(doc, line);
}

Status RecordMapper::MapDocument(simdjson::dom::element doc, Line* line) {
  simdjson::dom::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS)
    return Status::InvalidArgument("the record is not a JSON object");
  // One pass over the members finds every column's first key (the first of a repeated
  // member wins, as at_key would have it).
  std::fill(have_.begin(), have_.end(), false);
  size_t m = 0;
  for (auto [key, value] : object) {
    if (m >= guess_.size()) guess_.push_back(-1);
    int k = guess_[m];
    if (k < 0 || keys_[k] != key) {
      k = -1;
      for (size_t j = 0; j < keys_.size(); ++j) {
        if (keys_[j] == key) {
          k = static_cast<int>(j);
          break;
        }
      }
      guess_[m] = k;
    }
    if (k >= 0 && !have_[k]) {
      have_[k] = true;
      found_[k] = value;
    }
    ++m;
  }
  for (size_t i = 0; i < paths_.size(); ++i) {
    element v = found_[key_of_[i]];
    bool found = have_[key_of_[i]];
    for (size_t p = 1; found && p < paths_[i].size(); ++p) {
      if (v.type() != element_type::OBJECT || v.at_key(paths_[i][p]).get(v) != simdjson::SUCCESS)
        found = false;
    }
    parquet::ParquetValue& out = line->values[i];
    if (!found) {
      out = std::monostate{};
    } else {
      MILLRACE_RETURN_IF_ERROR(JsonToValue(v, schema_.columns[i].column, &line->scratch[i], &out));
      MILLRACE_RETURN_IF_ERROR(CheckNested(i, out));
    }
    MILLRACE_RETURN_IF_ERROR(CheckNull(i, out));
  }
  return Status::Ok();
}

Status RecordMapper::MapCsv(std::string_view text, Line* line, bool* header) {
  *header = false;
  MILLRACE_RETURN_IF_ERROR(
      csv::SplitCsvRecord(text, schema_.csv_delimiter, &fields_, &csv_scratch_, &quoted_));
  if (!schema_.csv_header.empty() && fields_.size() == schema_.csv_header.size()) {
    bool same = true;
    for (size_t f = 0; f < fields_.size() && same; ++f) same = fields_[f] == schema_.csv_header[f];
    if (same) {
      *header = true;
      return Status::Ok();
    }
  }
  if (fields_.size() != fields_expected_)
    return Status::InvalidArgument("the CSV line has " + std::to_string(fields_.size()) +
                                   " fields; the schema expects " +
                                   std::to_string(fields_expected_));
  for (size_t i = 0; i < field_of_.size(); ++i) {
    const size_t f = field_of_[i];
    const parquet::ParquetColumn& c = schema_.columns[i].column;
    parquet::ParquetValue& out = line->values[i];
    if (fields_[f].empty() && quoted_[f] &&
        (c.type == ColumnType::kString || c.type == ColumnType::kBinary)) {
      out = std::string_view();  // "" is an empty string; an empty field is null
    } else {
      MILLRACE_RETURN_IF_ERROR(
          TextToValue(fields_[f], c, &line->parsers[i], &line->scratch[i], &out));
      MILLRACE_RETURN_IF_ERROR(CheckNested(i, out));
    }
    MILLRACE_RETURN_IF_ERROR(CheckNull(i, out));
  }
  return Status::Ok();
}

Status RecordMapper::Map(std::string_view record, const RowSink& sink) {
  // A record of one row is all or nothing in a sink that checks nested values itself.
  checking_nested_ = !sink_checks_nested_;
  if (!ReadsAsJson(schema_.input, record)) {
    if (EmptyLine(record)) return Status::Ok();  // a blank line: no row (not one null field)
    // "auto" checks a CSV line's UTF-8 here, so that the Parquet writer need not re-check
    // the strings of every record (JSON records' simdjson has checked).
    if (schema_.input == InputFormat::kAuto &&
        !simdjson::validate_utf8(record.data(), record.size()))
      return Status::InvalidArgument(
          "the record is not JSON (it does not start with '{' or '['), nor a CSV line of UTF-8 "
          "text");
    Line* line = LineAt(0);
    bool header;
    Status st = MapCsv(record, line, &header);
    if (!st.ok() && schema_.input == InputFormat::kAuto && st.message().starts_with("the CSV line"))
      // Most likely a record meant as JSON that is not: say both readings.
      return Status::InvalidArgument(
          "the record is not JSON (it does not start with '{' or '['), and as a CSV line: " +
          st.message().substr(4));
    MILLRACE_RETURN_IF_ERROR(st);
    if (header) return Status::Ok();
    return sink(line->values);
  }
  // JSON: one object, or one per line. Most records are one line: no split.
  if (Blank(record)) return Status::Ok();
  size_t newline = record.find('\n');
  if (newline == std::string_view::npos || Blank(record.substr(newline))) {
    Line* line = LineAt(0);
    MILLRACE_RETURN_IF_ERROR(MapJson(record, line));
    return sink(line->values);
  }
  // Several lines that are one value (pretty-printed JSON) are one record.
  {
    Line* line = LineAt(0);
    element doc;
    if (line->parser.parse(record.data(), record.size()).get(doc) == simdjson::SUCCESS) {
      MILLRACE_RETURN_IF_ERROR(MapDocument(doc, line));
      return sink(line->values);
    }
  }
  checking_nested_ = true;  // several rows: each checked whole before any is handed over
  size_t count = 0, start = 0;
  while (start < record.size()) {
    size_t end = record.find('\n', start);
    if (end == std::string_view::npos) end = record.size();
    std::string_view text = record.substr(start, end - start);
    start = end + 1;
    if (Blank(text)) continue;
    Status st = MapJson(text, LineAt(count));
    if (!st.ok())
      return Status::InvalidArgument("line " + std::to_string(count + 1) + ": " + st.message());
    ++count;
  }
  for (size_t i = 0; i < count; ++i) MILLRACE_RETURN_IF_ERROR(sink(lines_[i]->values));
  return Status::Ok();
}

}  // namespace millrace::formats
