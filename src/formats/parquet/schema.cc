#include "formats/parquet/schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>

#include "common/json_writer.h"

namespace millrace::formats::parquet {

const char* ColumnTypeName(ColumnType t) {
  switch (t) {
    case ColumnType::kBoolean:
      return "boolean";
    case ColumnType::kInt32:
      return "int32";
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat:
      return "float";
    case ColumnType::kDouble:
      return "double";
    case ColumnType::kString:
      return "string";
    case ColumnType::kBinary:
      return "binary";
    case ColumnType::kDate:
      return "date";
    case ColumnType::kTimestampMillis:
      return "timestamp_ms";
    case ColumnType::kTimestampMicros:
      return "timestamp_us";
    case ColumnType::kDecimal:
      return "decimal";
    case ColumnType::kJson:
      return "json";
    case ColumnType::kList:
      return "list";
    case ColumnType::kStruct:
      return "struct";
  }
  return "?";
}

namespace {

// A recursive-descent reader of ParseColumnType's grammar.
class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Status Parse(ParquetColumn* c) {
    MILLRACE_RETURN_IF_ERROR(Type(c, 0));
    Skip();
    if (pos_ != text_.size()) return Error("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return Status::Ok();
  }

 private:
  static constexpr int kMaxDepth = 32;

  Status Error(const std::string& why) const {
    return Status::InvalidArgument("type '" + std::string(text_) + "': " + why);
  }
  void Skip() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool Eat(char ch) {
    Skip();
    if (pos_ < text_.size() && text_[pos_] == ch) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string_view Word() {
    Skip();
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
                                   text_[pos_] == '_' || text_[pos_] == '$' || text_[pos_] == '-'))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  Status Number(int* out) {
    Skip();
    size_t start = pos_;
    int v = 0;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) &&
           pos_ - start < 4)
      v = v * 10 + (text_[pos_++] - '0');
    if (pos_ == start) return Error("expected a number at offset " + std::to_string(pos_));
    *out = v;
    return Status::Ok();
  }
  Status FieldName(std::string* out) {
    Skip();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      size_t end = text_.find('"', pos_ + 1);
      if (end == std::string_view::npos) return Error("unterminated quoted field name");
      *out = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
    } else {
      *out = std::string(Word());
    }
    if (out->empty()) return Error("expected a field name at offset " + std::to_string(pos_));
    return Status::Ok();
  }

  Status Type(ParquetColumn* c, int depth) {
    if (depth > kMaxDepth) return Error("nested more than 32 deep");
    size_t at = pos_;
    std::string_view w = Word();
    static const std::pair<const char*, ColumnType> kScalars[] = {
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
    for (const auto& [name, type] : kScalars) {
      if (w == name) {
        c->type = type;
        return Status::Ok();
      }
    }
    if (w == "decimal") {
      c->type = ColumnType::kDecimal;
      if (!Eat('(')) return Error("decimal needs (precision,scale)");
      MILLRACE_RETURN_IF_ERROR(Number(&c->precision));
      if (!Eat(',')) return Error("decimal needs (precision,scale)");
      MILLRACE_RETURN_IF_ERROR(Number(&c->scale));
      if (!Eat(')')) return Error("expected ')' after the decimal's scale");
      if (c->precision < 1 || c->precision > 38 || c->scale > c->precision)
        return Error("decimal(" + std::to_string(c->precision) + "," + std::to_string(c->scale) +
                     ") needs 1 <= precision <= 38 and 0 <= scale <= precision");
      return Status::Ok();
    }
    if (w == "list") {
      c->type = ColumnType::kList;
      if (!Eat('<')) return Error("list needs <element type>");
      ParquetColumn element;
      element.name = "element";
      MILLRACE_RETURN_IF_ERROR(Type(&element, depth + 1));
      if (!Eat('>')) return Error("expected '>' to close list<");
      c->children = {std::move(element)};
      return Status::Ok();
    }
    if (w == "struct") {
      c->type = ColumnType::kStruct;
      if (!Eat('<')) return Error("struct needs <name:type,...>");
      std::set<std::string> names;
      do {
        ParquetColumn field;
        MILLRACE_RETURN_IF_ERROR(FieldName(&field.name));
        if (!names.insert(field.name).second)
          return Error("struct field '" + field.name + "' appears twice");
        if (!Eat(':')) return Error("expected ':' after struct field '" + field.name + "'");
        MILLRACE_RETURN_IF_ERROR(Type(&field, depth + 1));
        c->children.push_back(std::move(field));
      } while (Eat(','));
      if (!Eat('>')) return Error("expected '>' to close struct<");
      return Status::Ok();
    }
    if (w.empty()) return Error("expected a type at offset " + std::to_string(at));
    return Error("unknown type '" + std::string(w) +
                 "' (expected string, binary, boolean, int32, int64, float, double, date, "
                 "timestamp_ms, timestamp_us, decimal(p,s), json, list<T> or struct<...>)");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool PlainFieldName(std::string_view name) {
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$' || ch == '-'))
      return false;
  return !name.empty();
}

}  // namespace

Status ParseColumnType(std::string_view text, ParquetColumn* column) {
  column->children.clear();
  column->precision = column->scale = 0;
  return TypeParser(text).Parse(column);
}

std::string ColumnTypeString(const ParquetColumn& c) {
  switch (c.type) {
    case ColumnType::kDecimal:
      return "decimal(" + std::to_string(c.precision) + "," + std::to_string(c.scale) + ")";
    case ColumnType::kList:
      return "list<" + (c.children.empty() ? std::string("?") : ColumnTypeString(c.children[0])) +
             ">";
    case ColumnType::kStruct: {
      std::string s = "struct<";
      for (size_t i = 0; i < c.children.size(); ++i) {
        if (i) s += ",";
        const std::string& n = c.children[i].name;
        s += PlainFieldName(n) ? n : "\"" + n + "\"";
        s += ":" + ColumnTypeString(c.children[i]);
      }
      return s + ">";
    }
    default:
      return ColumnTypeName(c.type);
  }
}

namespace {

// The deepest nesting ParseColumnType accepts; it keeps every level within a byte.
constexpr int kMaxNestingDepth = 32;

// Checks `c` and its subtree; `path` is its dotted path for messages ("a.b").
Status ValidateColumn(const ParquetColumn& c, const std::string& path, int depth) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("parquet column '" + path + "': " + why);
  };
  if (depth > kMaxNestingDepth) return bad("nested more than 32 deep");
  switch (c.type) {
    case ColumnType::kDecimal:
      if (c.precision < 1 || c.precision > 38 || c.scale < 0 || c.scale > c.precision)
        return bad("decimal(" + std::to_string(c.precision) + "," + std::to_string(c.scale) +
                   ") needs 1 <= precision <= 38 and 0 <= scale <= precision");
      break;
    case ColumnType::kList:
      if (c.children.size() != 1) return bad("a list needs exactly one element type");
      return ValidateColumn(c.children[0], path + ".element", depth + 1);
    case ColumnType::kStruct: {
      if (c.children.empty()) return bad("a struct needs at least one field");
      std::set<std::string> names;
      for (const ParquetColumn& field : c.children) {
        if (field.name.empty()) return bad("a struct field with an empty name");
        if (!names.insert(field.name).second)
          return bad("struct field '" + field.name + "' appears twice");
        MILLRACE_RETURN_IF_ERROR(ValidateColumn(field, path + "." + field.name, depth + 1));
      }
      return Status::Ok();
    }
    default:
      break;
  }
  if (!c.children.empty()) return bad("only lists and structs have children");
  return Status::Ok();
}

}  // namespace

Status ValidateSchema(const ParquetSchema& schema) {
  if (schema.columns.empty()) return Status::InvalidArgument("parquet schema has no columns");
  std::set<std::string> names;
  for (const ParquetColumn& c : schema.columns) {
    if (c.name.empty()) return Status::InvalidArgument("parquet column with an empty name");
    if (!names.insert(c.name).second)
      return Status::InvalidArgument("parquet column '" + c.name + "' appears twice");
    MILLRACE_RETURN_IF_ERROR(ValidateColumn(c, c.name, 0));
  }
  return Status::Ok();
}

Int128 Pow10(int n) {
  // A table: decimals ask for it per value (limits, scaling).
  static const auto kTable = [] {
    std::array<Int128, 39> t{};
    t[0] = 1;
    for (size_t i = 1; i < t.size(); ++i) t[i] = t[i - 1] * 10;
    return t;
  }();
  if (n >= 0 && n < static_cast<int>(kTable.size())) return kTable[static_cast<size_t>(n)];
  Int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

std::string Int128ToString(Int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(v) : v;
  std::string s;
  while (u != 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

int DecimalByteWidth(int precision) {
  // The fewest n with 2^(8n-1) > 10^precision - 1.
  int n = 1;
  while ((8.0 * n - 1) < std::ceil(precision * std::log2(10.0))) ++n;
  return n;
}

SchemaElement ToSchemaElement(const ParquetColumn& c) {
  SchemaElement e;
  e.name = c.name;
  e.repetition = c.nullable ? Repetition::kOptional : Repetition::kRequired;
  switch (c.type) {
    case ColumnType::kBoolean:
      e.type = PhysicalType::kBoolean;
      break;
    case ColumnType::kInt32:
      e.type = PhysicalType::kInt32;
      break;
    case ColumnType::kInt64:
      e.type = PhysicalType::kInt64;
      break;
    case ColumnType::kFloat:
      e.type = PhysicalType::kFloat;
      break;
    case ColumnType::kDouble:
      e.type = PhysicalType::kDouble;
      break;
    case ColumnType::kString:
      e.type = PhysicalType::kByteArray;
      e.converted_type = ConvertedType::kUtf8;
      e.logical_type.kind = LogicalType::Kind::kString;
      break;
    case ColumnType::kBinary:
      e.type = PhysicalType::kByteArray;
      break;
    case ColumnType::kJson:  // JSON text, annotated STRING so that every reader shows it
      e.type = PhysicalType::kByteArray;
      e.converted_type = ConvertedType::kUtf8;
      e.logical_type.kind = LogicalType::Kind::kString;
      break;
    case ColumnType::kDate:
      e.type = PhysicalType::kInt32;
      e.converted_type = ConvertedType::kDate;
      e.logical_type.kind = LogicalType::Kind::kDate;
      break;
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros: {
      bool ms = c.type == ColumnType::kTimestampMillis;
      e.type = PhysicalType::kInt64;
      // The converted types mean "UTC-adjusted", which is what we write.
      e.converted_type = ms ? ConvertedType::kTimestampMillis : ConvertedType::kTimestampMicros;
      e.logical_type.kind = LogicalType::Kind::kTimestamp;
      e.logical_type.unit = ms ? LogicalType::TimeUnit::kMillis : LogicalType::TimeUnit::kMicros;
      e.logical_type.adjusted_to_utc = true;
      break;
    }
    case ColumnType::kDecimal:
      if (c.precision <= 9) {
        e.type = PhysicalType::kInt32;
      } else if (c.precision <= 18) {
        e.type = PhysicalType::kInt64;
      } else {
        e.type = PhysicalType::kFixedLenByteArray;
        e.type_length = DecimalByteWidth(c.precision);
      }
      e.converted_type = ConvertedType::kDecimal;
      e.precision = c.precision;
      e.scale = c.scale;
      e.logical_type.kind = LogicalType::Kind::kDecimal;
      e.logical_type.precision = c.precision;
      e.logical_type.scale = c.scale;
      break;
    case ColumnType::kList:  // the outer group of the 3-level list (shredder.h)
      e.num_children = 1;
      e.converted_type = ConvertedType::kList;
      e.logical_type.kind = LogicalType::Kind::kList;
      break;
    case ColumnType::kStruct:
      e.num_children = static_cast<int32_t>(c.children.size());
      break;
  }
  return e;
}

std::string SchemaJson(const ParquetSchema& schema) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const ParquetColumn& c : schema.columns) {
    w.BeginObject();
    w.Key("name");
    w.String(c.name);
    w.Key("type");
    w.String(ColumnTypeString(c));
    w.Key("nullable");
    w.Bool(c.nullable);
    if (c.type == ColumnType::kDecimal) {
      w.Key("precision");
      w.Int(c.precision);
      w.Key("scale");
      w.Int(c.scale);
    }
    w.EndObject();
  }
  w.EndArray();
  return out;
}

}  // namespace millrace::formats::parquet
