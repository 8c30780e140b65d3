#include "formats/parquet/shredder.h"

#include <cassert>
#include <utility>

#include "formats/values.h"

namespace millrace::formats::parquet {

namespace {

// Staging kept from row to row: per leaf up to this many entries, and as many scratch
// strings of up to kKeptTextBytes each; a larger row's staging is released after it.
constexpr size_t kKeptEntries = 4096;
constexpr size_t kKeptTextBytes = 64 << 10;

void AppendElements(const ParquetColumn& c, bool top, std::vector<SchemaElement>* out) {
  SchemaElement e = ToSchemaElement(c);
  if (!top) e.repetition = Repetition::kOptional;  // elements and fields are nullable
  if (c.type != ColumnType::kList) {
    out->push_back(std::move(e));
    for (const ParquetColumn& field : c.children) AppendElements(field, false, out);
    return;
  }
  out->push_back(std::move(e));
  SchemaElement list;
  list.name = "list";
  list.repetition = Repetition::kRepeated;
  list.num_children = 1;
  out->push_back(std::move(list));
  ParquetColumn element = c.children[0];
  element.name = "element";
  AppendElements(element, false, out);
}

// LeafColumns for the subtree of `c`, reached at `definition` and `repetition` levels.
void CollectLeaves(const ParquetColumn& c, const std::string& name, std::vector<std::string> path,
                   bool optional, int definition, int repetition, std::vector<LeafColumn>* out) {
  definition += optional;
  switch (c.type) {
    case ColumnType::kList: {
      path.push_back("list");
      path.push_back("element");
      CollectLeaves(c.children[0], name + ".element", std::move(path), true, definition + 1,
                    repetition + 1, out);
      return;
    }
    case ColumnType::kStruct:
      for (const ParquetColumn& field : c.children) {
        std::vector<std::string> p = path;
        p.push_back(field.name);
        CollectLeaves(field, name + "." + field.name, std::move(p), true, definition, repetition,
                      out);
      }
      return;
    default: {
      LeafColumn& leaf = out->emplace_back();
      leaf.column = c;
      leaf.column.name = name;
      leaf.column.nullable = optional;
      leaf.path = std::move(path);
      leaf.max_definition = definition;
      leaf.max_repetition = repetition;
      return;
    }
  }
}

}  // namespace

void AppendSchemaElements(const ParquetColumn& column, std::vector<SchemaElement>* out) {
  AppendElements(column, true, out);
}

std::vector<LeafColumn> LeafColumns(const ParquetColumn& column) {
  std::vector<LeafColumn> leaves;
  CollectLeaves(column, column.name, {column.name}, column.nullable, 0, 0, &leaves);
  return leaves;
}

Shredder::Shredder(const ParquetColumn& column, std::vector<ColumnWriter*> leaves)
    : leaves_(std::move(leaves)) {
  Build(column, column.name, column.nullable, 0, 0, 0);
  staged_.resize(leaves_.size());
  assert(nodes_[0].leaf_end == leaves_.size());
}

size_t Shredder::Build(const ParquetColumn& column, std::string path, bool optional, int definition,
                       int repetition, size_t leaf_begin) {
  // The same levels as CollectLeaves, kept per node for shredding.
  const size_t n = nodes_.size();
  nodes_.emplace_back();
  nodes_[n].column = column;
  nodes_[n].column.name = path;
  nodes_[n].field = column.name;
  nodes_[n].optional = optional;
  nodes_[n].keeps_text = column.type == ColumnType::kString || column.type == ColumnType::kJson ||
                         column.type == ColumnType::kBinary;
  nodes_[n].definition = definition + optional;
  nodes_[n].leaf_begin = leaf_begin;
  size_t leaves = leaf_begin;
  switch (column.type) {
    case ColumnType::kList: {
      nodes_[n].repetition = repetition + 1;
      size_t child = Build(column.children[0], path + ".element", true, nodes_[n].definition + 1,
                           repetition + 1, leaves);
      nodes_[n].children = {child};
      leaves = nodes_[child].leaf_end;
      break;
    }
    case ColumnType::kStruct:
      for (const ParquetColumn& field : column.children) {
        // Build appends to nodes_: index, never hold a reference across it.
        size_t child =
            Build(field, path + "." + field.name, true, nodes_[n].definition, repetition, leaves);
        nodes_[n].children.push_back(child);
        leaves = nodes_[child].leaf_end;
      }
      break;
    default: {
      assert(leaves < leaves_.size());
      [[maybe_unused]] const LeafColumn& leaf = leaves_[leaves]->leaf();
      assert(leaf.max_definition == nodes_[n].definition && leaf.max_repetition == repetition);
      ++leaves;
      break;
    }
  }
  nodes_[n].leaf_end = leaves;
  return n;
}

std::string* Shredder::NextScratch() {
  if (scratch_used_ == scratch_.size()) scratch_.emplace_back();
  return &scratch_[scratch_used_];
}

void Shredder::Undefined(size_t n, int repetition, int definition) {
  const Node& node = nodes_[n];
  for (size_t l = node.leaf_begin; l < node.leaf_end; ++l) {
    staged_[l].repetition.push_back(static_cast<uint8_t>(repetition));
    staged_[l].definition.push_back(static_cast<uint8_t>(definition));
  }
}

Status Shredder::Null(size_t n, int repetition, int definition) {
  const Node& node = nodes_[n];
  if (!node.optional) {
    return Status::InvalidArgument("parquet column '" + node.column.name + "' (" +
                                   ColumnTypeString(node.column) +
                                   "): null in a column that is not nullable");
  }
  Undefined(n, repetition, definition);
  return Status::Ok();
}

Status Shredder::ShredJson(size_t n, simdjson::dom::element v, int repetition, int definition) {
  const Node& node = nodes_[n];
  const bool leaf = node.children.empty();
  std::string* scratch = node.keeps_text ? NextScratch() : &temp_;
  ParquetValue value;
  MILLRACE_RETURN_IF_ERROR(formats::JsonToValue(v, node.column, scratch, &value));
  if (std::holds_alternative<std::monostate>(value)) return Null(n, repetition, definition);
  if (leaf) {
    if (const auto* s = std::get_if<std::string_view>(&value);
        node.keeps_text && s != nullptr && s->data() >= scratch->data() &&
        s->data() <= scratch->data() + scratch->size()) {
      ++scratch_used_;  // the cell points into this scratch: keep it until Commit
    }
    Cell cell;
    MILLRACE_RETURN_IF_ERROR(leaves_[node.leaf_begin]->Convert(value, &cell));
    Staged& staged = staged_[node.leaf_begin];
    staged.repetition.push_back(static_cast<uint8_t>(repetition));
    staged.definition.push_back(static_cast<uint8_t>(node.definition));
    staged.cells.push_back(cell);
    return Status::Ok();
  }
  if (node.column.type == ColumnType::kStruct) {
    simdjson::dom::object object;
    if (v.get_object().get(object) != simdjson::SUCCESS)  // JsonToValue checked it
      return Status::Internal("parquet column '" + node.column.name + "': not an object");
    for (size_t child : node.children) {
      simdjson::dom::element field;
      if (object.at_key(nodes_[child].field).get(field) == simdjson::SUCCESS) {
        MILLRACE_RETURN_IF_ERROR(ShredJson(child, field, repetition, node.definition));
      } else {  // a missing field is null; members without a field are ignored
        Undefined(child, repetition, node.definition);
      }
    }
    return Status::Ok();
  }
  // A list: its elements sit one level deeper (the repeated group), and each after the
  // first repeats at the list's level.
  simdjson::dom::array array;
  if (v.get_array().get(array) != simdjson::SUCCESS)  // JsonToValue checked it
    return Status::Internal("parquet column '" + node.column.name + "': not an array");
  const size_t element = node.children[0];
  bool first = true;
  for (simdjson::dom::element e : array) {
    MILLRACE_RETURN_IF_ERROR(
        ShredJson(element, e, first ? repetition : node.repetition, node.definition + 1));
    first = false;
  }
  if (first) Undefined(element, repetition, node.definition);  // an empty list
  return Status::Ok();
}

Status Shredder::Shred(const ParquetValue& value) {
  for (Staged& s : staged_) {
    if (s.cells.capacity() > kKeptEntries || s.definition.capacity() > kKeptEntries) {
      s = Staged();  // after a row of a huge list: do not keep its memory for good
    } else {
      s.repetition.clear();
      s.definition.clear();
      s.cells.clear();
    }
  }
  // The last row's converted text: keep the strings, not a huge value's memory.
  for (size_t k = 0; k < scratch_used_; ++k) {
    if (scratch_[k].capacity() > kKeptTextBytes) std::string().swap(scratch_[k]);
  }
  scratch_used_ = 0;
  if (scratch_.size() > kKeptEntries) scratch_.resize(kKeptEntries);
  if (std::holds_alternative<std::monostate>(value)) return Null(0, 0, 0);
  if (const auto* e = std::get_if<simdjson::dom::element>(&value)) return ShredJson(0, *e, 0, 0);
  const Node& root = nodes_[0];
  return Status::InvalidArgument("parquet column '" + root.column.name + "' (" +
                                 ColumnTypeString(root.column) + "): expected a JSON " +
                                 (root.column.type == ColumnType::kList ? "array" : "object"));
}

Status Shredder::Commit() {
  for (size_t l = 0; l < leaves_.size(); ++l) {
    const Staged& s = staged_[l];
    MILLRACE_RETURN_IF_ERROR(leaves_[l]->AppendNested(s.repetition, s.definition, s.cells));
  }
  return Status::Ok();
}

}  // namespace millrace::formats::parquet
