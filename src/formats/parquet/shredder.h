// Nested columns: the Parquet schema tree of a list or struct column, its leaves, and the
// Shredder that takes a row's value apart into the repetition and definition levels and
// cells of each leaf (the Dremel encoding; docs/format/parquet.md, "Nested columns").
//
// A list is the 3-level LIST of parquet-format's LogicalTypes.md, a struct a plain group:
//
//   <optional|required> group tags (LIST) { repeated group list { optional T element; } }
//   <optional|required> group s { optional A a; optional B b; ... }
//
// Elements and fields are always optional. A leaf's maximum definition level counts the
// optional and repeated nodes on its path, its maximum repetition level the repeated ones.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "common/status.h"
#include "formats/parquet/column_writer.h"
#include "formats/parquet/metadata.h"
#include "formats/parquet/schema.h"

namespace millrace::formats::parquet {

// Appends the schema elements of `column`'s subtree (a top-level column of a valid schema,
// flat or not) to `*out`, depth first.
void AppendSchemaElements(const ParquetColumn& column, std::vector<SchemaElement>* out);

// The leaves of a top-level column, in schema order: the column itself if it is flat.
std::vector<LeafColumn> LeafColumns(const ParquetColumn& column);

// Shreds the values of one top-level list or struct column. Each row takes two calls, so
// that a bad value leaves no trace: Shred converts and checks the whole value into per-leaf
// staging, Commit appends what was staged to the leaves' writers. Not thread-safe.
class Shredder {
 public:
  // `column` is a top-level list or struct of a valid schema; `leaves` are the writers of
  // LeafColumns(column), in that order, and must outlive the Shredder.
  Shredder(const ParquetColumn& column, std::vector<ColumnWriter*> leaves);
  Shredder(const Shredder&) = delete;
  Shredder& operator=(const Shredder&) = delete;

  // Stages the value of one row: std::monostate (null), or a simdjson element (an array
  // for a list, an object for a struct, or JSON null) whose nested values are converted by
  // formats/values.h's JsonToValue. InvalidArgument naming the column path ("a.b") if any
  // part does not fit; whatever an earlier Shred staged is discarded either way. Strings
  // are borrowed from the element's document until Commit.
  Status Shred(const ParquetValue& value);
  // Appends what the last successful Shred staged, as one row of every leaf. Fails
  // (kInternal) only if a compression library does.
  Status Commit();

  // One row of one leaf: level entries, and a cell for each entry defined to the leaf.
  struct Staged {
    std::vector<uint8_t> repetition, definition;
    std::vector<Cell> cells;
  };
  // What the last successful Shred staged for leaf `leaf` (for tests).
  const Staged& staged(size_t leaf) const { return staged_[leaf]; }

 private:
  struct Node {
    // Its type and subtree, named by its dotted path for messages.
    ParquetColumn column;
    std::string field;  // a struct field's name in its JSON object
    bool optional = true;
    // A string, json or binary leaf, whose converted value (a string_view) may point into
    // its scratch (JSON text).
    bool keeps_text = false;
    int definition = 0;  // its definition level when present (not null)
    int repetition = 0;  // a list's: the repetition level of its 2nd, 3rd... elements
    std::vector<size_t> children;
    size_t leaf_begin = 0, leaf_end = 0;  // its leaves, [begin, end) of leaves_
  };
  // Appends the node of `column` and its subtree; returns its index.
  size_t Build(const ParquetColumn& column, std::string path, bool optional, int definition,
               int repetition, size_t leaf_begin);
  Status ShredJson(size_t node, simdjson::dom::element v, int repetition, int definition);
  Status Null(size_t node, int repetition, int definition);
  void Undefined(size_t node, int repetition, int definition);
  std::string* NextScratch();

  std::vector<Node> nodes_;  // depth first; [0] is the column
  std::vector<ColumnWriter*> leaves_;
  std::vector<Staged> staged_;  // one per leaf
  // Text that a staged string cell may point into (JSON text of json leaves, numbers in
  // string leaves): one string per such cell of the row, reused across rows. A deque, so
  // that growing it moves no string a cell points into.
  std::deque<std::string> scratch_;
  size_t scratch_used_ = 0;
  std::string temp_;  // for conversions whose result does not point into their scratch
};

}  // namespace millrace::formats::parquet
