#include "formats/infer.h"

#include <charconv>
#include <string>
#include <vector>

#include "formats/csv/csv_reader.h"
#include "formats/values.h"

namespace millrace::formats {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr int kMaxDepth = 32;

enum class Kind {
  kUnknown,
  kBoolean,
  kInt64,
  kDouble,
  kDate,
  kTimestamp,
  kString,
  kJson,
  kList,
  kStruct
};

struct Node {
  Kind kind = Kind::kUnknown;
  std::vector<std::pair<std::string, Node>> fields;  // kStruct: in first-seen order
  std::vector<Node> element;                         // kList: one

  bool operator==(const Node& o) const {
    return kind == o.kind && fields == o.fields && element == o.element;
  }
};

bool Scalar(Kind k) { return k != Kind::kList && k != Kind::kStruct && k != Kind::kJson; }

// Names the inferred schema can carry, so that the dataset document it is stored in reads
// back (table_schema.cc's column names; parquet::ParseColumnType's quoted field names).
bool ColumnName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char ch : name)
    if (static_cast<unsigned char>(ch) < 0x20) return false;
  return true;
}
bool FieldName(std::string_view name) {
  return !name.empty() && name.find('"') == std::string_view::npos;
}

void Join(Node* into, const Node& other, int depth);

void JoinField(Node* into, const std::string& name, const Node& value, int depth) {
  for (auto& [n, v] : into->fields) {
    if (n == name) {
      Join(&v, value, depth + 1);
      return;
    }
  }
  if (into->fields.size() < kMaxInferredColumns) into->fields.emplace_back(name, value);
}

void Join(Node* into, const Node& other, int depth) {
  if (other.kind == Kind::kUnknown || into->kind == Kind::kJson) return;
  if (into->kind == Kind::kUnknown) {
    *into = other;
    return;
  }
  if (into->kind == other.kind) {
    if (depth > kMaxDepth && !Scalar(into->kind)) {  // (FromJson's limit: equal scalars stay)
      *into = Node{Kind::kJson};
    } else if (into->kind == Kind::kStruct) {
      for (const auto& [name, value] : other.fields) JoinField(into, name, value, depth);
    } else if (into->kind == Kind::kList) {
      Join(&into->element[0], other.element[0], depth + 1);
    }
    return;
  }
  Kind a = into->kind, b = other.kind;
  Node joined;
  if (!Scalar(a) || !Scalar(b)) {
    joined.kind = Kind::kJson;
  } else if ((a == Kind::kInt64 && b == Kind::kDouble) ||
             (a == Kind::kDouble && b == Kind::kInt64)) {
    joined.kind = Kind::kDouble;
  } else if ((a == Kind::kDate && b == Kind::kTimestamp) ||
             (a == Kind::kTimestamp && b == Kind::kDate)) {
    joined.kind = Kind::kTimestamp;
  } else {
    joined.kind = Kind::kString;
  }
  *into = std::move(joined);
}

Kind TextKind(std::string_view s) {
  int64_t micros;
  int32_t days;
  if (ParseIsoDate(s, &days)) return Kind::kDate;
  if (s.size() > 10 && ParseIsoTimestamp(s, &micros)) return Kind::kTimestamp;
  return Kind::kString;
}

Node FromJson(element v, int depth) {
  Node n;
  switch (v.type()) {
    case element_type::NULL_VALUE:
      break;
    case element_type::BOOL:
      n.kind = Kind::kBoolean;
      break;
    case element_type::INT64:
      n.kind = Kind::kInt64;
      break;
    case element_type::UINT64:  // past int64: only a double holds it
    case element_type::DOUBLE:
      n.kind = Kind::kDouble;
      break;
    case element_type::STRING:
      n.kind = TextKind(std::string_view(v));
      break;
    case element_type::ARRAY:
      if (depth > kMaxDepth) return Node{Kind::kJson};
      n.kind = Kind::kList;
      n.element.emplace_back();
      for (element e : simdjson::dom::array(v)) Join(&n.element[0], FromJson(e, depth + 1), depth);
      break;
    case element_type::OBJECT:
      if (depth > kMaxDepth) return Node{Kind::kJson};
      n.kind = Kind::kStruct;
      for (auto [key, value] : simdjson::dom::object(v)) {
        if (!FieldName(key)) return Node{Kind::kJson};  // a field no struct type can name
        JoinField(&n, std::string(key), FromJson(value, depth + 1), depth);
      }
      if (n.fields.empty()) n.kind = Kind::kJson;  // {} has no field to make a struct of
      break;
  }
  return n;
}

Node FromText(std::string_view s) {
  Node n;
  if (s.empty()) return n;
  int64_t i;
  double d;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size()) {
    n.kind = Kind::kInt64;
  } else if (auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
             ec2 == std::errc() && q == s.data() + s.size()) {
    n.kind = Kind::kDouble;
  } else if (s == "true" || s == "false" || s == "TRUE" || s == "FALSE" || s == "True" ||
             s == "False") {
    n.kind = Kind::kBoolean;
  } else {
    n.kind = TextKind(s);
  }
  return n;
}

Node FromColumn(const parquet::ParquetColumn& c) {
  Node n;
  switch (c.type) {
    case ColumnType::kBoolean:
      n.kind = Kind::kBoolean;
      break;
    case ColumnType::kInt32:
    case ColumnType::kInt64:
      n.kind = Kind::kInt64;
      break;
    case ColumnType::kFloat:
    case ColumnType::kDouble:
    case ColumnType::kDecimal:
      n.kind = Kind::kDouble;
      break;
    case ColumnType::kDate:
      n.kind = Kind::kDate;
      break;
    case ColumnType::kTimestampMillis:
    case ColumnType::kTimestampMicros:
      n.kind = Kind::kTimestamp;
      break;
    case ColumnType::kString:
    case ColumnType::kBinary:
      n.kind = Kind::kString;
      break;
    case ColumnType::kJson:
      n.kind = Kind::kJson;
      break;
    case ColumnType::kList:
      n.kind = Kind::kList;
      n.element.push_back(FromColumn(c.children[0]));
      break;
    case ColumnType::kStruct:
      n.kind = Kind::kStruct;
      for (const auto& f : c.children) n.fields.emplace_back(f.name, FromColumn(f));
      break;
  }
  return n;
}

parquet::ParquetColumn ToColumn(const std::string& name, const Node& n) {
  parquet::ParquetColumn c;
  c.name = name;
  c.nullable = true;
  switch (n.kind) {
    case Kind::kUnknown:
    case Kind::kString:
      c.type = ColumnType::kString;
      break;
    case Kind::kBoolean:
      c.type = ColumnType::kBoolean;
      break;
    case Kind::kInt64:
      c.type = ColumnType::kInt64;
      break;
    case Kind::kDouble:
      c.type = ColumnType::kDouble;
      break;
    case Kind::kDate:
      c.type = ColumnType::kDate;
      break;
    case Kind::kTimestamp:
      c.type = ColumnType::kTimestampMicros;
      break;
    case Kind::kJson:
      c.type = ColumnType::kJson;
      break;
    case Kind::kList:
      c.type = ColumnType::kList;
      c.children.push_back(ToColumn("element", n.element[0]));
      break;
    case Kind::kStruct:
      c.type = ColumnType::kStruct;
      for (const auto& [fname, f] : n.fields) c.children.push_back(ToColumn(fname, f));
      break;
  }
  return c;
}

}  // namespace

struct SchemaInferrer::Impl {
  TableSchema start;
  Node root{Kind::kStruct};  // the columns as the fields of one struct
  // "input": "auto": CSV records widen a root of their own, and the kind of the most
  // records (JSON on a tie) becomes the schema's input (Schema()).
  Node csv_root{Kind::kStruct};
  size_t json_rows = 0, csv_rows = 0;
  Node& CsvRoot() { return start.input == InputFormat::kAuto ? csv_root : root; }
  simdjson::dom::parser parser;
  std::vector<std::string_view> fields;
  std::vector<bool> quoted;
  std::string scratch;

  // Whether `text` is one JSON value (observed if it is an object).
  bool ObserveJsonLine(std::string_view text) {
    element doc;
    if (parser.parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS) return false;
    if (doc.type() != element_type::OBJECT) return true;
    ++json_rows;
    for (auto [key, value] : simdjson::dom::object(doc))
      if (ColumnName(key)) JoinField(&root, std::string(key), FromJson(value, 1), 0);
    return true;
  }

  void ObserveCsv(std::string_view text) {
    if (text.empty() || text == "\n" || text == "\r\n") return;  // a blank line: no row
    if (!csv::SplitCsvRecord(text, start.csv_delimiter, &fields, &scratch, &quoted).ok()) return;
    const std::vector<std::string>& header = start.csv_header;
    if (!header.empty()) {
      if (fields.size() != header.size()) return;
      bool same = true;
      for (size_t i = 0; i < fields.size() && same; ++i) same = fields[i] == header[i];
      if (same) return;  // the header line itself
    }
    ++csv_rows;
    for (size_t i = 0; i < fields.size() && i < kMaxInferredColumns; ++i) {
      std::string name = header.empty() ? "col_" + std::to_string(i + 1) : header[i];
      Node n = quoted[i] && fields[i].empty() ? Node{Kind::kString} : FromText(fields[i]);
      JoinField(&CsvRoot(), name, n, 0);
    }
  }
};

SchemaInferrer::SchemaInferrer(const TableSchema& start) : impl_(std::make_unique<Impl>()) {
  impl_->start = start;
  for (const TableColumn& c : start.columns)
    impl_->root.fields.emplace_back(c.column.name, FromColumn(c.column));
}

SchemaInferrer::~SchemaInferrer() = default;

void SchemaInferrer::Observe(std::string_view record) {
  if (!ReadsAsJson(impl_->start.input, record)) {
    impl_->ObserveCsv(record);
    return;
  }
  // One object (perhaps pretty-printed over several lines), or JSON lines.
  if (impl_->ObserveJsonLine(record) || record.find('\n') == std::string_view::npos) return;
  size_t start = 0;
  while (start < record.size()) {
    size_t end = record.find('\n', start);
    if (end == std::string_view::npos) end = record.size();
    impl_->ObserveJsonLine(record.substr(start, end - start));
    start = end + 1;
  }
}

TableSchema SchemaInferrer::Schema() const {
  TableSchema t = impl_->start;
  t.columns.clear();
  const Node* root = &impl_->root;
  if (t.input == InputFormat::kAuto && impl_->csv_rows + impl_->json_rows > 0) {
    // The records settle the input: what does not match it fails conversion, by name.
    const bool csv = impl_->csv_rows > impl_->json_rows;
    t.input = csv ? InputFormat::kCsv : InputFormat::kJson;
    if (csv) root = &impl_->csv_root;
  }
  for (const auto& [name, node] : root->fields) {
    TableColumn c;
    c.column = ToColumn(name, node);
    // A column the dataset already had keeps its path.
    for (const TableColumn& old : impl_->start.columns)
      if (old.column.name == name) c.path = old.path;
    t.columns.push_back(std::move(c));
  }
  t.inferred = true;
  return t;
}

bool SchemaInferrer::Changed() const {
  const TableSchema now = Schema();
  if (now.input != impl_->start.input) return true;
  if (now.columns.size() != impl_->start.columns.size()) return true;
  for (size_t i = 0; i < now.columns.size(); ++i)
    if (parquet::ColumnTypeString(now.columns[i].column) !=
            parquet::ColumnTypeString(impl_->start.columns[i].column) ||
        now.columns[i].column.name != impl_->start.columns[i].column.name ||
        !impl_->start.columns[i].column.nullable)
      return true;
  return false;
}

}  // namespace millrace::formats
